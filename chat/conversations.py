"""The optional Twilio Conversations adapter: chat texts through a Conversation per chat.

Selected in settings instead of the built-in SMS bridge (:mod:`chat.sms`), behind the same port
(:class:`chat.outbox.ChatChannel`). The first text of a chat creates its Conversation, adds the
customer as an SMS participant (their number, texted from ours) and stores the Conversation's
SID through ``remember``; every text is then a message posted to it. The customer's replies
come to the Conversations post-event webhook (``onMessageAdded``), which :func:`inbound_of`
reads.

Retries are safe: the Conversation's unique name is derived from the chat (``vd-chat-<id>``), so
a retry after an uncertain answer finds the conversation instead of creating a second one, and
a customer already in it is not added twice. The SID is remembered only once the customer is
in it, so a chat never records a conversation nobody would receive texts from.

A customer's number and our number can be bound to one open Conversation at a time: close a
chat's conversation (:meth:`ConversationsChannel.close`) when the chat closes, or the customer's
next chat cannot add them (Twilio answers 409, code 50416).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from chat.outbox import AgentText, LinkText
from chat.service import InboundText
from history.customers import is_e164
from telephony.rest import RestRejectedError

AUTHOR: Final = "voicedesk"
"""The author of the messages voicedesk itself posts (the chat link)."""

MESSAGE_ADDED: Final = "onMessageAdded"

Remember = Callable[[int, str], Awaitable[None]]
"""Stores a chat's Conversation SID: ``(chat_id, conversation_sid)``."""


def unique_name(chat_id: int) -> str:
    """The Conversation unique name of a chat: one conversation per chat, across retries."""
    return f"vd-chat-{chat_id}"


def friendly_name(chat_id: int) -> str:
    """The Conversation friendly name of a chat, as Twilio's console lists it."""
    return f"voicedesk chat {chat_id}"


class ConversationsApi(Protocol):
    """The part of the Twilio REST API this adapter uses (``telephony.rest.TwilioRest``)."""

    async def create_conversation(self, *, unique_name: str, friendly_name: str) -> str:
        """Create (or find, by unique name) a Conversation; returns its SID."""
        ...

    async def add_sms_participant(
        self, conversation_sid: str, *, address: str, proxy_address: str
    ) -> str:
        """Add a phone as an SMS participant (already there: fine); returns its SID."""
        ...

    async def post_conversation_message(
        self, conversation_sid: str, *, author: str, body: str
    ) -> str:
        """Post a message; returns its SID."""
        ...

    async def close_conversation(self, conversation_sid: str) -> None:
        """Close a Conversation."""
        ...


class ConversationsChannel:
    """:class:`chat.outbox.ChatChannel` over Twilio Conversations; replies come to its webhook."""

    def __init__(self, api: ConversationsApi, caller_id: str | None, *, remember: Remember) -> None:
        """Post through ``api``; the customer is texted from ``caller_id`` or the number dialled.

        Args:
            api: The Conversations calls of the REST API.
            caller_id: Our number to text from (``VOICEDESK_TWILIO_CALLER_ID``); None: the
                number the customer dialled.
            remember: Stores a new conversation's SID on its chat, once the customer is in it.

        """
        self._api = api
        self._caller_id = caller_id
        self._remember = remember

    async def send_link(self, link: LinkText, body: str) -> str:
        """Post the link message (author ``voicedesk``); returns the message's SID."""
        conversation = await self._conversation(
            link.chat_id, link.phone, link.from_number, link.conversation_sid
        )
        return await self._api.post_conversation_message(conversation, author=AUTHOR, body=body)

    async def send_agent_text(self, text: AgentText) -> str:
        """Post an agent's message, authored and signed with the agent's name.

        The customer's phone shows only the body of a Conversation message, so the body carries
        the name as the SMS bridge's does (``name: body``).
        """
        conversation = await self._conversation(
            text.chat_id, text.phone, text.from_number, text.conversation_sid
        )
        if not text.agent_name:
            return await self._api.post_conversation_message(
                conversation, author=AUTHOR, body=text.body
            )
        return await self._api.post_conversation_message(
            conversation, author=text.agent_name, body=f"{text.agent_name}: {text.body}"
        )

    async def close(self, conversation_sid: str) -> None:
        """Close a chat's conversation, freeing the customer's number for their next chat."""
        await self._api.close_conversation(conversation_sid)

    async def _conversation(
        self, chat_id: int, phone: str, dialled: str | None, known: str | None
    ) -> str:
        if known is not None:
            return known
        proxy = self._caller_id or dialled
        if not proxy:
            raise RestRejectedError(
                "no number to text from: set VOICEDESK_TWILIO_CALLER_ID "
                "(this chat did not start with a call to one of ours)"
            )
        sid = await self._api.create_conversation(
            unique_name=unique_name(chat_id), friendly_name=friendly_name(chat_id)
        )
        await self._api.add_sms_participant(sid, address=phone, proxy_address=proxy)
        await self._remember(chat_id, sid)
        return sid


@dataclass(frozen=True, slots=True)
class ConversationText:
    """A customer's text added to a Conversation (Twilio's ``onMessageAdded`` webhook).

    Attributes:
        message_sid: ``MessageSid`` (``IM…``).
        conversation_sid: ``ConversationSid`` (``CH…``): the chat it belongs to.
        from_: ``Author``: the customer's number.
        body: ``Body`` (empty for a message with media only).
        account_sid: ``AccountSid``, to compare with ours.
        participant_sid: ``ParticipantSid``, when given.

    """

    message_sid: str
    conversation_sid: str
    from_: str
    body: str
    account_sid: str
    participant_sid: str | None = None

    def as_inbound(self, to: str = "") -> InboundText:
        """The text as :meth:`chat.service.ChatService.inbound_text` takes it.

        Args:
            to: Our number it was sent to, when known (the webhook does not say).

        """
        return InboundText(message_sid=self.message_sid, from_=self.from_, to=to, body=self.body)


def inbound_of(form: Mapping[str, str]) -> ConversationText | None:
    """A customer's text from a Conversations webhook form, or None for anything else.

    None for another event type, for a message not authored by a phone number (ours, posted
    with ``voicedesk`` or an agent's name as author, echoed back), for a message whose
    ``Source`` is not SMS (``API``, ``SDK``), and for a form missing a SID.
    """
    if form.get("EventType") != MESSAGE_ADDED:
        return None
    author = form.get("Author", "")
    if not is_e164(author):
        return None
    source = form.get("Source")
    if source is not None and source.upper() != "SMS":
        return None
    message_sid = form.get("MessageSid", "")
    conversation_sid = form.get("ConversationSid", "")
    account_sid = form.get("AccountSid", "")
    if not (message_sid and conversation_sid and account_sid):
        return None
    return ConversationText(
        message_sid=message_sid,
        conversation_sid=conversation_sid,
        from_=author,
        body=form.get("Body", ""),
        account_sid=account_sid,
        participant_sid=form.get("ParticipantSid") or None,
    )
