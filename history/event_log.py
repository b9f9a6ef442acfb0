"""Appending to an interaction's event log: consecutive ``seq`` numbers, idempotent keys.

The next ``seq`` is ``max(seq) + 1``, read inside the appending transaction after locking the
interaction's row. On SQLite the transaction already holds the database's only write lock
(``BEGIN IMMEDIATE``). On PostgreSQL (READ COMMITTED) the row lock makes a second appender wait
until the first commits; its next statement then sees the first one's events, so both never pick
the same numbers. ``UNIQUE (interaction_id, seq)`` remains as the backstop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from history.models import Interaction, InteractionEvent
from history.records import NewEvent


async def lock_interaction(conn: AsyncConnection, interaction_id: int) -> bool:
    """Lock the interaction's row until the transaction ends (PostgreSQL; SQLite is locked).

    ``FOR NO KEY UPDATE`` still lets other transactions insert rows that reference it.

    Returns:
        Whether the interaction exists.

    """
    locked = await conn.scalar(
        select(Interaction.id)
        .where(Interaction.id == interaction_id)
        .with_for_update(key_share=True)
    )
    return locked is not None


async def append(
    conn: AsyncConnection, interaction_id: int, events: Sequence[NewEvent], *, locked: bool = False
) -> int:
    """Append ``events`` in order, skipping those whose key the interaction already has.

    Args:
        conn: A connection inside the writing transaction.
        interaction_id: The interaction to append to.
        events: The events, in the order they happened.
        locked: The caller already holds the interaction's row lock.

    Returns:
        How many events were written.

    """
    if not events:
        return 0
    if not locked:
        await lock_interaction(conn, interaction_id)
    fresh = await _without_known_keys(conn, interaction_id, events)
    if not fresh:
        return 0
    last = await conn.scalar(
        select(func.coalesce(func.max(InteractionEvent.seq), 0)).where(
            InteractionEvent.interaction_id == interaction_id
        )
    )
    first = int(last or 0) + 1
    await conn.execute(
        insert(InteractionEvent),
        [_row(interaction_id, first + i, event) for i, event in enumerate(fresh)],
    )
    return len(fresh)


async def _without_known_keys(
    conn: AsyncConnection, interaction_id: int, events: Sequence[NewEvent]
) -> list[NewEvent]:
    keys = {e.key for e in events if e.key is not None}
    seen: set[str] = set()
    if keys:
        stored = await conn.scalars(
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
