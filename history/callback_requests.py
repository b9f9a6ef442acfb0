"""Callback requests as a call's turn records them: open one, find the open one, cancel it.

A request is a ``callbacks`` row plus its own ``callback`` interaction (outbound, the parent
being the call it was asked in), so the customer's timeline shows the call and the callback
linked. The dialing side (claims, attempts, reconciliation) lives in ``callbacks/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Row, delete, insert, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnClause

from history import event_log
from history.customers import ensure_customer
from history.models import OPEN_CALLBACK_STATUSES, Callback, Interaction
from history.records import NewEvent

# The dialer sends the confirmation SMS when one is asked for (the row is its outbox).
SMS_WANTED: Final = "pending"
SMS_NOT_WANTED: Final = "none"

# The predicate of the partial unique index ``uq_callbacks_open_phone``: an upsert must name it
# for either database to infer that index as the conflict target. Literal SQL, not bound
# parameters: once PostgreSQL switches a prepared statement to its generic plan (from the 6th
# run) it can no longer prove a parameterised predicate implies the index's, and refuses.
OPEN_WHERE: Final[ColumnClause[bool]] = literal_column("status IN ('pending', 'dialing')")


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """What a caller asked for: to be called back at ``phone``.

    Attributes:
        phone: The E.164 number to call.
        from_number: The number the callback comes from (the one the customer dialled).
        kind: ``queued`` (keep my place in line) or ``scheduled`` (call me in a time slot).
        queue: The queue whose agents call back.
        menu_checksum: The menu version the request was made on (its nodes run the call).
        node: The node that took the request (its ``after_agent`` follows the agent).
        language: The caller's language.
        requested_at: When it was asked.
        original_enqueued_at: The place in line: when the caller entered the queue, or the
            slot's start for a scheduled callback.
        due_at: The first moment it may be dialled.
        max_attempts: Dial attempts before the request fails.
        parent_interaction_id: The interaction (call) it was asked in, if any.
        sms: Send a confirmation SMS.

    """

    phone: str
    from_number: str
    kind: str
    queue: str
    menu_checksum: str
    node: str
    language: str
    requested_at: datetime
    original_enqueued_at: datetime
    due_at: datetime
    max_attempts: int
    parent_interaction_id: int | None = None
    sms: bool = True


@dataclass(frozen=True, slots=True)
class CallbackInfo:
    """A callback request as stored."""

    id: int
    phone: str
    kind: str
    status: str
    queue: str
    due_at: datetime
    original_enqueued_at: datetime
    attempts: int
    interaction_id: int
    call_sid: str | None
    last_result: str | None
    from_number: str
    node: str
    language: str
    menu_checksum: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, times in ISO 8601."""
        return {
            "id": self.id,
            "phone": self.phone,
            "kind": self.kind,
            "status": self.status,
            "queue": self.queue,
            "due_at": self.due_at.isoformat(),
            "original_enqueued_at": self.original_enqueued_at.isoformat(),
            "attempts": self.attempts,
            "interaction_id": self.interaction_id,
            "call_sid": self.call_sid,
            "last_result": self.last_result,
            "node": self.node,
            "language": self.language,
        }


_INFO_COLUMNS: Final[tuple[Any, ...]] = (
    Callback.id,
    Callback.phone,
    Callback.kind,
    Callback.status,
    Callback.queue,
    Callback.due_at,
    Callback.original_enqueued_at,
    Callback.attempts,
    Callback.interaction_id,
    Callback.call_sid,
    Callback.last_result,
    Callback.from_number,
    Callback.node,
    Callback.language,
    Callback.menu_checksum,
)


def info(row: Row[Any]) -> CallbackInfo:
    """A :class:`CallbackInfo` from a row selected with the info columns."""
    m = row._mapping
    return CallbackInfo(**{column.key: m[column.key] for column in _INFO_COLUMNS})


def open_request(conn: Connection, request: CallbackRequest) -> tuple[CallbackInfo, bool]:
    """Record a callback request, unless the phone already has an open one.

    Returns:
        The open request for the phone, and True when this call created it.

    """
    existing = find_open(conn, request.phone)
    if existing is not None:
        return existing, False
    at = request.requested_at
    customer_id = ensure_customer(conn, request.phone, at)
    interaction_id: int = conn.execute(
        insert(Interaction)
        .values(
            channel="callback",
            customer_id=customer_id,
            direction="outbound",
            started_at=at,
            parent_id=request.parent_interaction_id,
            last_seq=0,
        )
        .returning(Interaction.id)
    ).scalar_one()
    values = {
        "phone": request.phone,
        "from_number": request.from_number,
        "customer_id": customer_id,
        "interaction_id": interaction_id,
        "kind": request.kind,
        "queue": request.queue,
        "menu_checksum": request.menu_checksum,
        "node": request.node,
        "language": request.language,
        "status": "pending",
        "requested_at": at,
        "original_enqueued_at": request.original_enqueued_at,
        "due_at": request.due_at,
        "attempts": 0,
        "max_attempts": request.max_attempts,
        "sms_status": SMS_WANTED if request.sms else SMS_NOT_WANTED,
        "updated_at": at,
    }
    # The partial unique index (one open request per phone) settles a race between two
    # instances: the loser inserts nothing and reads the winner's row.
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    callback_id = conn.scalar(
        dialect_insert(Callback)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["phone"], index_where=OPEN_WHERE)
        .returning(Callback.id)
    )
    if callback_id is None:
        raced = find_open(conn, request.phone)
        if raced is None:
            raise LookupError(f"open callback for {request.phone} vanished")
        conn.execute(delete(Interaction).where(Interaction.id == interaction_id))
        return raced, False
    event_log.append(conn, interaction_id, [_requested_event(callback_id, request)])
    created = find_by_id(conn, callback_id)
    if created is None:
        raise LookupError(f"callback {callback_id} vanished")
    return created, True


def find_open(conn: Connection, phone: str) -> CallbackInfo | None:
    """The phone's open (pending or dialing) callback request, or None."""
    row = conn.execute(
        select(*_INFO_COLUMNS).where(
            Callback.phone == phone, Callback.status.in_(OPEN_CALLBACK_STATUSES)
        )
    ).first()
    return None if row is None else info(row)


def find_by_id(conn: Connection, callback_id: int) -> CallbackInfo | None:
    """The callback request ``callback_id``, or None."""
    row = conn.execute(select(*_INFO_COLUMNS).where(Callback.id == callback_id)).first()
    return None if row is None else info(row)


def cancel(conn: Connection, callback_id: int, *, at: datetime, by: str) -> bool:
    """Cancel a request that has not been dialled yet (pending only).

    Returns:
        Whether it was cancelled (False: unknown, already being dialled, or closed).

    """
    interaction_id = conn.scalar(
        update(Callback)
        .where(Callback.id == callback_id, Callback.status == "pending")
        .values(status="cancelled", last_result=f"cancelled by {by}", updated_at=at)
        .returning(Callback.interaction_id)
    )
    if interaction_id is None:
        return False
    cancelled = NewEvent("callback_cancelled", {"callback_id": callback_id, "by": by}, at)
    event_log.append(conn, interaction_id, [cancelled], ending=event_log.Ending(at, "cancelled"))
    return True


def _requested_event(callback_id: int, request: CallbackRequest) -> NewEvent:
    return NewEvent(
        "callback_requested",
        {
            "callback_id": callback_id,
            "kind": request.kind,
            "queue": request.queue,
            "node": request.node,
            "due_at": request.due_at.isoformat(),
            "original_enqueued_at": request.original_enqueued_at.isoformat(),
            "max_attempts": request.max_attempts,
            "sms": request.sms,
        },
        request.requested_at,
        key="callback_requested",
    )


def list_requests(conn: Connection, *, status: str | None, limit: int) -> list[CallbackInfo]:
    """Requests (with ``status``, or all), oldest place in line first, at most ``limit``."""
    query = select(*_INFO_COLUMNS).order_by(Callback.original_enqueued_at, Callback.id)
    if status is not None:
        query = query.where(Callback.status == status)
    return [info(row) for row in conn.execute(query.limit(limit))]
