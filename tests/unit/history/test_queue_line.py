"""The queue line on both databases: joining and leaving, positions, and the expected wait."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from agents import roster
from callbacks import claim
from history import queue_line, turn_effects
from history.callback_requests import CallbackRequest, cancel, find_by_id, open_request
from history.db import Database
from history.models import Callback, Interaction, QueueMember
from history.queue_line import HANDLE_TIME_SAMPLES, JoinQueue, LeaveQueue, LinePosition

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncIterator[Database]:
    database = Database(engine)
    try:
        yield database
    finally:
        await database.close()


def _interaction(conn: Connection, call_sid: str, at: datetime) -> int:
    interaction_id: int = conn.execute(
        insert(Interaction)
        .values(channel="voice", direction="inbound", started_at=at, call_sid=call_sid)
        .returning(Interaction.id)
    ).scalar_one()
    return interaction_id


def _join(conn: Connection, call_sid: str, queue: str, place: datetime, at: datetime) -> None:
    interaction_id = conn.scalar(select(Interaction.id).where(Interaction.call_sid == call_sid))
    if interaction_id is None:
        interaction_id = _interaction(conn, call_sid, place)
    effect = JoinQueue(queue=queue, node="agents", place=place)
    queue_line.join(conn, call_sid=call_sid, interaction_id=interaction_id, effect=effect, at=at)


async def join(
    db: Database,
    call_sid: str,
    place: datetime,
    *,
    queue: str = "general",
    at: datetime | None = None,
) -> None:
    await db.write(_join, call_sid, queue, place, at or place)


async def leave(db: Database, call_sid: str, at: datetime, result: str = "hangup") -> None:
    await db.write(queue_line.leave, call_sid=call_sid, effect=LeaveQueue(result), at=at)


async def position(db: Database, call_sid: str) -> LinePosition | None:
    return await db.read(queue_line.position, call_sid, NOW)


async def places(db: Database, *call_sids: str) -> list[int | None]:
    found = [await position(db, sid) for sid in call_sids]
    return [None if p is None else p.position for p in found]


def _row(conn: Connection, call_sid: str) -> Any:
    return conn.execute(select(QueueMember).where(QueueMember.call_sid == call_sid)).one()


def _connect(conn: Connection, call_sid: str, at: datetime) -> None:
    conn.execute(
        update(QueueMember)
        .where(QueueMember.call_sid == call_sid)
        .values(status="connected", connected_at=at)
    )


async def served(
    db: Database, call_sid: str, handle: timedelta, *, queue: str = "general", ended: datetime
) -> None:
    """A caller who was in line, talked to an agent for ``handle`` and left at ``ended``."""
    await join(db, call_sid, ended - handle - timedelta(minutes=5), queue=queue)
    await db.write(_connect, call_sid, ended - handle)
    await leave(db, call_sid, ended, "bridged")


def _agent(conn: Connection, name: str, queues: Sequence[str], state: str) -> None:
    agent = roster.add_agent(conn, name=name, address=f"client:{name}", queues=queues, at=T0)
    if state != "offline":
        roster.set_state(conn, agent.id, "available", at=T0, by="test")
    if state in ("wrap_up", "busy"):
        found = roster.get_agent(conn, agent.id)
        assert found is not None
        roster.transition(conn, found, state, at=T0, reason="test", busy_with=None)


async def agent(
    db: Database, name: str, state: str = "available", queues: Sequence[str] = ("general",)
) -> None:
    await db.write(_agent, name, queues, state)


async def callback(
    db: Database,
    phone: str,
    place: datetime,
    *,
    due: datetime = T0,
    kind: str = "queued",
    queue: str = "general",
) -> int:
    request = CallbackRequest(
        phone=phone,
        from_number="+8215880000",
        kind=kind,
        queue=queue,
        menu_checksum="menu-checksum",
        node="agents",
        language="ko",
        requested_at=T0,
        original_enqueued_at=place,
        due_at=due,
        max_attempts=3,
    )
    info, created = await db.write(open_request, request)
    assert created
    return info.id


# --- joining and leaving ---------------------------------------------------------------------


async def test_a_caller_who_joins_is_waiting_at_their_place(db: Database) -> None:
    await join(db, "CA-1", minutes(2), at=minutes(3))

    row = await db.read(_row, "CA-1")
    assert (row.queue, row.node, row.status) == ("general", "agents", "waiting")
    assert (row.enqueued_at, row.updated_at, row.left_at) == (minutes(2), minutes(3), None)
    assert await position(db, "CA-1") == LinePosition(1, None)


async def test_positions_follow_the_places_in_line_of_one_queue(db: Database) -> None:
    await join(db, "CA-3", minutes(3))
    await join(db, "CA-1", minutes(1))
    await join(db, "CA-2", minutes(2))
    await join(db, "CA-sales", minutes(0), queue="sales")

    assert await places(db, "CA-1", "CA-2", "CA-3", "CA-sales") == [1, 2, 3, 1]


async def test_a_caller_who_left_is_out_of_line_and_those_behind_move_up(db: Database) -> None:
    await join(db, "CA-1", minutes(1))
    await join(db, "CA-2", minutes(2))

    await leave(db, "CA-1", minutes(4), "hangup")

    assert await places(db, "CA-1", "CA-2") == [None, 1]
    row = await db.read(_row, "CA-1")
    assert (row.status, row.left_at, row.result) == ("left", minutes(4), "hangup")


async def test_the_first_leaving_wins(db: Database) -> None:
    await join(db, "CA-1", minutes(1))

    await leave(db, "CA-1", minutes(4), "callback")
    await leave(db, "CA-1", minutes(9), "hangup")

    row = await db.read(_row, "CA-1")
    assert (row.left_at, row.result) == (minutes(4), "callback")


async def test_leaving_a_line_never_joined_changes_nothing(db: Database) -> None:
    await leave(db, "CA-nobody", minutes(4))

    assert await position(db, "CA-nobody") is None


async def test_a_caller_rejoining_takes_the_original_place_again(db: Database) -> None:
    await join(db, "CA-1", minutes(1))
    await leave(db, "CA-1", minutes(5), "callback")
    await join(db, "CA-2", minutes(6))

    await join(db, "CA-1", minutes(1), at=minutes(20))  # called back, keeping the place

    assert await places(db, "CA-1", "CA-2") == [1, 2]
    row = await db.read(_row, "CA-1")
    assert (row.status, row.enqueued_at, row.updated_at) == ("waiting", minutes(1), minutes(20))
    assert (row.left_at, row.result, row.agent_id, row.connected_at) == (None, None, None, None)


async def test_callers_being_connected_to_an_agent_are_not_ahead(db: Database) -> None:
    await join(db, "CA-1", minutes(1))
    await join(db, "CA-2", minutes(2))
    await db.write(_connect, "CA-1", minutes(3))

    assert await places(db, "CA-1", "CA-2") == [None, 1]


# --- callbacks keeping their place -----------------------------------------------------------


async def test_due_queued_callbacks_with_an_older_place_are_ahead(db: Database) -> None:
    await callback(db, "+821000000001", minutes(1))  # due, older: ahead
    await callback(db, "+821000000002", minutes(2), due=NOW)  # due just now: ahead
    await callback(db, "+821000000003", minutes(3), kind="scheduled")  # a booked slot
    await callback(db, "+821000000004", minutes(4), due=NOW + timedelta(seconds=1))  # not yet
    await callback(db, "+821000000005", minutes(5), queue="sales")  # another queue
    await callback(db, "+821000000006", minutes(20))  # a younger place
    await join(db, "CA-1", minutes(10))

    assert await places(db, "CA-1") == [3]


async def test_a_callback_being_dialled_or_cancelled_is_not_ahead(db: Database) -> None:
    first = await callback(db, "+821000000001", minutes(1))
    await db.write(claim.claim_due, now=T0, instance="test", limit=1)
    cancelled = await callback(db, "+821000000002", minutes(2))
    assert await db.write(cancel, cancelled, at=T0, by="caller")
    await join(db, "CA-1", minutes(10))

    stored = await db.read(find_by_id, first)
    assert stored is not None and stored.status == "dialing"
    assert await places(db, "CA-1") == [1]


# --- expected wait ---------------------------------------------------------------------------


async def test_no_expected_wait_without_handle_times(db: Database) -> None:
    await agent(db, "agent")
    await join(db, "CA-1", minutes(1))

    assert await position(db, "CA-1") == LinePosition(1, None)


async def test_no_expected_wait_without_logged_in_agents(db: Database) -> None:
    await served(db, "CA-old", timedelta(seconds=90), ended=minutes(30))
    await agent(db, "gone", "offline")
    await agent(db, "elsewhere", queues=["sales"])
    await join(db, "CA-1", minutes(31))

    assert await position(db, "CA-1") == LinePosition(1, None)


async def test_the_expected_wait_shares_the_mean_handle_time_among_logged_in_agents(
    db: Database,
) -> None:
    await served(db, "CA-old-1", timedelta(seconds=60), ended=minutes(20))
    await served(db, "CA-old-2", timedelta(seconds=121), ended=minutes(21))
    await served(db, "CA-sales", timedelta(seconds=900), queue="sales", ended=minutes(22))
    for name, state in (("a", "available"), ("b", "wrap_up"), ("c", "busy"), ("d", "offline")):
        await agent(db, name, state)
    await agent(db, "sales-only", queues=["sales"])
    for n in range(1, 5):
        await join(db, f"CA-{n}", minutes(30 + n))

    found = [await position(db, f"CA-{n}") for n in range(1, 5)]

    mean = (60 + 121) / 2
    assert found == [LinePosition(n, math.ceil(n * mean / 3)) for n in range(1, 5)]
    assert [p.expected_seconds for p in found if p is not None] == [31, 61, 91, 121]


async def test_only_the_most_recent_handle_times_count(db: Database) -> None:
    await served(db, "CA-long-ago", timedelta(hours=1), ended=minutes(1))
    for n in range(HANDLE_TIME_SAMPLES):
        await served(db, f"CA-{n:02}", timedelta(seconds=40), ended=minutes(10 + n))
    await agent(db, "agent")
    await join(db, "CA-now", minutes(45))

    assert await position(db, "CA-now") == LinePosition(1, 40)


# --- turn effects ----------------------------------------------------------------------------


async def test_a_turn_joins_the_line_and_records_a_callback_as_its_child(db: Database) -> None:
    interaction_id = await db.write(_interaction, "CA-1", minutes(1))
    request = CallbackRequest(
        phone="+821000000001",
        from_number="+8215880000",
        kind="queued",
        queue="general",
        menu_checksum="menu-checksum",
        node="agents",
        language="ko",
        requested_at=minutes(4),
        original_enqueued_at=minutes(1),
        due_at=minutes(4),
        max_attempts=3,
    )
    effects: tuple[turn_effects.TurnEffect, ...] = (
        JoinQueue("general", "agents", minutes(1)),
        LeaveQueue("callback"),
        turn_effects.RequestCallback(request),
    )

    await db.write(
        turn_effects.apply,
        call_sid="CA-1",
        interaction_id=interaction_id,
        effects=effects,
        at=minutes(4),
    )

    row = await db.read(_row, "CA-1")
    assert (row.status, row.result, row.enqueued_at) == ("left", "callback", minutes(1))
    parent = await db.read(_parent_of_callback, "+821000000001")
    assert parent == interaction_id


async def test_a_turn_cancels_the_callers_open_callback(db: Database) -> None:
    callback_id = await callback(db, "+821000000001", minutes(1))
    interaction_id = await db.write(_interaction, "CA-1", minutes(1))

    await db.write(
        turn_effects.apply,
        call_sid="CA-1",
        interaction_id=interaction_id,
        effects=(turn_effects.CancelCallback(callback_id),),
        at=minutes(4),
    )

    stored = await db.read(find_by_id, callback_id)
    assert stored is not None
    assert (stored.status, stored.last_result) == ("cancelled", "cancelled by caller")


def _parent_of_callback(conn: Connection, phone: str) -> int | None:
    return conn.scalar(
        select(Interaction.parent_id)
        .join(Callback, Callback.interaction_id == Interaction.id)
        .where(Callback.phone == phone)
    )
