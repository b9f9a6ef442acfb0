"""Chats and their messages in the database: read, post, take, close, and the SMS outboxes.

Every function is one piece of one transaction (run through :class:`history.db.Database`);
nothing about a chat is kept in process memory, so any instance serves any page or text.
Each change is also an event on the chat's interaction (``chat_message``, ``chat_taken``,
``chat_closed``…), so the customer's history tells the whole conversation's story.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, and_, insert, or_, select, update

from config.limits import CHAT_CLIENT_ID_CHARS, CHAT_MESSAGE_CHARS
from history import event_log
from history.models import OPEN_CHAT_STATUSES, Agent, ChatMessage, ChatSession
from history.records import NewEvent

MAX_BODY: Final = CHAT_MESSAGE_CHARS
"""Characters a message may hold (config.limits)."""
PAGE: Final = 200
"""Messages returned at once to a page catching up."""
PRESENCE: Final = timedelta(seconds=30)
"""A customer page that has not shown itself for this long counts as closed: the agent's
messages then also go out by SMS."""
OUTCOMES: Final = frozenset({"resolved", "unresolved", "follow_up", "no_reply", "transferred"})
"""How an agent may close a chat."""


class ChatError(Exception):
    """A chat operation that cannot be done; ``status`` is the HTTP status that says why."""

    def __init__(self, message: str, status: int) -> None:
        """Explain ``message``, answered with HTTP ``status``."""
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class ChatInfo:
    """A chat as agents and pages see it."""

    id: int
    interaction_id: int
    phone: str
    from_number: str | None
    queue: str
    language: str
    status: str
    waiting_since: datetime
    created_at: datetime
    taken_at: datetime | None
    closed_at: datetime | None
    agent_id: int | None
    agent_name: str | None
    outcome: str | None
    context: dict[str, Any]
    customer_via: str
    last_message_id: int
    conversation_sid: str | None = None

    def to_json(self, *, with_context: bool = True) -> dict[str, Any]:
        """A JSON-ready dict, times in ISO 8601."""
        data: dict[str, Any] = {
            "id": self.id,
            "interaction_id": self.interaction_id,
            "phone": self.phone,
            "queue": self.queue,
            "language": self.language,
            "status": self.status,
            "waiting_since": self.waiting_since.isoformat(),
            "created_at": self.created_at.isoformat(),
            "taken_at": None if self.taken_at is None else self.taken_at.isoformat(),
            "closed_at": None if self.closed_at is None else self.closed_at.isoformat(),
            "agent_id": self.agent_id,
            "agent_name": self.agent_name,
            "outcome": self.outcome,
            "customer_via": self.customer_via,
            "last_message_id": self.last_message_id,
        }
        if with_context:
            data["context"] = self.context
        return data


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """One message of a chat."""

    id: int
    chat_id: int
    sender: str
    via: str
    body: str
    at: datetime
    agent_id: int | None
    client_id: str | None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the body as written: pages insert it as text, never as HTML)."""
        return {
            "id": self.id,
            "chat_id": self.chat_id,
            "sender": self.sender,
            "via": self.via,
            "body": self.body,
            "at": self.at.isoformat(),
            "agent_id": self.agent_id,
            "client_id": self.client_id,
        }


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to post.

    Attributes:
        sender: ``customer``, ``agent`` or ``system``.
        via: ``web``, ``sms``, ``console`` or ``conversations``.
        body: The text (trimmed; 1 to ``MAX_BODY`` characters).
        at: When it was written.
        agent_id: The agent writing (agent messages only).
        client_id: The page's id for the message (a resend is the same message).
        external_sid: Twilio's MessageSid of an inbound text (a retried webhook is the same).

    """

    sender: str
    via: str
    body: str
    at: datetime
    agent_id: int | None = None
    client_id: str | None = None
    external_sid: str | None = None


_LAST_MESSAGE = (
    select(ChatMessage.id)
    .where(ChatMessage.session_id == ChatSession.id)
    .order_by(ChatMessage.id.desc())
    .limit(1)
    .correlate(ChatSession)
    .scalar_subquery()
)


def _chats() -> Any:
    return select(
        ChatSession.id,
        ChatSession.interaction_id,
        ChatSession.phone,
        ChatSession.from_number,
        ChatSession.queue,
        ChatSession.language,
        ChatSession.status,
        ChatSession.waiting_since,
        ChatSession.created_at,
        ChatSession.taken_at,
        ChatSession.closed_at,
        ChatSession.agent_id,
        Agent.name.label("agent_name"),
        ChatSession.outcome,
        ChatSession.context,
        ChatSession.customer_via,
        _LAST_MESSAGE.label("last_message_id"),
        ChatSession.conversation_sid,
    ).outerjoin(Agent, Agent.id == ChatSession.agent_id)


def _chat(row: Any) -> ChatInfo:
    m = dict(row._mapping)
    m["last_message_id"] = m["last_message_id"] or 0
    return ChatInfo(**m)


def _message(row: Any) -> MessageInfo:
    return MessageInfo(
        id=row.id,
        chat_id=row.session_id,
        sender=row.sender,
        via=row.via,
        body=row.body,
        at=row.at,
        agent_id=row.agent_id,
        client_id=row.client_id,
    )


_MESSAGE_COLUMNS: Final = (
    ChatMessage.id,
    ChatMessage.session_id,
    ChatMessage.sender,
    ChatMessage.via,
    ChatMessage.body,
    ChatMessage.at,
    ChatMessage.agent_id,
    ChatMessage.client_id,
)


def find(conn: Connection, chat_id: int) -> ChatInfo | None:
    """The chat ``chat_id``, or None."""
    row = conn.execute(_chats().where(ChatSession.id == chat_id)).first()
    return None if row is None else _chat(row)


def find_open_for(conn: Connection, phone: str) -> ChatInfo | None:
    """The customer's open (waiting or active) chat, or None."""
    row = conn.execute(
        _chats().where(ChatSession.phone == phone, ChatSession.status.in_(OPEN_CHAT_STATUSES))
    ).first()
    return None if row is None else _chat(row)


def listing(
    conn: Connection, *, queues: Iterable[str] | None, agent_id: int | None, closed: int = 0
) -> list[ChatInfo]:
    """Waiting chats of ``queues`` (all with None), longest waiting first; then the agent's own.

    Args:
        conn: A connection.
        queues: The queues whose waiting chats are listed (an agent's); None for all.
        agent_id: Also list this agent's active chats (and ``closed`` recently closed ones).
        closed: How many of the agent's closed chats to include, newest first.

    """
    waiting = _chats().where(ChatSession.status == "waiting")
    if queues is not None:
        waiting = waiting.where(ChatSession.queue.in_(list(queues)))
    chats = [_chat(r) for r in conn.execute(waiting.order_by(ChatSession.waiting_since))]
    if agent_id is None:
        active = _chats().where(ChatSession.status == "active")
    else:
        active = _chats().where(ChatSession.status == "active", ChatSession.agent_id == agent_id)
    chats += [_chat(r) for r in conn.execute(active.order_by(ChatSession.taken_at))]
    if closed and agent_id is not None:
        recent = (
            _chats()
            .where(ChatSession.status == "closed", ChatSession.agent_id == agent_id)
            .order_by(ChatSession.closed_at.desc())
            .limit(closed)
        )
        chats += [_chat(r) for r in conn.execute(recent)]
    return chats


def messages_after(
    conn: Connection, chat_id: int, after: int, limit: int = PAGE
) -> list[MessageInfo]:
    """The chat's messages with ids above ``after``, oldest first."""
    rows = conn.execute(
        select(*_MESSAGE_COLUMNS)
        .where(ChatMessage.session_id == chat_id, ChatMessage.id > after)
        .order_by(ChatMessage.id)
        .limit(limit)
    )
    return [_message(r) for r in rows]


def post(conn: Connection, chat_id: int, message: NewMessage) -> tuple[MessageInfo, bool]:
    """Add ``message`` to an open chat; a message already posted is returned as it was.

    An agent's message is queued for SMS too when the customer writes by SMS or has no chat
    page open (see :data:`PRESENCE`).

    Returns:
        The message, and whether this call created it.

    Raises:
        ChatError: Empty or too long, or a client_id too long (400), no such chat (404), the
            chat is closed (409), or the agent does not hold it (403).

    """
    body = message.body.strip()
    if not body:
        raise ChatError("a message needs some text", 400)
    if len(body) > MAX_BODY:
        raise ChatError(f"a message holds at most {MAX_BODY} characters", 400)
    if message.client_id is not None and len(message.client_id) > CHAT_CLIENT_ID_CHARS:
        raise ChatError(f"client_id holds at most {CHAT_CLIENT_ID_CHARS} characters", 400)
    if "\x00" in body or "\x00" in (message.client_id or ""):  # PostgreSQL stores no U+0000
        raise ChatError("a message may not hold a NUL character", 400)
    chat = conn.execute(
        select(
            ChatSession.status,
            ChatSession.agent_id,
            ChatSession.interaction_id,
            ChatSession.customer_via,
            ChatSession.customer_seen_at,
        )
        .where(ChatSession.id == chat_id)
        .with_for_update()
    ).first()
    if chat is None:
        raise ChatError(f"no chat {chat_id}", 404)
    # Looked up under the chat's lock: a resend racing the original waits for it, then finds it.
    known = _known(conn, chat_id, message)
    if known is not None:
        return known, False
    if chat.status == "closed":
        raise ChatError(f"chat {chat_id} is closed", 409)
    if message.sender == "agent" and chat.agent_id != message.agent_id:
        raise ChatError(f"chat {chat_id} is not yours: take it first", 403)
    texted = message.sender == "agent" and _customer_away(chat, message.at)
    message_id: int = conn.execute(
        insert(ChatMessage)
        .values(
            session_id=chat_id,
            sender=message.sender,
            via=message.via,
            body=body,
            at=message.at,
            agent_id=message.agent_id,
            client_id=message.client_id,
            external_sid=message.external_sid,
            sms_status="pending" if texted else "none",
        )
        .returning(ChatMessage.id)
    ).scalar_one()
    changes: dict[str, Any] = {"updated_at": message.at}
    if message.sender == "customer":
        # A text through a Conversation is a text too: replies should reach the phone.
        changes["customer_via"] = "web" if message.via == "web" else "sms"
    conn.execute(update(ChatSession).where(ChatSession.id == chat_id).values(**changes))
    payload = {
        "chat_id": chat_id,
        "message_id": message_id,
        "sender": message.sender,
        "via": message.via,
        "agent_id": message.agent_id,
        "length": len(body),
        "texted": texted,
    }
    event_log.append(conn, chat.interaction_id, [NewEvent("chat_message", payload, message.at)])
    created = conn.execute(select(*_MESSAGE_COLUMNS).where(ChatMessage.id == message_id)).one()
    return _message(created), True


def _known(conn: Connection, chat_id: int, message: NewMessage) -> MessageInfo | None:
    keys = []
    if message.client_id is not None:
        keys.append(
            and_(ChatMessage.session_id == chat_id, ChatMessage.client_id == message.client_id)
        )
    if message.external_sid is not None:
        keys.append(ChatMessage.external_sid == message.external_sid)
    if not keys:
        return None
    row = conn.execute(select(*_MESSAGE_COLUMNS).where(or_(*keys))).first()
    return None if row is None else _message(row)


def _customer_away(chat: Any, at: datetime) -> bool:
    if chat.customer_via == "sms":
        return True
    seen = chat.customer_seen_at
    return seen is None or at - seen > PRESENCE


def take(conn: Connection, chat_id: int, agent_id: int, at: datetime) -> ChatInfo:
    """Give a waiting chat to ``agent_id`` (taking one's own active chat again is a no-op).

    Raises:
        ChatError: No such chat (404), taken by another agent or closed (409), or the agent
            does not serve its queue (403).

    """
    chat = find(conn, chat_id)
    if chat is None:
        raise ChatError(f"no chat {chat_id}", 404)
    if chat.status == "active" and chat.agent_id == agent_id:
        return chat
    queues = conn.scalar(select(Agent.queues).where(Agent.id == agent_id))
    if queues is None or chat.queue not in queues:
        raise ChatError(
            f"chat {chat_id} waits in queue {chat.queue!r}, which you do not serve", 403
        )
    taken = conn.scalar(
        update(ChatSession)
        .where(ChatSession.id == chat_id, ChatSession.status == "waiting")
        .values(status="active", agent_id=agent_id, taken_at=at, updated_at=at)
        .returning(ChatSession.id)
    )
    if taken is None:
        raise ChatError(f"chat {chat_id} was already taken or closed", 409)
    waited = max(0, round((at - chat.waiting_since).total_seconds()))
    payload = {"chat_id": chat_id, "agent_id": agent_id, "waited_seconds": waited}
    event_log.append(conn, chat.interaction_id, [NewEvent("chat_taken", payload, at)])
    updated = find(conn, chat_id)
    assert updated is not None
    return updated


def close(
    conn: Connection, chat_id: int, agent_id: int | None, outcome: str, at: datetime
) -> ChatInfo:
    """Close an open chat with ``outcome``; the chat's interaction ends with it.

    ``agent_id`` None closes as a manager (any open chat); an agent closes only their own.

    Raises:
        ChatError: Unknown outcome (400), no such chat (404), not the agent's (403), or
            already closed (409).

    """
    if outcome not in OUTCOMES:
        raise ChatError(f"outcome must be one of {', '.join(sorted(OUTCOMES))}", 400)
    chat = find(conn, chat_id)
    if chat is None:
        raise ChatError(f"no chat {chat_id}", 404)
    if agent_id is not None and chat.agent_id != agent_id:
        raise ChatError(f"chat {chat_id} is not yours", 403)
    closed = conn.scalar(
        update(ChatSession)
        .where(ChatSession.id == chat_id, ChatSession.status.in_(OPEN_CHAT_STATUSES))
        .values(status="closed", outcome=outcome, closed_at=at, updated_at=at)
        .returning(ChatSession.id)
    )
    if closed is None:
        raise ChatError(f"chat {chat_id} is already closed", 409)
    payload = {"chat_id": chat_id, "agent_id": agent_id, "outcome": outcome}
    event_log.append(
        conn,
        chat.interaction_id,
        [NewEvent("chat_closed", payload, at)],
        ending=event_log.Ending(at, outcome),
    )
    updated = find(conn, chat_id)
    assert updated is not None
    return updated


def seen(conn: Connection, chat_id: int, at: datetime) -> None:
    """The customer's page is open now (messages need no SMS while it stays open)."""
    # Not `updated_at`: being seen is not a change agents' lists need to redraw for.
    conn.execute(update(ChatSession).where(ChatSession.id == chat_id).values(customer_seen_at=at))


def remember_conversation(conn: Connection, chat_id: int, conversation_sid: str) -> None:
    """Store the Twilio Conversation carrying the chat (idempotent: the same SID again)."""
    conn.execute(
        update(ChatSession)
        .where(ChatSession.id == chat_id)
        .values(conversation_sid=conversation_sid)
    )
