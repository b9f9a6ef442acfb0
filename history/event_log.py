"""Appending to an interaction's event log: consecutive ``seq`` numbers, idempotent keys.

The interaction row carries ``last_seq``. An append is one ``UPDATE interactions SET last_seq =
last_seq + n RETURNING last_seq`` followed by one multi-row insert: the update both allocates
the numbers and holds the row lock until commit, so concurrent appenders (PostgreSQL, READ
COMMITTED) wait for each other and never pick the same numbers; SQLite transactions already
hold the database's only write lock (``BEGIN IMMEDIATE``, taken by one writer thread per
process). ``UNIQUE (interaction_id, seq)`` remains as the backstop. Ending the interaction
rides on the same update.

Keyed events (status callbacks, replay notes) are checked against the stored keys after the row
is locked, so two transactions carrying the same key never both insert it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Integer, Update, bindparam, func, insert, select, update

from history.models import Call, Interaction, InteractionEvent, UtcDateTime
from history.records import NewEvent


@dataclass(frozen=True)
class Ending:
    """Close the interaction (each field only if not set yet: the first end and outcome win)."""

    at: datetime
    outcome: str | None


def lock_interaction(conn: Connection, interaction_id: int) -> bool:
    """Lock the interaction's row until the transaction ends (PostgreSQL; SQLite is locked).

    ``FOR NO KEY UPDATE`` still lets other transactions insert rows that reference it.

    Returns:
        Whether the interaction exists.

    """
    locked = conn.scalar(
        select(Interaction.id)
        .where(Interaction.id == interaction_id)
        .with_for_update(key_share=True)
    )
    return locked is not None


def append(
    conn: Connection,
    interaction_id: int,
    events: Sequence[NewEvent],
    *,
    ending: Ending | None = None,
) -> int:
    """Append ``events`` in order, skipping those whose key the interaction already has.

    Args:
        conn: A connection inside the writing transaction.
        interaction_id: The interaction to append to.
        events: The events, in the order they happened.
        ending: Also close the interaction, in the same statement.

    Returns:
        How many events were written.

    """
    fresh = list(events)
    if any(e.key is not None for e in events):
        lock_interaction(conn, interaction_id)
        fresh = _without_known_keys(conn, interaction_id, events)
    if not fresh and ending is None:
        return 0
    params: dict[str, Any] = {"interaction_id": interaction_id, "count": len(fresh)}
    if ending is not None:
        params |= {"at": ending.at, "first_outcome": ending.outcome}
    last = conn.scalar(_ADVANCE if ending is None else _ADVANCE_AND_END, params)
    if last is None or not fresh:
        return 0
    first = int(last) - len(fresh) + 1
    conn.execute(
        _INSERT_EVENTS,
        [_row(interaction_id, first + i, event) for i, event in enumerate(fresh)],
    )
    return len(fresh)


def _advance_statement(*, ending: bool) -> Update:
    values: dict[str, Any] = {
        "last_seq": Interaction.last_seq + bindparam("count", type_=Integer())
    }
    if ending:
        at = bindparam("at", type_=UtcDateTime())
        values["ended_at"] = func.coalesce(Interaction.ended_at, at)
        values["outcome"] = func.coalesce(
            Interaction.outcome, bindparam("first_outcome", type_=Interaction.outcome.type)
        )
    return (
        update(Interaction)
        .where(Interaction.id == bindparam("interaction_id"))
        .values(values)
        .returning(Interaction.last_seq)
    )


# Built once: building a statement costs more than running it on this hot path.
_ADVANCE: Final = _advance_statement(ending=False)
_ADVANCE_AND_END: Final = _advance_statement(ending=True)
_INSERT_EVENTS: Final = insert(InteractionEvent)


def _without_known_keys(
    conn: Connection, interaction_id: int, events: Sequence[NewEvent]
) -> list[NewEvent]:
    keys = {e.key for e in events if e.key is not None}
    seen: set[str] = set()
    if keys:
        stored = conn.scalars(
            select(InteractionEvent.key).where(
                InteractionEvent.interaction_id == interaction_id,
                InteractionEvent.key.in_(keys),
            )
        )
        seen.update(k for k in stored if k is not None)
    fresh: list[NewEvent] = []
    for event in events:
        if event.key is not None:
            if event.key in seen:
                continue
            seen.add(event.key)  # a key repeated within one batch is written once
        fresh.append(event)
    return fresh


def _row(interaction_id: int, seq: int, event: NewEvent) -> dict[str, Any]:
    return {
        "interaction_id": interaction_id,
        "seq": seq,
        "at": event.at,
        "type": event.type,
        "payload": dict(event.payload),
        "key": event.key,
    }


def call_has_key(conn: Connection, call_sid: str, key: str) -> bool:
    """Whether the interaction of call ``call_sid`` has an event keyed ``key``."""
    found = conn.scalar(
        select(InteractionEvent.id)
        .join(Call, Call.interaction_id == InteractionEvent.interaction_id)
        .where(Call.call_sid == call_sid, InteractionEvent.key == key)
        .limit(1)
    )
    return found is not None
