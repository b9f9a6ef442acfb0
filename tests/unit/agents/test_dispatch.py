"""The ACD claim on both databases: the longest-idle agent gets the longest-waiting contact."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

import pytest
from line_support import (
    T0,
    agent_available,
    agent_events,
    callback_row,
    callback_waits,
    caller_waits,
    event_types,
    member,
    minutes,
)
from sqlalchemy import Connection, select

from agents import dispatch, outcomes, roster
from agents.dispatch import Assignment
from history.db import Database, create_engine
from history.models import Agent, AgentEvent, Callback, QueueMember

NOW = minutes(30)
"""When the tests dispatch: every place in line below is before it."""


async def assign(
    db: Database, *, at: timedelta = timedelta(0), callbacks: bool = True, limit: int = 50
) -> list[Assignment]:
    return await db.write(
        dispatch.assign, now=NOW + at, instance="one", callbacks=callbacks, limit=limit
    )


def pairs(made: list[Assignment]) -> list[tuple[str, str]]:
    return [(a.agent.name, a.contact.label) for a in made]


async def test_the_longest_idle_agent_gets_the_longest_waiting_caller(db: Database) -> None:
    await agent_available(db, "recent", since=minutes(5))
    await agent_available(db, "idle", since=minutes(1))
    await caller_waits(db, "CA-late", place=minutes(3))
    await caller_waits(db, "CA-early", place=minutes(2))

    first = await assign(db, limit=1)
    second = await assign(db, limit=1)

    assert pairs(first) == [("idle", "call:CA-early")]
    assert pairs(second) == [("recent", "call:CA-late")]


async def test_one_batch_pairs_agents_and_contacts_in_order(db: Database) -> None:
    await agent_available(db, "second", since=minutes(2))
    await agent_available(db, "first", since=minutes(1))
    await agent_available(db, "third", since=minutes(3))
    await caller_waits(db, "CA-2", place=minutes(12))
    await caller_waits(db, "CA-1", place=minutes(11))

    made = await assign(db)

    assert pairs(made) == [("first", "call:CA-1"), ("second", "call:CA-2")]


async def test_a_due_callback_older_than_the_waiting_caller_goes_first(db: Database) -> None:
    await agent_available(db, "agent")
    await caller_waits(db, "CA-1", place=minutes(5))
    request = await callback_waits(db, "+821000000001", place=minutes(2), due=minutes(10))

    [given] = await assign(db, limit=1)

    assert given.contact.kind == dispatch.CALLBACK
    assert given.contact.callback_id == request.id
    assert given.contact.place == minutes(2)
    assert given.contact.label == f"callback:{request.id}:1"


async def test_a_waiting_caller_older_than_a_due_callback_goes_first(db: Database) -> None:
    await agent_available(db, "agent")
    await caller_waits(db, "CA-1", place=minutes(1))
    await callback_waits(db, "+821000000001", place=minutes(2), due=minutes(10))

    assert pairs(await assign(db, limit=1)) == [("agent", "call:CA-1")]


async def test_a_callback_not_yet_due_waits_even_with_an_older_place(db: Database) -> None:
    await agent_available(db, "agent")
    request = await callback_waits(db, "+821000000001", place=minutes(0), due=minutes(60))

    assert await assign(db) == []
    await caller_waits(db, "CA-1", place=minutes(5))
    assert pairs(await assign(db)) == [("agent", "call:CA-1")]

    await agent_available(db, "second", since=minutes(40))
    [later] = await assign(db, at=timedelta(minutes=30))  # now the request is due
    assert later.contact.callback_id == request.id


async def test_agents_get_only_contacts_of_the_queues_they_serve(db: Database) -> None:
    await agent_available(db, "sales", queues=["sales"], since=minutes(1))
    await agent_available(db, "general", queues=["general"], since=minutes(2))
    await caller_waits(db, "CA-general", queue="general", place=minutes(3))
    await callback_waits(db, "+821000000001", queue="general", place=minutes(4))
    await caller_waits(db, "CA-sales", queue="sales", place=minutes(5))

    made = await assign(db)

    assert pairs(made) == [("sales", "call:CA-sales"), ("general", "call:CA-general")]
    assert await assign(db) == []


async def test_an_agent_without_queues_gets_nothing(db: Database) -> None:
    await agent_available(db, "nobody", queues=[])
    await caller_waits(db, "CA-1")

    assert await assign(db) == []


@pytest.mark.parametrize("state", ["offline", "wrap_up", "busy"])
async def test_an_agent_who_is_not_available_gets_nothing(db: Database, state: str) -> None:
    agent = await agent_available(db, "agent")
    if state == "busy":
        await caller_waits(db, "CA-first", place=minutes(-1))
        assert len(await assign(db)) == 1
    else:
        await db.write(roster.set_state, agent.id, state, at=minutes(1), by="test")
    await caller_waits(db, "CA-1")
    await callback_waits(db, "+821000000001")

    assert await assign(db) == []
    assert (await db.read(member, "CA-1")).status == "waiting"


async def test_without_callbacks_no_callback_is_handed_out(db: Database) -> None:
    await agent_available(db, "first", since=minutes(1))
    await agent_available(db, "second", since=minutes(2))
    request = await callback_waits(db, "+821000000001", place=minutes(0))
    await caller_waits(db, "CA-1", place=minutes(5))

    made = await assign(db, callbacks=False)

    assert pairs(made) == [("first", "call:CA-1")]
    row = await db.read(callback_row, request.id)
    assert (row.status, row.attempts, row.agent_id) == ("pending", 0, None)


async def test_an_assigned_caller_is_connecting_and_the_agent_busy(db: Database) -> None:
    agent = await agent_available(db, "agent")
    interaction_id = await caller_waits(db, "CA-1", place=minutes(3))

    [given] = await assign(db)

    assert (given.agent.state, given.agent.busy_with) == ("busy", "call:CA-1")
    row = await db.read(member, "CA-1")
    assert (row.status, row.agent_id, row.claimed_at) == ("connecting", agent.id, NOW)
    assert row.enqueued_at == minutes(3)
    stored = await db.read(roster.get_agent, agent.id)
    assert stored == given.agent
    assert stored is not None and stored.state_since == NOW
    *_, (kind, payload) = await db.read(agent_events, agent.id)
    assert kind == "agent_state_changed"
    assert payload == {
        "from": "available",
        "to": "busy",
        "reason": "contact offered",
        "busy_with": "call:CA-1",
    }
    assert "queue_offered" in await db.read(event_types, interaction_id)


async def test_an_assigned_callback_is_dialing_with_its_attempt_counted(db: Database) -> None:
    agent = await agent_available(db, "agent")
    request = await callback_waits(db, "+821000000001", place=minutes(2))

    [given] = await assign(db)

    contact = given.contact
    assert (contact.attempt, contact.phone, contact.queue) == (1, "+821000000001", "general")
    assert contact.from_number == "+8215880000"
    row = await db.read(callback_row, request.id)
    assert (row.status, row.attempts, row.claimed_by, row.claimed_at) == ("dialing", 1, "one", NOW)
    assert (row.agent_id, row.call_sid) == (agent.id, None)
    assert given.agent.busy_with == f"callback:{request.id}:1"
    assert "callback_claimed" in await db.read(event_types, request.interaction_id)


async def test_a_released_caller_keeps_their_place_and_the_agent_is_logged_out(
    db: Database,
) -> None:
    missing = await agent_available(db, "missing", since=minutes(1))
    interaction_id = await caller_waits(db, "CA-early", place=minutes(2))
    [given] = await assign(db)
    await caller_waits(db, "CA-late", place=minutes(20))

    assert await db.write(outcomes.release, given, at=NOW, reason="no-answer")

    row = await db.read(member, "CA-early")
    assert (row.status, row.agent_id, row.claimed_at) == ("waiting", None, None)
    assert row.enqueued_at == minutes(2)
    gone = await db.read(roster.get_agent, missing.id)
    assert gone is not None and (gone.state, gone.busy_with) == ("offline", None)
    *_, (_, payload) = await db.read(agent_events, missing.id)
    assert payload["reason"] == "missed a contact: no-answer"
    assert "queue_offer_missed" in await db.read(event_types, interaction_id)

    await agent_available(db, "next", since=minutes(25))
    assert pairs(await assign(db)) == [("next", "call:CA-early")]


async def test_a_released_callback_attempt_is_not_counted(db: Database) -> None:
    await agent_available(db, "missing")
    request = await callback_waits(db, "+821000000001")
    [given] = await assign(db)

    assert await db.write(outcomes.release, given, at=NOW, reason="busy")

    row = await db.read(callback_row, request.id)
    assert (row.status, row.attempts, row.due_at, row.claimed_by) == ("pending", 0, NOW, None)
    await agent_available(db, "next", since=minutes(25))
    [again] = await assign(db)
    assert again.contact.callback_id == request.id and again.contact.attempt == 1


async def test_releasing_a_contact_the_agent_moved_on_from_changes_nothing(db: Database) -> None:
    agent = await agent_available(db, "agent")
    await caller_waits(db, "CA-1")
    [given] = await assign(db)
    assert await db.write(outcomes.connected, given, at=NOW)
    assert await db.write(outcomes.finished, agent.id, "call:CA-1", at=NOW, wrap_up=True)

    assert not await db.write(outcomes.release, given, at=NOW, reason="no-answer")

    stored = await db.read(roster.get_agent, agent.id)
    assert stored is not None and stored.state == "wrap_up"
    assert (await db.read(member, "CA-1")).status == "connected"


async def test_connected_marks_the_caller_connected(db: Database) -> None:
    await agent_available(db, "agent")
    interaction_id = await caller_waits(db, "CA-1")
    [given] = await assign(db)

    assert await db.write(outcomes.connected, given, at=NOW + timedelta(seconds=9))

    row = await db.read(member, "CA-1")
    assert (row.status, row.connected_at) == ("connected", NOW + timedelta(seconds=9))
    assert "agent_connected" in await db.read(event_types, interaction_id)


@pytest.mark.parametrize(("wrap_up", "after"), [(True, "wrap_up"), (False, "available")])
async def test_a_finished_contact_leaves_the_agent_in_wrap_up_or_available(
    db: Database, wrap_up: bool, after: str
) -> None:
    agent = await agent_available(db, "agent")
    await caller_waits(db, "CA-1")
    await assign(db)

    assert await db.write(outcomes.finished, agent.id, "call:CA-1", at=NOW, wrap_up=wrap_up)

    stored = await db.read(roster.get_agent, agent.id)
    assert stored is not None and (stored.state, stored.busy_with) == (after, None)
    *_, (_, payload) = await db.read(agent_events, agent.id)
    assert (payload["from"], payload["to"], payload["reason"]) == ("busy", after, "call:CA-1 ended")


async def test_a_finish_report_for_another_contact_changes_nothing(db: Database) -> None:
    agent = await agent_available(db, "agent")
    await caller_waits(db, "CA-1")
    await assign(db)

    assert not await db.write(outcomes.finished, agent.id, "call:CA-other", at=NOW, wrap_up=True)
    assert not await db.write(outcomes.finished, agent.id + 1, "call:CA-1", at=NOW, wrap_up=True)

    stored = await db.read(roster.get_agent, agent.id)
    assert stored is not None and (stored.state, stored.busy_with) == ("busy", "call:CA-1")


async def test_wrap_up_ends_after_the_wrap_up_time(db: Database) -> None:
    agent = await agent_available(db, "agent")
    await caller_waits(db, "CA-1")
    await assign(db)
    await db.write(outcomes.finished, agent.id, "call:CA-1", at=NOW, wrap_up=True)
    wrap_up = timedelta(seconds=60)

    early = await db.write(roster.end_wrap_ups, now=NOW + timedelta(seconds=59), wrap_up=wrap_up)
    on_time = await db.write(roster.end_wrap_ups, now=NOW + timedelta(seconds=60), wrap_up=wrap_up)

    assert (early, on_time) == (0, 1)
    stored = await db.read(roster.get_agent, agent.id)
    assert stored is not None
    assert (stored.state, stored.state_since) == ("available", NOW + timedelta(seconds=60))
    *_, (_, payload) = await db.read(agent_events, agent.id)
    assert payload["reason"] == "wrap-up over"


async def test_the_limit_counts_assignments_not_idle_agents(db: Database) -> None:
    # Agents idle longest in a quiet queue must not hide a later agent whose queue has callers.
    for n in range(3):
        await agent_available(db, f"quiet-{n}", queues=["sales"], since=minutes(n))
    await agent_available(db, "both", queues=["sales", "general"], since=minutes(10))
    await caller_waits(db, "CA-1")

    assert pairs(await assign(db, limit=2)) == [("both", "call:CA-1")]


async def test_contact_of_finds_the_agents_current_assignment_only(db: Database) -> None:
    agent = await agent_available(db, "agent")
    request = await callback_waits(db, "+821000000001")
    [given] = await assign(db)
    label = given.contact.label

    found = await db.write(outcomes.contact_of, agent.id, label, at=NOW + timedelta(seconds=5))

    assert found == given
    row = await db.read(callback_row, request.id)
    assert row.updated_at == NOW + timedelta(seconds=5)
    at = NOW
    assert await db.write(outcomes.contact_of, agent.id, f"callback:{request.id}:2", at=at) is None
    assert await db.write(outcomes.contact_of, agent.id, "call:CA-none", at=at) is None


async def test_agents_are_ready_when_available_or_wrapping_up(db: Database) -> None:
    assert not await db.read(dispatch.agents_ready)
    agent = await agent_available(db, "agent")
    assert await db.read(dispatch.agents_ready)
    await db.write(roster.set_state, agent.id, "offline", at=T0, by="test")
    assert not await db.read(dispatch.agents_ready)

    await db.write(roster.set_state, agent.id, "wrap_up", at=T0, by="test")

    assert await db.read(dispatch.agents_ready)


# --- two dispatchers on one database ---------------------------------------------------------

AGENTS = 30
CALLERS = 150
CALLBACKS = 50


def _state_changes(conn: Connection) -> dict[int, list[dict[str, object]]]:
    rows = conn.execute(
        select(AgentEvent.agent_id, AgentEvent.payload)
        .where(AgentEvent.type == "agent_state_changed")
        .order_by(AgentEvent.id)
    )
    changes: dict[int, list[dict[str, object]]] = {}
    for row in rows:
        changes.setdefault(row.agent_id, []).append(dict(row.payload))
    return changes


def _given_contacts(conn: Connection) -> dict[str, int | None]:
    members = conn.execute(select(QueueMember.call_sid, QueueMember.status, QueueMember.agent_id))
    callbacks = conn.execute(
        select(Callback.id, Callback.status, Callback.attempts, Callback.agent_id)
    )
    given = {f"call:{m.call_sid}": m.agent_id for m in members if m.status == "connecting"}
    given |= {
        f"callback:{c.id}:{c.attempts}": c.agent_id
        for c in callbacks
        if (c.status, c.attempts) == ("dialing", 1)
    }
    return given


async def _dispatch_until_idle(db: Database, instance: str) -> list[Assignment]:
    given: list[Assignment] = []
    idle = 0
    while idle < 3:
        made = await db.write(dispatch.assign, now=NOW, instance=instance, callbacks=True, limit=7)
        given += made
        idle = 0 if made else idle + 1
        await asyncio.gather(
            *(
                db.write(outcomes.finished, a.agent.id, a.contact.label, at=NOW, wrap_up=False)
                for a in made
            )
        )
    return given


async def test_two_dispatchers_never_give_a_contact_twice_nor_an_agent_two_at_once(
    migrated: str,
) -> None:
    engines = [create_engine(migrated), create_engine(migrated)]
    dbs = [Database(engine) for engine in engines]
    try:
        setup = dbs[0]
        for n in range(AGENTS):
            queues = ["general"] if n % 3 else ["general", "sales"]
            await agent_available(setup, f"agent-{n:02}", queues=queues, since=T0 + timedelta(n))
        for n in range(CALLERS):
            queue = "sales" if n % 5 == 0 else "general"
            await caller_waits(setup, f"CA-{n:03}", queue=queue, place=minutes(n / 10))
        for n in range(CALLBACKS):
            await callback_waits(setup, f"+8210000{n:05}", place=minutes(n / 5 + 0.01))

        runs = [_dispatch_until_idle(db, f"instance-{i}") for i, db in enumerate(dbs * 2)]
        batches = await asyncio.gather(*runs)
        rest = await _dispatch_until_idle(setup, "sweeper")

        made = [a for batch in [*batches, rest] for a in batch]
        labels = [a.contact.label for a in made]
        assert len(labels) == len(set(labels)) == CALLERS + CALLBACKS
        assert sum(map(len, batches)) > len(rest)
        given = await setup.read(_given_contacts)
        assert given == {a.contact.label: a.agent.id for a in made}
        for agent_id, changes in (await setup.read(_state_changes)).items():
            # Each change starts from the state the previous one ended in: an agent is never
            # made busy twice without being freed in between.
            for before, after in itertools.pairwise(changes):
                assert after["from"] == before["to"], (agent_id, before, after)
        busy_with = [
            c["busy_with"]
            for changes in (await setup.read(_state_changes)).values()
            for c in changes
            if c["to"] == "busy"
        ]
        assert sorted(busy_with) == sorted(labels)  # type: ignore[type-var]
        assert await setup.read(_agents_in, "available") == AGENTS
    finally:
        for db in dbs:
            await db.close()
        for engine in engines:
            await engine.dispose()


def _agents_in(conn: Connection, state: str) -> int:
    return len(conn.execute(select(Agent.id).where(Agent.state == state)).all())
