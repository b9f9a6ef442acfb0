"""The chat service: what pages, agents and inbound texts do to chats, one transaction each.

Opening a customer's page checks the link (`chat.tokens`); customers and agents post messages;
agents take and close chats; an inbound text joins the customer's open chat or starts one for a
known customer. Every change wakes this instance's sockets (`chat.feed`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from chat import sessions
from chat.feed import ChatFeed
from chat.sessions import ChatError, ChatInfo, MessageInfo, NewMessage
from chat.tokens import LinkProblem, LinkSigner, parse
from history import chat_sessions
from history.chat_sessions import ChatRequest
from history.customers import find_customer, is_e164
from history.db import Database

Clock = Callable[[], datetime]
Closed = Callable[[ChatInfo], Awaitable[None]]
"""Told of every chat that closes (the Conversations adapter closes the chat's Conversation)."""


@dataclass(frozen=True, slots=True)
class InboundText:
    """A text a customer sent to one of our numbers (Twilio's inbound SMS webhook)."""

    message_sid: str
    from_: str
    to: str
    body: str


@dataclass(frozen=True, slots=True)
class TextResult:
    """What became of an inbound text: the chat and message, or None for an unknown sender."""

    chat: ChatInfo | None
    message: MessageInfo | None
    started: bool = False


class ChatService:
    """Chats for pages, agents and texts, over the history database."""

    def __init__(
        self,
        db: Database,
        signer: LinkSigner,
        feed: ChatFeed,
        clock: Clock,
        *,
        sms_queue: str | None,
        language: str,
        on_closed: Closed | None = None,
    ) -> None:
        """Serve chats stored in ``db``.

        Args:
            db: The history database.
            signer: Checks (and mints) customers' links.
            feed: Woken on every change made here.
            clock: The source of "now".
            sms_queue: The queue of a chat started by a text from a known customer without an
                open chat; None: such texts start no chat.
            language: The language of a chat started by a text (the menu's first).
            on_closed: Told of each chat that closes, after the close is stored.

        """
        self._db = db
        self.signer = signer
        self.feed = feed
        self._clock = clock
        self._sms_queue = sms_queue
        self._language = language
        self._on_closed = on_closed

    def link_token(self, chat_id: int, phone: str) -> str:
        """A fresh link token for the chat of ``phone``."""
        return self.signer.issue(chat_id, phone, self._clock())

    async def open_link(self, token: str) -> ChatInfo | LinkProblem:
        """The chat a customer's link opens, or why it does not."""
        claim = parse(token)
        if claim is None:
            return LinkProblem.INVALID
        chat = await self._db.read(sessions.find, claim.chat_id)
        if chat is None:
            return LinkProblem.INVALID  # a genuine link names an existing chat
        problem = self.signer.verify(claim, chat.phone, self._clock())
        return chat if problem is None else problem

    async def chat(self, chat_id: int) -> ChatInfo | None:
        """The chat ``chat_id``."""
        return await self._db.read(sessions.find, chat_id)

    async def messages_after(self, chat_id: int, after: int) -> list[MessageInfo]:
        """The chat's messages after id ``after``."""
        return await self._db.read(sessions.messages_after, chat_id, after)

    async def listing(
        self, *, queues: Iterable[str] | None, agent_id: int | None, closed: int = 0
    ) -> list[ChatInfo]:
        """Waiting chats of ``queues`` and the agent's own (see :func:`chat.sessions.listing`)."""
        return await self._db.read(
            sessions.listing,
            queues=None if queues is None else list(queues),
            agent_id=agent_id,
            closed=closed,
        )

    async def post_customer(
        self, chat_id: int, body: str, *, client_id: str | None, via: str = "web"
    ) -> MessageInfo:
        """A customer's message from their page."""
        message = NewMessage("customer", via, body, self._clock(), client_id=client_id)
        return await self._post(chat_id, message)

    async def post_agent(
        self, chat_id: int, agent_id: int, body: str, *, client_id: str | None
    ) -> MessageInfo:
        """An agent's message from the console (texted too while the customer is away)."""
        message = NewMessage(
            "agent", "console", body, self._clock(), agent_id=agent_id, client_id=client_id
        )
        return await self._post(chat_id, message)

    async def take(self, chat_id: int, agent_id: int) -> ChatInfo:
        """Give a waiting chat to an agent."""
        chat = await self._db.write(sessions.take, chat_id, agent_id, self._clock())
        self.feed.notify(chat_id)
        return chat

    async def close(self, chat_id: int, agent_id: int | None, outcome: str) -> ChatInfo:
        """Close a chat with ``outcome`` (``agent_id`` None: as a manager)."""
        chat = await self._db.write(sessions.close, chat_id, agent_id, outcome, self._clock())
        self.feed.notify(chat_id)
        if self._on_closed is not None:
            await self._on_closed(chat)
        return chat

    async def seen(self, chat_id: int) -> None:
        """The customer's page is open."""
        await self._db.write(sessions.seen, chat_id, self._clock())

    async def inbound_text(
        self, text: InboundText, *, via: str = "sms", at: datetime | None = None
    ) -> TextResult:
        """Add a customer's text to their open chat, or start one for a known customer.

        ``via`` is ``sms`` (the SMS bridge) or ``conversations`` (a Twilio Conversation);
        ``at`` is when it came (a text journaled during an outage keeps its time), default now.
        Idempotent on the text's ``message_sid``.
        """
        when = self._clock() if at is None else at
        result = await self._db.write(_inbound, text, when, self._sms_queue, self._language, via)
        if result.message is not None:
            self.feed.notify(result.message.chat_id)
        return result

    async def _post(self, chat_id: int, message: NewMessage) -> MessageInfo:
        posted, created = await self._db.write(sessions.post, chat_id, message)
        if created:
            self.feed.notify(chat_id)
        return posted


def _inbound(
    conn: Connection,
    text: InboundText,
    at: datetime,
    sms_queue: str | None,
    language: str,
    via: str,
) -> TextResult:
    if not is_e164(text.from_):
        return TextResult(None, None)
    message = NewMessage("customer", via, text.body, at, external_sid=text.message_sid)
    chat = sessions.find_open_for(conn, text.from_)
    started = False
    if chat is None:
        if sms_queue is None or find_customer(conn, text.from_) is None:
            return TextResult(None, None)
        request = ChatRequest(
            phone=text.from_,
            from_number=text.to if is_e164(text.to) else None,
            queue=sms_queue,
            node="",
            language=language,
            waiting_since=at,
            requested_at=at,
            send_link=False,
        )
        chat_sessions.open_from_call(conn, request, None)
        chat = sessions.find_open_for(conn, text.from_)
        started = True
    if chat is None:
        raise ChatError(f"the chat of {text.from_} vanished", 500)
    posted, _ = sessions.post(conn, chat.id, _with_body(message))
    return TextResult(chat, posted, started)


def _with_body(message: NewMessage) -> NewMessage:
    # An empty text (a picture without words) still tells the agent something arrived.
    if message.body.strip():
        return message
    return NewMessage(
        message.sender,
        message.via,
        "(빈 메시지 / empty message)",
        message.at,
        external_sid=message.external_sid,
    )


def customer_view(chat: ChatInfo, topics: list[str]) -> dict[str, Any]:
    """What a customer's page shows of its chat: what they asked for, never the agents' view.

    ``topics`` are the menu choices the call made, as the caller heard them
    (:func:`chat.topics.topics`); collected values are shown only as stored (sensitive ones
    masked), so the customer sees that they need not repeat them.
    """
    collected = [
        {"variable": c.get("variable"), "value": c.get("value"), "sensitive": c.get("sensitive")}
        for c in chat.context.get("collected", [])
    ]
    return {
        "id": chat.id,
        "status": chat.status,
        "language": chat.language,
        "agent_name": chat.agent_name,
        "topics": topics,
        "collected": collected,
        "from_call": chat.context.get("call") is not None,
    }
