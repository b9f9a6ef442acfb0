"""``chat.conversations``: chat texts through Twilio Conversations, and its webhook's form.

The channel runs against a real REST stand-in through ``TwilioRest(api_base=…)``, so what it
asks for is what the real twilio client sends; ``remember`` is a list standing in for the
``chat_sessions.conversation_sid`` writer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chat.conversations import (
    AUTHOR,
    ConversationsChannel,
    ConversationText,
    inbound_of,
    unique_name,
)
from chat.outbox import AgentText, LinkText
from chat.service import InboundText
from telephony.rest import RestRejectedError, RestUncertainError, TwilioRest
from telephony.simulator.conversation_webhooks import message_added_form
from telephony.simulator.phones import RestFault
from telephony.simulator.rest_api import RestStandIn

ACCOUNT = "AC" + "5" * 32
TOKEN = "ffeeddccbbaa99887766554433221100"
OURS = "+8215880000"
CALLER_ID = "+8215889999"
CUSTOMER = "+821055512345"


class Remembered(list[tuple[int, str]]):
    async def __call__(self, chat_id: int, conversation_sid: str) -> None:
        self.append((chat_id, conversation_sid))


@pytest.fixture
async def twilio() -> AsyncIterator[RestStandIn]:
    async with RestStandIn(ACCOUNT, TOKEN) as stand_in:
        yield stand_in


@pytest.fixture
async def rest(twilio: RestStandIn) -> AsyncIterator[TwilioRest]:
    async with TwilioRest(ACCOUNT, TOKEN, api_base=twilio.url, timeout_seconds=2) as client:
        yield client


@pytest.fixture
def remembered() -> Remembered:
    return Remembered()


@pytest.fixture
def channel(rest: TwilioRest, remembered: Remembered) -> ConversationsChannel:
    return ConversationsChannel(rest, None, remember=remembered)


def _link(chat_id: int = 42, *, sid: str | None = None, dialled: str | None = OURS) -> LinkText:
    return LinkText(chat_id, 7, CUSTOMER, dialled, "ko", sid)


def _text(
    chat_id: int = 42, *, sid: str | None, agent: str | None = "김상담", body: str = "확인했습니다"
) -> AgentText:
    return AgentText(9, chat_id, 7, CUSTOMER, OURS, body, agent, sid)


# --- sending -------------------------------------------------------------------------------


async def test_the_first_link_creates_the_conversation_adds_the_customer_and_posts_it(
    twilio: RestStandIn, channel: ConversationsChannel, remembered: Remembered
) -> None:
    message = await channel.send_link(_link(), "채팅 링크: https://x.example/c/42")

    (conversation,) = twilio.record.conversations
    assert (conversation.unique_name, conversation.friendly_name) == (
        "vd-chat-42",
        "voicedesk chat 42",
    )
    (participant,) = twilio.record.participants_of(conversation.sid)
    assert (participant.address, participant.proxy_address) == (CUSTOMER, OURS)
    (posted,) = twilio.record.messages_in(conversation.sid)
    assert (posted.sid, posted.author, posted.body) == (
        message,
        AUTHOR,
        "채팅 링크: https://x.example/c/42",
    )
    assert remembered == [(42, conversation.sid)]


async def test_the_caller_id_setting_is_the_proxy_address_over_the_number_dialled(
    twilio: RestStandIn, rest: TwilioRest, remembered: Remembered
) -> None:
    channel = ConversationsChannel(rest, CALLER_ID, remember=remembered)

    await channel.send_link(_link(dialled=OURS), "link")

    (participant,) = twilio.record.participants
    assert participant.proxy_address == CALLER_ID


async def test_an_agents_text_reuses_the_stored_conversation_and_is_signed_with_the_name(
    twilio: RestStandIn, channel: ConversationsChannel, remembered: Remembered
) -> None:
    await channel.send_link(_link(), "link")
    ((_, sid),) = remembered
    before = len(twilio.record.requests)

    message = await channel.send_agent_text(_text(sid=sid))

    asked = [(r.method, r.path) for r in twilio.record.requests[before:]]
    assert asked == [("POST", f"/v1/Conversations/{sid}/Messages")]  # no create, no participant
    posted = twilio.record.messages_in(sid)[-1]
    assert (posted.sid, posted.author, posted.body) == (message, "김상담", "김상담: 확인했습니다")
    assert len(twilio.record.conversations) == 1
    assert remembered == [(42, sid)]  # nothing new to remember


async def test_an_agents_text_without_a_name_is_authored_by_voicedesk_unsigned(
    twilio: RestStandIn, channel: ConversationsChannel
) -> None:
    await channel.send_link(_link(), "link")
    (conversation,) = twilio.record.conversations

    await channel.send_agent_text(_text(sid=conversation.sid, agent=None, body="hello"))

    posted = twilio.record.messages_in(conversation.sid)[-1]
    assert (posted.author, posted.body) == (AUTHOR, "hello")


async def test_an_agents_first_text_creates_the_conversation_too(
    twilio: RestStandIn, channel: ConversationsChannel, remembered: Remembered
) -> None:
    await channel.send_agent_text(_text(sid=None))

    (conversation,) = twilio.record.conversations
    assert [p.address for p in twilio.record.participants_of(conversation.sid)] == [CUSTOMER]
    assert remembered == [(42, conversation.sid)]


async def test_a_retry_after_the_conversation_exists_does_not_create_a_second(
    twilio: RestStandIn, channel: ConversationsChannel, remembered: Remembered
) -> None:
    # Twilio created the conversation but its answer was lost: the outbox marks the link
    # failed; a later text of the same chat (its SID still unknown) must land in that one.
    twilio.conversations.faults["create"] = RestFault(status=500, placed=True, times=1)

    with pytest.raises(RestUncertainError):
        await channel.send_link(_link(), "link")
    assert remembered == []  # nothing half-made is stored
    await channel.send_agent_text(_text(sid=None))

    (conversation,) = twilio.record.conversations
    assert conversation.unique_name == unique_name(42)
    assert len(twilio.record.participants_of(conversation.sid)) == 1
    assert [m.body for m in twilio.record.messages_in(conversation.sid)] == ["김상담: 확인했습니다"]
    assert remembered == [(42, conversation.sid)]


async def test_texts_claimed_before_the_sid_was_stored_join_the_same_conversation(
    twilio: RestStandIn, channel: ConversationsChannel, remembered: Remembered
) -> None:
    # The link and an agent's text claimed in one batch both carry no conversation SID.
    await channel.send_link(_link(), "link")
    await channel.send_agent_text(_text(sid=None))

    (conversation,) = twilio.record.conversations
    assert len(twilio.record.participants) == 1
    assert [m.author for m in twilio.record.messages_in(conversation.sid)] == [AUTHOR, "김상담"]
    assert remembered == [(42, conversation.sid), (42, conversation.sid)]


async def test_a_lost_message_leaves_the_conversation_stored_for_the_next_text(
    twilio: RestStandIn, channel: ConversationsChannel, remembered: Remembered
) -> None:
    twilio.conversations.faults["message"] = RestFault(status=503, placed=False, times=1)

    with pytest.raises(RestUncertainError):
        await channel.send_link(_link(), "link")

    (conversation,) = twilio.record.conversations
    assert remembered == [(42, conversation.sid)]  # the customer is in it: worth keeping
    assert twilio.record.messages_in(conversation.sid) == ()


async def test_without_a_number_to_text_from_nothing_is_asked(
    twilio: RestStandIn, channel: ConversationsChannel, remembered: Remembered
) -> None:
    with pytest.raises(RestRejectedError, match="VOICEDESK_TWILIO_CALLER_ID"):
        await channel.send_link(_link(dialled=None), "link")

    assert twilio.record.requests == ()
    assert remembered == []


async def test_a_customer_bound_to_another_open_chat_is_rejected_until_it_is_closed(
    twilio: RestStandIn, channel: ConversationsChannel, remembered: Remembered
) -> None:
    await channel.send_link(_link(41), "first chat")
    ((_, first),) = remembered

    with pytest.raises(RestRejectedError) as raised:
        await channel.send_link(_link(42), "second chat")
    await channel.close(first)
    await channel.send_link(_link(42), "second chat")

    assert raised.value.code == 50416
    second = remembered[-1][1]
    assert second != first
    assert [m.body for m in twilio.record.messages_in(second)] == ["second chat"]


# --- the webhook ---------------------------------------------------------------------------


def _form(**changes: str) -> dict[str, str]:
    form = message_added_form(
        account_sid=ACCOUNT,
        conversation_sid="CH" + "6" * 32,
        author=CUSTOMER,
        body="네, 지금 볼게요",
        message_sid="IM" + "7" * 32,
        participant_sid="MB" + "8" * 32,
    )
    return form | changes


def test_a_customers_message_is_read_from_the_webhook_form() -> None:
    text = inbound_of(_form())

    assert text == ConversationText(
        message_sid="IM" + "7" * 32,
        conversation_sid="CH" + "6" * 32,
        from_=CUSTOMER,
        body="네, 지금 볼게요",
        account_sid=ACCOUNT,
        participant_sid="MB" + "8" * 32,
    )
    assert text.as_inbound(OURS) == InboundText("IM" + "7" * 32, CUSTOMER, OURS, "네, 지금 볼게요")


def test_a_minimal_form_without_source_or_participant_is_read() -> None:
    form = {
        "EventType": "onMessageAdded",
        "AccountSid": ACCOUNT,
        "ConversationSid": "CH1",
        "MessageSid": "IM1",
        "Author": CUSTOMER,
    }

    text = inbound_of(form)

    assert text is not None
    assert (text.body, text.participant_sid, text.as_inbound().to) == ("", None, "")


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"EventType": "onMessageUpdated"}, id="another event"),
        pytest.param({"EventType": "onMessageAdd"}, id="the pre-event"),
        pytest.param({"Author": AUTHOR, "Source": "API"}, id="our link echoed"),
        pytest.param({"Author": "김상담", "Source": "API"}, id="an agent's text echoed"),
        pytest.param({"Source": "API"}, id="posted over REST"),
        pytest.param({"Source": "SDK"}, id="posted by an SDK"),
        pytest.param({"Author": "whatsapp:+821055512345"}, id="not a phone number"),
        pytest.param({"Author": ""}, id="no author"),
        pytest.param({"MessageSid": ""}, id="no message sid"),
        pytest.param({"ConversationSid": ""}, id="no conversation sid"),
        pytest.param({"AccountSid": ""}, id="no account sid"),
    ],
)
def test_anything_but_a_customers_sms_is_not_a_text(changes: dict[str, str]) -> None:
    assert inbound_of(_form(**changes)) is None


def test_a_form_without_event_type_is_not_a_text() -> None:
    form = _form()
    del form["EventType"]

    assert inbound_of(form) is None
