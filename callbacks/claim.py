"""The durable claim: due callbacks taken by exactly one instance, and every later transition.

Each function runs inside one writing transaction of :class:`history.db.Database`. A claim is
one statement: ``UPDATE callbacks … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``
on PostgreSQL, so concurrent instances skip each other's rows instead of waiting or taking
them twice; on SQLite the same ``UPDATE … RETURNING`` runs inside ``BEGIN IMMEDIATE``, which
holds the only write lock (the ``FOR UPDATE`` clause is not rendered there). Every later write
is conditional on the row still being in the state the writer saw (status, attempt, CallSid),
so a late or repeated status callback, or a second reconciler, changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, Row, and_, case, or_, select, update

from history import event_log
from history.models import Callback
from history.records import NewEvent

# Statuses of a request that is waiting for its next attempt, and of one being dialled.
PENDING: Final = "pending"
DIALING: Final = "dialing"


@dataclass(frozen=True, slots=True)
class Claimed:
    """A callback this instance now owns for one attempt.

    ``attempt`` counts from 1 and identifies the attempt in the status callback URL, so a
    status of an earlier attempt is never applied to this one.
    """

    id: int
    phone: str
    from_number: str
    interaction_id: int
    attempt: int
    kind: str
    queue: str
    node: str
    menu_checksum: str
    language: str
    claimed_at: datetime


@dataclass(frozen=True, slots=True)
class Stale:
    """A request left ``dialing`` for too long: its dial may or may not have happened."""

    id: int
    phone: str
    interaction_id: int
    attempt: int
    claimed_at: datetime
    call_sid: str | None
    menu_checksum: str
    node: str


_CLAIMED_COLUMNS: Final[tuple[Any, ...]] = (
    Callback.id,
    Callback.phone,
    Callback.from_number,
    Callback.interaction_id,
    Callback.attempts,
    Callback.kind,
    Callback.queue,
    Callback.node,
    Callback.menu_checksum,
    Callback.language,
    Callback.claimed_at,
)


def any_due(conn: Connection, *, now: datetime) -> bool:
    """Whether any pending request is due at ``now`` (a read, before taking the write lock)."""
    due = select(Callback.id).where(Callback.status == PENDING, Callback.due_at <= now).limit(1)
    return conn.scalar(due) is not None


def claim_due(conn: Connection, *, now: datetime, instance: str, limit: int) -> list[Claimed]:
    """Take up to ``limit`` due pending requests, oldest place in line first.

    Args:
        conn: A connection in a writing transaction.
        now: The current instant: requests due at or before it are taken.
        instance: Who claims (stored in ``claimed_by``).
        limit: At most this many.

    Returns:
        The claimed requests, each now ``dialing`` with its attempt counted.

    """
    due = (
        select(Callback.id)
        .where(Callback.status == PENDING, Callback.due_at <= now)
        .order_by(Callback.original_enqueued_at, Callback.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = conn.execute(
        update(Callback)
        .where(Callback.id.in_(due.scalar_subquery()))
        .values(
            status=DIALING,
            attempts=Callback.attempts + 1,
            claimed_by=instance,
            claimed_at=now,
            call_sid=None,
            updated_at=now,
        )
        .returning(*_CLAIMED_COLUMNS)
    ).all()
    claimed = sorted((_claimed(row) for row in rows), key=lambda c: c.id)
    for c in claimed:
        event = NewEvent(
            "callback_claimed",
            {"callback_id": c.id, "attempt": c.attempt, "instance": instance},
            now,
        )  # no key: an attempt returned uncounted is claimed again, and both claims count
        event_log.append(conn, c.interaction_id, [event])
    return claimed


def record_dialled(
    conn: Connection, *, callback_id: int, attempt: int, call_sid: str, at: datetime
) -> bool:
    """Store the CallSid of an attempt's outbound call (right after Twilio accepted it).

    Returns:
        False when the attempt is no longer current (nothing written).

    """
    interaction_id = _store_call_sid(conn, callback_id, attempt, call_sid, at)
    if interaction_id is None:
        return False
    event = NewEvent(
        "callback_dialing",
        {"callback_id": callback_id, "attempt": attempt, "call_sid": call_sid},
        at,
        key=f"dialing:{attempt}",
    )
    event_log.append(conn, interaction_id, [event])
    return True


def record_progress(
    conn: Connection,
    *,
    callback_id: int,
    attempt: int,
    call_sid: str,
    call_status: str,
    at: datetime,
) -> bool:
    """Note a non-final status of the attempt's call (initiated, ringing, in-progress).

    The CallSid is stored if the dialer has not stored it yet (the status can win that race).

    Returns:
        False when the attempt is no longer current.

    """
    interaction_id = _store_call_sid(conn, callback_id, attempt, call_sid, at)
    if interaction_id is None:
        return False
    event = NewEvent(
        "callback_call_status",
        {"callback_id": callback_id, "attempt": attempt, "status": call_status},
        at,
        key=f"status:{attempt}:{call_status}",
    )
    event_log.append(conn, interaction_id, [event])
    return True


def finish_attempt(
    conn: Connection,
    *,
    callback_id: int,
    attempt: int,
    call_sid: str | None,
    call_status: str,
    status: str,
    due_at: datetime | None,
    reason: str,
    at: datetime,
) -> bool:
    """End the current attempt: answered (``dialed``), retry later (``pending``) or ``failed``.

    Args:
        conn: A connection in a writing transaction.
        callback_id: The request.
        attempt: The attempt that ended; nothing happens if another is current.
        call_sid: The attempt's call, or None when Twilio never placed one.
        call_status: Twilio's final CallStatus (or ``rejected``).
        status: The request's new status (see :func:`callbacks.policy.after_attempt`).
        due_at: The next attempt's time, with ``pending``.
        reason: Why, for the history.
        at: When.

    Returns:
        False when the attempt was no longer current (a repeated or late status).

    """
    retry = status == PENDING
    values: dict[str, Any] = {
        "status": status,
        "last_result": reason,
        "updated_at": at,
        # A retry is dialled anew; the history keeps this attempt's CallSid.
        "call_sid": None
        if retry
        else case((Callback.call_sid.is_(None), call_sid), else_=Callback.call_sid),
    }
    if retry:
        values |= {"due_at": due_at, "claimed_by": None}
    interaction_id = conn.scalar(
        update(Callback)
        .where(*_current(callback_id, attempt, call_sid))
        .values(values)
        .returning(Callback.interaction_id)
    )
    if interaction_id is None:
        return False
    payload: dict[str, Any] = {
        "callback_id": callback_id,
        "attempt": attempt,
        "call_sid": call_sid,
        "call_status": call_status,
        "status": status,
        "reason": reason,
    }
    if due_at is not None:
        payload["due_at"] = due_at.isoformat()
    event = NewEvent(f"callback_{_event_name(status)}", payload, at, key=f"attempt:{attempt}")
    ending = event_log.Ending(at, "failed") if status == "failed" else None
    event_log.append(conn, interaction_id, [event], ending=ending)
    return True


def lock_stale(
    conn: Connection,
    *,
    now: datetime,
    unplaced_after: timedelta,
    placed_after: timedelta,
    limit: int,
) -> list[Stale]:
    """Take requests left ``dialing`` without news for too long, to reconcile them.

    Too long is ``unplaced_after`` while the attempt has no CallSid, ``placed_after`` once it
    has one (an answered call lasts as long as the conversation). Their ``updated_at`` is moved
    to ``now``, so no other instance reconciles them meanwhile; ``claimed_at`` keeps the moment
    the attempt was claimed, which the reconciler searches Twilio's call log from.
    """
    stale = conn.execute(
        select(
            Callback.id,
            Callback.phone,
            Callback.interaction_id,
            Callback.attempts,
            Callback.claimed_at,
            Callback.call_sid,
            Callback.menu_checksum,
            Callback.node,
        )
        .where(
            Callback.status == DIALING,
            or_(
                and_(Callback.call_sid.is_(None), Callback.updated_at < now - unplaced_after),
                and_(Callback.call_sid.is_not(None), Callback.updated_at < now - placed_after),
            ),
        )
        .order_by(Callback.updated_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not stale:
        return []
    conn.execute(
        update(Callback).where(Callback.id.in_([row.id for row in stale])).values(updated_at=now)
    )
    return [
        Stale(
            id=row.id,
            phone=row.phone,
            interaction_id=row.interaction_id,
            attempt=row.attempts,
            claimed_at=row.claimed_at or now,
            call_sid=row.call_sid,
            menu_checksum=row.menu_checksum,
            node=row.node,
        )
        for row in stale
    ]


def return_unplaced(
    conn: Connection, *, callback_id: int, attempt: int, at: datetime, reason: str
) -> bool:
    """Give back an attempt that provably never placed a call: pending again, not counted.

    Returns:
        False when the attempt is no longer current, or it has a CallSid after all.

    """
    interaction_id = conn.scalar(
        update(Callback)
        .where(
            Callback.id == callback_id,
            Callback.status == DIALING,
            Callback.attempts == attempt,
            Callback.call_sid.is_(None),
        )
        .values(
            status=PENDING,
            attempts=Callback.attempts - 1,
            due_at=at,
            claimed_by=None,
            last_result=reason,
            updated_at=at,
        )
        .returning(Callback.interaction_id)
    )
    if interaction_id is None:
        return False
    event = NewEvent(
        "callback_reconciled",
        {"callback_id": callback_id, "attempt": attempt, "placed": False, "reason": reason},
        at,
        key=f"reconciled:{attempt}",
    )
    event_log.append(conn, interaction_id, [event])
    return True


def mark_unknown(
    conn: Connection, *, callback_id: int, attempt: int, at: datetime, reason: str
) -> bool:
    """Give up reconciling an attempt: a person must find out whether the customer was called.

    Returns:
        False when the attempt is no longer current.

    """
    interaction_id = conn.scalar(
        update(Callback)
        .where(Callback.id == callback_id, Callback.status == DIALING, Callback.attempts == attempt)
        .values(status="unknown", last_result=reason, updated_at=at)
        .returning(Callback.interaction_id)
    )
    if interaction_id is None:
        return False
    event = NewEvent(
        "callback_unknown",
        {"callback_id": callback_id, "attempt": attempt, "reason": reason},
        at,
        key=f"unknown:{attempt}",
    )
    event_log.append(conn, interaction_id, [event], ending=event_log.Ending(at, "unknown"))
    return True


@dataclass(frozen=True, slots=True)
class Terms:
    """What a request's attempts answer to: its menu node (for the hours) and its attempts."""

    menu_checksum: str
    node: str
    max_attempts: int


def terms_of(conn: Connection, callback_id: int) -> Terms | None:
    """The terms a request was made on, or None for an unknown id."""
    row = conn.execute(
        select(Callback.menu_checksum, Callback.node, Callback.max_attempts).where(
            Callback.id == callback_id
        )
    ).first()
    return None if row is None else Terms(row.menu_checksum, row.node, row.max_attempts)


def _store_call_sid(
    conn: Connection, callback_id: int, attempt: int, call_sid: str, at: datetime
) -> int | None:
    """Give the current attempt its CallSid (again); the interaction id, or None if not current."""
    interaction_id: int | None = conn.scalar(
        update(Callback)
        .where(*_current(callback_id, attempt, call_sid))
        .values(call_sid=call_sid, updated_at=at)
        .returning(Callback.interaction_id)
    )
    return interaction_id


def _current(callback_id: int, attempt: int, call_sid: str | None) -> tuple[Any, ...]:
    """The row is still in the attempt a writer saw (and its CallSid, once known, matches)."""
    conditions: tuple[Any, ...] = (
        Callback.id == callback_id,
        Callback.status == DIALING,
        Callback.attempts == attempt,
    )
    if call_sid is None:
        return (*conditions, Callback.call_sid.is_(None))
    return (*conditions, or_(Callback.call_sid.is_(None), Callback.call_sid == call_sid))


def _event_name(status: str) -> str:
    return {"dialed": "answered", "pending": "retry_scheduled", "failed": "failed"}.get(
        status, status
    )


def _claimed(row: Row[Any]) -> Claimed:
    m = row._mapping
    return Claimed(
        id=m["id"],
        phone=m["phone"],
        from_number=m["from_number"],
        interaction_id=m["interaction_id"],
        attempt=m["attempts"],
        kind=m["kind"],
        queue=m["queue"],
        node=m["node"],
        menu_checksum=m["menu_checksum"],
        language=m["language"],
        claimed_at=m["claimed_at"],
    )
