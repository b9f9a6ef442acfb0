"""Chat sessions as a call's turn opens them, with the snapshot of what the call learned.

A chat is a ``chat_sessions`` row plus its own ``chat`` interaction, whose parent is the call it
was escalated from, so the customer's timeline shows the call and the chat linked. The snapshot
(`snapshot`) is read from the call's history in the same transaction as the turn that escalated:
the IVR path, collected values (sensitive ones are stored masked), what the recogniser heard,
the queue time, and the customer's earlier interactions. The chat's own life (messages, agents,
texts) is the ``chat`` package's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, delete, insert, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnClause

from history import event_log
from history.customers import ensure_customer
from history.models import (
    OPEN_CHAT_STATUSES,
    Call,
    ChatSession,
    Interaction,
    InteractionEvent,
)
from history.records import NewEvent

# The predicate of ``uq_chat_sessions_open_phone`` (literal SQL: see callback_requests).
OPEN_WHERE: Final[ColumnClause[bool]] = literal_column("status IN ('waiting', 'active')")
LINK_WANTED: Final = "pending"
LINK_NOT_WANTED: Final = "none"
EARLIER_INTERACTIONS: Final = 10
"""Earlier interactions of the customer shown with a chat: enough to see a pattern."""
PATH_LIMIT: Final = 50
"""Nodes of the IVR path kept (a caller looping through a menu repeats them)."""


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """What a caller asked for: to go on by chat with an agent of ``queue``.

    Attributes:
        phone: The customer's E.164 number (the link goes there by SMS).
        from_number: The number the customer dialled; texts to them come from it.
        queue: The queue whose agents answer.
        node: The menu node that escalated.
        language: The caller's language.
        waiting_since: The customer's place in line among waiting chats.
        requested_at: When the caller chose chat.
        send_link: Text the customer their link.

    """

    phone: str
    from_number: str | None
    queue: str
    node: str
    language: str
    waiting_since: datetime
    requested_at: datetime
    send_link: bool = True


@dataclass(frozen=True, slots=True)
class OpenedChat:
    """The chat a request opened (or the customer's open one it joined)."""

    id: int
    interaction_id: int
    created: bool


def open_from_call(
    conn: Connection, request: ChatRequest, call_interaction_id: int | None
) -> OpenedChat:
    """Open a chat for ``request``, or rejoin the customer's open one (its link is sent again).

    Args:
        conn: A connection inside the turn's transaction.
        request: The caller's request.
        call_interaction_id: The call it was made in (the chat's parent and its context), or
            None for a chat started by an inbound text.

    Returns:
        The chat, and whether this request created it.

    """
    at = request.requested_at
    customer_id = ensure_customer(conn, request.phone, at)
    context = snapshot(conn, call_interaction_id, customer_id)
    link = LINK_WANTED if request.send_link else LINK_NOT_WANTED
    existing = find_open(conn, request.phone)
    if existing is None:
        created = _insert(conn, request, call_interaction_id, customer_id, context, link)
        if created is not None:
            return created
        existing = find_open(conn, request.phone)  # another instance's request won the race
        if existing is None:
            raise LookupError(f"open chat for {request.phone} vanished")
    chat_id, interaction_id = existing
    # The customer is still the same conversation: the newest call's context replaces the old.
    conn.execute(
        update(ChatSession)
        .where(ChatSession.id == chat_id)
        .values(context=context, link_status=link, updated_at=at)
    )
    payload = {"chat_id": chat_id, "from_interaction": call_interaction_id, "context": context}
    event_log.append(conn, interaction_id, [NewEvent("chat_rejoined", payload, at)])
    if call_interaction_id is not None:
        escalated = {"chat_id": chat_id, "chat_interaction_id": interaction_id}
        event_log.append(conn, call_interaction_id, [NewEvent("escalated_to_chat", escalated, at)])
    return OpenedChat(chat_id, interaction_id, created=False)


def find_open(conn: Connection, phone: str) -> tuple[int, int] | None:
    """The id and interaction of the customer's open chat, if any."""
    row = conn.execute(
        select(ChatSession.id, ChatSession.interaction_id).where(
            ChatSession.phone == phone, ChatSession.status.in_(OPEN_CHAT_STATUSES)
        )
    ).first()
    return None if row is None else (row.id, row.interaction_id)


def snapshot(
    conn: Connection, call_interaction_id: int | None, customer_id: int | None
) -> dict[str, Any]:
    """What an agent should know before answering: the call's path and answers, and the past.

    Sensitive values are read from the history, where they are stored masked; nothing here
    comes from the live call state (which holds them in clear while the call lasts).
    """
    context: dict[str, Any] = {
        "call": None,
        "path": [],
        "collected": [],
        "speech": [],
        "queue": None,
        "earlier": _earlier(conn, customer_id, call_interaction_id),
    }
    if call_interaction_id is not None:
        context |= _call_context(conn, call_interaction_id)
    return context


def _call_context(conn: Connection, interaction_id: int) -> dict[str, Any]:
    call = conn.execute(
        select(
            Interaction.call_sid,
            Interaction.started_at,
            Interaction.menu_id,
            Call.state,
        )
        .outerjoin(Call, Call.interaction_id == Interaction.id)
        .where(Interaction.id == interaction_id)
    ).first()
    if call is None:
        return {}
    state = call.state or {}
    path: list[str] = []
    collected: list[dict[str, Any]] = []
    speech: list[dict[str, Any]] = []
    queue: dict[str, Any] | None = None
    events = conn.execute(
        select(InteractionEvent.type, InteractionEvent.payload)
        .where(
            InteractionEvent.interaction_id == interaction_id,
            InteractionEvent.type.in_(
                ("node_entered", "value_collected", "speech_recognized", "queue_left")
            ),
        )
        .order_by(InteractionEvent.seq)
    )
    for kind, payload in events:
        match kind:
            case "node_entered" if payload.get("type") != "question":
                path.append(str(payload.get("node")))
            case "value_collected":
                collected.append(
                    {
                        "node": payload.get("node"),
                        "variable": payload.get("variable"),
                        "value": payload.get("value"),
                        "sensitive": bool(payload.get("sensitive")),
                    }
                )
            case "speech_recognized" if payload.get("transcript"):
                speech.append(
                    {
                        "node": payload.get("node"),
                        "transcript": payload.get("transcript"),
                        "confidence": payload.get("confidence"),
                        "masked": bool(payload.get("masked")),
                    }
                )
            case "queue_left":
                queue = {
                    "queue": payload.get("queue"),
                    "waited_seconds": payload.get("waited_seconds"),
                }
    return {
        "call": {
            "interaction_id": interaction_id,
            "call_sid": call.call_sid,
            "started_at": call.started_at.isoformat(),
            "menu_id": call.menu_id,
            "caller": state.get("caller"),
            "called": state.get("called"),
            "language": state.get("language"),
        },
        "path": path[-PATH_LIMIT:],
        "collected": collected,
        "speech": speech,
        "queue": queue,
    }


def _earlier(
    conn: Connection, customer_id: int | None, exclude: int | None
) -> list[dict[str, Any]]:
    if customer_id is None:
        return []
    query = (
        select(
            Interaction.id,
            Interaction.channel,
            Interaction.direction,
            Interaction.started_at,
            Interaction.outcome,
        )
        .where(Interaction.customer_id == customer_id)
        .order_by(Interaction.started_at.desc(), Interaction.id.desc())
        .limit(EARLIER_INTERACTIONS)
    )
    if exclude is not None:
        query = query.where(Interaction.id != exclude)
    return [
        {
            "interaction_id": row.id,
            "channel": row.channel,
            "direction": row.direction,
            "started_at": row.started_at.isoformat(),
            "outcome": row.outcome,
        }
        for row in conn.execute(query)
    ]


def _insert(
    conn: Connection,
    request: ChatRequest,
    call_interaction_id: int | None,
    customer_id: int | None,
    context: dict[str, Any],
    link: str,
) -> OpenedChat | None:
    at = request.requested_at
    interaction_id: int = conn.execute(
        insert(Interaction)
        .values(
            channel="chat",
            customer_id=customer_id,
            direction="inbound",
            started_at=at,
            parent_id=call_interaction_id,
            last_seq=0,
        )
        .returning(Interaction.id)
    ).scalar_one()
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    chat_id = conn.scalar(
        dialect_insert(ChatSession)
        .values(
            interaction_id=interaction_id,
            customer_id=customer_id,
            phone=request.phone,
            from_number=request.from_number,
            queue=request.queue,
            language=request.language,
            status="waiting",
            waiting_since=request.waiting_since,
            created_at=at,
            context=context,
            link_status=link,
            customer_via="link",
            updated_at=at,
        )
        .on_conflict_do_nothing(index_elements=["phone"], index_where=OPEN_WHERE)
        .returning(ChatSession.id)
    )
    if chat_id is None:
        conn.execute(delete(Interaction).where(Interaction.id == interaction_id))
        return None
    started = {
        "chat_id": chat_id,
        "queue": request.queue,
        "node": request.node,
        "language": request.language,
        "from_interaction": call_interaction_id,
        "context": context,
    }
    event_log.append(conn, interaction_id, [NewEvent("chat_started", started, at)])
    if call_interaction_id is not None:
        escalated = {"chat_id": chat_id, "chat_interaction_id": interaction_id}
        event_log.append(conn, call_interaction_id, [NewEvent("escalated_to_chat", escalated, at)])
    return OpenedChat(chat_id, interaction_id, created=True)
