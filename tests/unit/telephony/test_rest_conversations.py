"""``TwilioRest``'s Conversations calls: the real twilio client against the REST stand-in.

The ``conversations`` domain is pointed at the stand-in with the ``api`` one; every request goes
over a real socket, with Basic auth, and failures come back as the two errors the service acts
on. The stand-in's own face (plain HTTP) and the signed ``onMessageAdded`` webhook it can
deliver are checked here too.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from twilio.request_validator import RequestValidator

from telephony.rest import RestRejectedError, RestUncertainError, TwilioRest
from telephony.simulator.conversation_webhooks import (
    CONVERSATIONS_PATH,
    message_added_form,
    send_conversation_message,
)
from telephony.simulator.phones import RestFault
from telephony.simulator.rest_api import RestStandIn

ACCOUNT = "AC" + "3" * 32
TOKEN = "00112233445566778899aabbccddeeff"
OURS = "+8215880000"
CUSTOMER = "+821055512345"
OTHER = "+821099998888"
PUBLIC = "https://ivr.example.com"

ServerFactory = Callable[..., Awaitable[TestServer]]


@pytest.fixture
async def twilio() -> AsyncIterator[RestStandIn]:
    async with RestStandIn(ACCOUNT, TOKEN) as stand_in:
        yield stand_in


@pytest.fixture
async def rest(twilio: RestStandIn) -> AsyncIterator[TwilioRest]:
    async with TwilioRest(ACCOUNT, TOKEN, api_base=twilio.url, timeout_seconds=2) as client:
        yield client


def _auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(ACCOUNT, token)}


async def _get(twilio: RestStandIn, path: str, token: str = TOKEN) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(twilio.url + path, headers=_auth(token)) as response,
    ):
        return response.status, await response.json()


async def _post(twilio: RestStandIn, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(twilio.url + path, data=form, headers=_auth()) as response,
    ):
        return response.status, await response.json()


# --- conversations -------------------------------------------------------------------------


async def test_create_conversation_sends_both_names_and_returns_the_sid(
    twilio: RestStandIn, rest: TwilioRest
) -> None:
    sid = await rest.create_conversation(unique_name="vd-chat-7", friendly_name="voicedesk chat 7")

    (created,) = twilio.record.conversations
    assert sid == created.sid and sid.startswith("CH") and len(sid) == 34
    assert (created.unique_name, created.friendly_name, created.state) == (
        "vd-chat-7",
        "voicedesk chat 7",
        "active",
    )
    (request,) = twilio.record.requests
    assert (request.method, request.path, request.status) == ("POST", "/v1/Conversations", 201)
    assert request.form["UniqueName"] == ("vd-chat-7",)
    assert request.form["FriendlyName"] == ("voicedesk chat 7",)


async def test_a_conversation_is_fetched_by_sid_or_unique_name_in_twilios_shape(
    twilio: RestStandIn, rest: TwilioRest
) -> None:
    sid = await rest.create_conversation(unique_name="vd-chat-8", friendly_name="voicedesk chat 8")

    by_sid = await _get(twilio, f"/v1/Conversations/{sid}")
    by_name = await _get(twilio, "/v1/Conversations/vd-chat-8")

    assert by_sid == by_name
    status, body = by_sid
    assert status == 200
    assert body["sid"] == sid and body["account_sid"] == ACCOUNT
    assert body["unique_name"] == "vd-chat-8" and body["state"] == "active"
    assert body["url"] == f"{twilio.url}/v1/Conversations/{sid}"
    created = datetime.strptime(str(body["date_created"]), "%Y-%m-%dT%H:%M:%SZ")
    assert abs(created.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds() < 60


async def test_a_taken_unique_name_is_refused_with_409_and_the_client_fetches_it(
    twilio: RestStandIn, rest: TwilioRest
) -> None:
    first = await rest.create_conversation(unique_name="vd-chat-9", friendly_name="a")

    again = await rest.create_conversation(unique_name="vd-chat-9", friendly_name="a")

    assert again == first
    assert len(twilio.record.conversations) == 1
    asked = [(r.method, r.path, r.status) for r in twilio.record.requests]
    assert asked == [
        ("POST", "/v1/Conversations", 201),
        ("POST", "/v1/Conversations", 409),
        ("GET", "/v1/Conversations/vd-chat-9", 200),
    ]
    status, body = await _post(twilio, "/v1/Conversations", {"UniqueName": "vd-chat-9"})
    assert (status, body["code"], body["status"]) == (409, 50353, 409)
    assert body["more_info"] == "https://www.twilio.com/docs/errors/50353"


async def test_a_unique_name_shaped_like_a_sid_is_rejected(rest: TwilioRest) -> None:
    with pytest.raises(RestRejectedError) as raised:
        await rest.create_conversation(unique_name="CH" + "a" * 32, friendly_name="x")

    assert (raised.value.status, raised.value.code) == (400, 50390)


async def test_an_unknown_conversation_is_rejected_with_twilios_404(rest: TwilioRest) -> None:
    with pytest.raises(RestRejectedError) as raised:
        await rest.post_conversation_message("CH" + "0" * 32, author="voicedesk", body="hi")

    assert (raised.value.status, raised.value.code) == (404, 20404)


# --- participants --------------------------------------------------------------------------


async def test_an_sms_participant_is_added_with_its_messaging_binding(
    twilio: RestStandIn, rest: TwilioRest
) -> None:
    sid = await rest.create_conversation(unique_name="vd-chat-1", friendly_name="x")

    participant = await rest.add_sms_participant(sid, address=CUSTOMER, proxy_address=OURS)

    (added,) = twilio.record.participants_of(sid)
    assert participant == added.sid and participant.startswith("MB")
    assert (added.address, added.proxy_address) == (CUSTOMER, OURS)
    request = twilio.record.requests[-1]
    assert request.path == f"/v1/Conversations/{sid}/Participants"
    assert request.form["MessagingBinding.Address"] == (CUSTOMER,)
    assert request.form["MessagingBinding.ProxyAddress"] == (OURS,)
    status, page = await _get(twilio, f"/v1/Conversations/{sid}/Participants")
    assert status == 200 and page["meta"]["key"] == "participants"
    (listed,) = page["participants"]
    assert listed["messaging_binding"] == {
        "type": "sms",
        "address": CUSTOMER,
        "proxy_address": OURS,
    }


async def test_adding_a_participant_already_there_returns_the_one_there(
    twilio: RestStandIn, rest: TwilioRest
) -> None:
    sid = await rest.create_conversation(unique_name="vd-chat-2", friendly_name="x")
    first = await rest.add_sms_participant(sid, address=CUSTOMER, proxy_address=OURS)

    again = await rest.add_sms_participant(sid, address=CUSTOMER, proxy_address=OURS)

    assert again == first
    assert len(twilio.record.participants) == 1
    assert [r.status for r in twilio.record.requests[-2:]] == [409, 200]  # refused, then listed


async def test_a_number_bound_to_another_open_conversation_is_rejected_until_it_closes(
    twilio: RestStandIn, rest: TwilioRest
) -> None:
    old = await rest.create_conversation(unique_name="vd-chat-3", friendly_name="x")
    await rest.add_sms_participant(old, address=CUSTOMER, proxy_address=OURS)
    new = await rest.create_conversation(unique_name="vd-chat-4", friendly_name="x")

    with pytest.raises(RestRejectedError) as raised:
        await rest.add_sms_participant(new, address=CUSTOMER, proxy_address=OURS)
    await rest.close_conversation(old)
    added = await rest.add_sms_participant(new, address=CUSTOMER, proxy_address=OURS)

    assert (raised.value.status, raised.value.code) == (409, 50416)
    assert old in str(raised.value)
    assert [p.sid for p in twilio.record.participants_of(new)] == [added]
    assert {c.sid: c.state for c in twilio.record.conversations} == {old: "closed", new: "active"}


async def test_a_participant_without_an_e164_address_is_rejected(rest: TwilioRest) -> None:
    sid = await rest.create_conversation(unique_name="vd-chat-5", friendly_name="x")

    with pytest.raises(RestRejectedError) as raised:
        await rest.add_sms_participant(sid, address="01055512345", proxy_address=OURS)

    assert raised.value.status == 400


# --- messages ------------------------------------------------------------------------------


async def test_post_message_returns_its_sid_and_records_author_and_body(
    twilio: RestStandIn, rest: TwilioRest
) -> None:
    sid = await rest.create_conversation(unique_name="vd-chat-6", friendly_name="x")

    first = await rest.post_conversation_message(sid, author="voicedesk", body="채팅 링크: x")
    second = await rest.post_conversation_message(sid, author="김상담", body="안녕하세요")

    posted = twilio.record.messages_in(sid)
    assert [(m.sid, m.index, m.author, m.body) for m in posted] == [
        (first, 0, "voicedesk", "채팅 링크: x"),
        (second, 1, "김상담", "안녕하세요"),
    ]
    assert first.startswith("IM") and len(first) == 34
    request = twilio.record.requests[-1]
    assert request.path == f"/v1/Conversations/{sid}/Messages"
    assert (request.form["Author"], request.form["Body"]) == (("김상담",), ("안녕하세요",))
    status, page = await _get(twilio, f"/v1/Conversations/{sid}/Messages")
    assert status == 200
    assert [m["sid"] for m in page["messages"]] == [first, second]


async def test_a_message_without_a_body_is_rejected(twilio: RestStandIn, rest: TwilioRest) -> None:
    sid = await rest.create_conversation(unique_name="vd-chat-10", friendly_name="x")

    with pytest.raises(RestRejectedError) as raised:
        await rest.post_conversation_message(sid, author="voicedesk", body="")

    assert raised.value.status == 400
    assert twilio.record.conversation_messages == ()


async def test_a_closed_conversation_takes_no_more_messages(rest: TwilioRest) -> None:
    sid = await rest.create_conversation(unique_name="vd-chat-11", friendly_name="x")
    await rest.close_conversation(sid)

    with pytest.raises(RestRejectedError):
        await rest.post_conversation_message(sid, author="voicedesk", body="late")


# --- failures ------------------------------------------------------------------------------


async def test_wrong_credentials_are_rejected_and_nothing_is_created(twilio: RestStandIn) -> None:
    async with TwilioRest(ACCOUNT, "f" * 32, api_base=twilio.url) as wrong:
        with pytest.raises(RestRejectedError) as raised:
            await wrong.create_conversation(unique_name="vd-chat-1", friendly_name="x")

    assert (raised.value.status, raised.value.code) == (401, 20003)
    assert twilio.record.conversations == ()
    assert (await _get(twilio, "/v1/Conversations/vd-chat-1", token="f" * 32))[0] == 401


async def test_a_server_error_on_create_is_uncertain_and_a_retry_finds_the_conversation(
    twilio: RestStandIn, rest: TwilioRest
) -> None:
    twilio.conversations.faults["create"] = RestFault(status=500, placed=True, times=1)

    with pytest.raises(RestUncertainError) as raised:
        await rest.create_conversation(unique_name="vd-chat-12", friendly_name="x")
    retried = await rest.create_conversation(unique_name="vd-chat-12", friendly_name="x")

    assert raised.value.status == 500
    (created,) = twilio.record.conversations
    assert retried == created.sid


async def test_a_lost_participant_request_is_uncertain(
    twilio: RestStandIn, rest: TwilioRest
) -> None:
    sid = await rest.create_conversation(unique_name="vd-chat-13", friendly_name="x")
    twilio.conversations.faults["participant"] = RestFault(status=503, placed=False, times=1)

    with pytest.raises(RestUncertainError):
        await rest.add_sms_participant(sid, address=CUSTOMER, proxy_address=OURS)
    added = await rest.add_sms_participant(sid, address=CUSTOMER, proxy_address=OURS)

    assert [p.sid for p in twilio.record.participants] == [added]


async def test_a_message_answer_slower_than_the_timeout_is_uncertain(twilio: RestStandIn) -> None:
    twilio.conversations.faults["message"] = RestFault(status=None, delay_seconds=1.0)
    async with TwilioRest(ACCOUNT, TOKEN, api_base=twilio.url, timeout_seconds=0.2) as hasty:
        sid = await hasty.create_conversation(unique_name="vd-chat-14", friendly_name="x")
        with pytest.raises(RestUncertainError, match=r"no answer within 0\.2 s"):
            await hasty.post_conversation_message(sid, author="voicedesk", body="hi")

    (posted,) = twilio.record.messages_in(sid)  # it was posted: only the answer was late
    assert posted.body == "hi"


async def test_an_unreachable_conversations_api_is_uncertain() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with TwilioRest(ACCOUNT, TOKEN, api_base=f"http://127.0.0.1:{port}") as nowhere:
        with pytest.raises(RestUncertainError) as raised:
            await nowhere.create_conversation(unique_name="vd-chat-1", friendly_name="x")

    assert raised.value.status is None


# --- the customer's message, as Twilio's webhook delivers it -------------------------------


async def test_send_conversation_message_posts_a_signed_on_message_added_form(
    aiohttp_server: ServerFactory,
) -> None:
    received: list[dict[str, str]] = []

    async def handle(request: web.Request) -> web.Response:
        form = {name: str(value) for name, value in (await request.post()).items()}
        url = PUBLIC + request.raw_path
        if not RequestValidator(TOKEN).validate(
            url, form, request.headers.get("X-Twilio-Signature", "")
        ):
            raise web.HTTPForbidden(text=f"bad signature for {url}")
        received.append(form)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post(CONVERSATIONS_PATH, handle)
    server = await aiohttp_server(app)
    conversation = "CH" + "4" * 32

    status = await send_conversation_message(
        str(server.make_url("")), PUBLIC, ACCOUNT, TOKEN, conversation, CUSTOMER, "네 확인했어요"
    )
    forged = await send_conversation_message(
        str(server.make_url("")), PUBLIC, ACCOUNT, "0" * 32, conversation, CUSTOMER, "forged"
    )

    assert (status, forged) == (200, 403)
    (form,) = received
    assert {k: form[k] for k in ("EventType", "AccountSid", "ConversationSid", "Author")} == {
        "EventType": "onMessageAdded",
        "AccountSid": ACCOUNT,
        "ConversationSid": conversation,
        "Author": CUSTOMER,
    }
    assert form["Body"] == "네 확인했어요" and form["Source"] == "SMS"
    assert form["MessageSid"].startswith("IM") and form["ParticipantSid"].startswith("MB")


def test_the_message_added_form_keeps_given_sids_and_writes_iso_dates() -> None:
    form = message_added_form(
        account_sid=ACCOUNT,
        conversation_sid="CH1",
        author=CUSTOMER,
        body="hi",
        message_sid="IM1",
        participant_sid="MB1",
        index=3,
        at=datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
    )

    assert (form["MessageSid"], form["ParticipantSid"], form["Index"]) == ("IM1", "MB1", "3")
    assert form["DateCreated"] == "2025-01-02T03:04:05.678Z"
