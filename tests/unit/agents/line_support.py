"""What the agents tests put in line: agents logged in at chosen times, callers, callbacks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select

from agents import roster
from agents.roster import AgentInfo
from history.callback_requests import CallbackInfo, CallbackRequest, open_request
from history.db import Database
from history.models import AgentEvent, Callback, Interaction, InteractionEvent, QueueMember
from history.queue_line import JoinQueue, join

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
"""10:00 in Seoul on a Tuesday."""


def minutes(n: float) -> datetime:
    """``T0`` plus ``n`` minutes."""
    return T0 + timedelta(minutes=n)


def _new_agent(
    conn: Connection, name: str, address: str, queues: Sequence[str], since: datetime
) -> AgentInfo:
    agent = roster.add_agent(conn, name=name, address=address, queues=queues, at=since)
    found = roster.set_state(conn, agent.id, roster.AVAILABLE, at=since, by="test")
    assert found is not None
    return found


async def agent_available(
    db: Database,
    name: str,
    *,
    queues: Sequence[str] = ("general",),
    since: datetime = T0,
    address: str | None = None,
) -> AgentInfo:
    """A new agent, available (idle) since ``since``; reached at ``client:<name>`` by default."""
    return await db.write(_new_agent, name, address or f"client:{name}", queues, since)


def _caller_waits(conn: Connection, call_sid: str, queue: str, place: datetime) -> int:
    interaction_id: int = conn.execute(
        insert(Interaction)
        .values(channel="voice", direction="inbound", started_at=place, call_sid=call_sid)
        .returning(Interaction.id)
    ).scalar_one()
    effect = JoinQueue(queue=queue, node="agents", place=place)
    join(conn, call_sid=call_sid, interaction_id=interaction_id, effect=effect, at=place)
    return interaction_id


async def caller_waits(
    db: Database, call_sid: str, *, queue: str = "general", place: datetime = T0
) -> int:
    """A caller in line in ``queue`` since ``place``; returns their interaction's id."""
    return await db.write(_caller_waits, call_sid, queue, place)


async def callback_waits(
    db: Database,
    phone: str,
    *,
    queue: str = "general",
    place: datetime = T0,
    due: datetime = T0,
    kind: str = "queued",
) -> CallbackInfo:
    """A pending callback request keeping the place ``place``, due at ``due``."""
    request = CallbackRequest(
        phone=phone,
        from_number="+8215880000",
        kind=kind,
        queue=queue,
        menu_checksum="menu-checksum",
        node="agents",
        language="ko",
        requested_at=min(place, due),
        original_enqueued_at=place,
        due_at=due,
        max_attempts=3,
    )
    info, created = await db.write(open_request, request)
    assert created
    return info


def member(conn: Connection, call_sid: str) -> Any:
    """The caller's row in ``queue_members``."""
    return conn.execute(select(QueueMember).where(QueueMember.call_sid == call_sid)).one()


def callback_row(conn: Connection, callback_id: int) -> Any:
    """The request's row in ``callbacks``."""
    return conn.execute(select(Callback).where(Callback.id == callback_id)).one()


def agent_events(conn: Connection, agent_id: int) -> list[tuple[str, dict[str, Any]]]:
    """The agent's events, oldest first, as (type, payload)."""
    rows = conn.execute(
        select(AgentEvent.type, AgentEvent.payload)
        .where(AgentEvent.agent_id == agent_id)
        .order_by(AgentEvent.id)
    )
    return [(row.type, dict(row.payload)) for row in rows]


def event_types(conn: Connection, interaction_id: int) -> list[str]:
    """The types of an interaction's events, in order."""
    return list(
        conn.scalars(
            select(InteractionEvent.type)
            .where(InteractionEvent.interaction_id == interaction_id)
            .order_by(InteractionEvent.seq)
        )
    )
