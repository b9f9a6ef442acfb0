"""The agents table on both databases: adding agents, states set by hand, each change an event."""

from __future__ import annotations

import asyncio

import pytest
from line_support import T0, agent_events, minutes
from sqlalchemy import Connection

from agents import roster
from agents.roster import AgentExistsError, AgentInfo, AgentStateError
from history.db import Database
from history.models import MAX_ID


async def add(
    db: Database, name: str, address: str, queues: tuple[str, ...] = ("general",)
) -> AgentInfo:
    return await db.write(roster.add_agent, name=name, address=address, queues=queues, at=T0)


async def test_a_new_agent_is_offline_and_its_addition_recorded(db: Database) -> None:
    agent = await add(db, "김상담", "+821055550001", ("general", "sales"))

    assert agent == AgentInfo(
        id=agent.id,
        name="김상담",
        address="+821055550001",
        queues=("general", "sales"),
        state="offline",
        state_since=T0,
        busy_with=None,
    )
    assert await db.read(roster.get_agent, agent.id) == agent
    assert await db.read(agent_events, agent.id) == [
        ("agent_added", {"name": "김상담", "queues": ["general", "sales"]})
    ]


async def test_a_second_agent_with_the_same_address_is_refused(db: Database) -> None:
    first = await add(db, "first", "client:desk-1")

    with pytest.raises(AgentExistsError, match="client:desk-1"):
        await add(db, "second", "client:desk-1")

    assert await db.read(roster.list_agents) == [first]


async def test_agents_added_at_once_with_one_address_make_one_agent(db: Database) -> None:
    results = await asyncio.gather(
        *(add(db, f"agent-{n}", "+821055550001") for n in range(8)), return_exceptions=True
    )

    added = [r for r in results if isinstance(r, AgentInfo)]
    refused = [r for r in results if isinstance(r, AgentExistsError)]
    assert (len(added), len(refused)) == (1, 7), results
    assert await db.read(roster.list_agents) == added


async def test_agents_are_listed_by_id(db: Database) -> None:
    b = await add(db, "b", "client:b")
    a = await add(db, "a", "client:a")

    assert [agent.id for agent in await db.read(roster.list_agents)] == [b.id, a.id]


async def test_logging_in_makes_the_agent_available_and_records_who_did_it(db: Database) -> None:
    agent = await add(db, "agent", "client:agent")

    changed = await db.write(roster.set_state, agent.id, "available", at=minutes(3), by="admin key")

    assert changed is not None
    assert (changed.state, changed.state_since) == ("available", minutes(3))
    assert await db.read(roster.get_agent, agent.id) == changed
    assert (await db.read(agent_events, agent.id))[-1] == (
        "agent_state_changed",
        {"from": "offline", "to": "available", "reason": "set by admin key", "busy_with": None},
    )


async def test_setting_the_state_an_agent_has_changes_nothing(db: Database) -> None:
    agent = await add(db, "agent", "client:agent")
    await db.write(roster.set_state, agent.id, "available", at=minutes(1), by="test")

    again = await db.write(roster.set_state, agent.id, "available", at=minutes(5), by="test")

    assert again is not None and again.state_since == minutes(1)
    assert len(await db.read(agent_events, agent.id)) == 2


@pytest.mark.parametrize("state", ["busy", "away", ""])
async def test_busy_and_unknown_states_cannot_be_set_by_hand(db: Database, state: str) -> None:
    agent = await add(db, "agent", "client:agent")

    with pytest.raises(AgentStateError, match="state must be one of"):
        await db.write(roster.set_state, agent.id, state, at=minutes(1), by="test")

    stored = await db.read(roster.get_agent, agent.id)
    assert stored is not None and stored.state == "offline"
    assert len(await db.read(agent_events, agent.id)) == 1


def _make_busy(conn: Connection, agent_id: int) -> None:
    agent = roster.get_agent(conn, agent_id)
    assert agent is not None
    roster.transition(conn, agent, roster.BUSY, at=T0, reason="test", busy_with="call:CA-1")


@pytest.mark.parametrize("state", ["offline", "wrap_up", "available"])
async def test_a_busy_agent_keeps_the_contact_whatever_is_set(db: Database, state: str) -> None:
    agent = await add(db, "agent", "client:agent")
    await db.write(_make_busy, agent.id)

    with pytest.raises(AgentStateError, match="busy with call:CA-1"):
        await db.write(roster.set_state, agent.id, state, at=minutes(1), by="test")

    stored = await db.read(roster.get_agent, agent.id)
    assert stored is not None and (stored.state, stored.busy_with) == ("busy", "call:CA-1")


@pytest.mark.parametrize("agent_id", [0, 12345, MAX_ID, MAX_ID + 1])
async def test_an_unknown_agent_is_none(db: Database, agent_id: int) -> None:
    assert await db.read(roster.get_agent, agent_id) is None
    assert await db.write(roster.set_state, agent_id, "available", at=T0, by="test") is None


async def test_a_state_outside_the_schema_is_refused_in_transitions(db: Database) -> None:
    agent = await add(db, "agent", "client:agent")

    with pytest.raises(AgentStateError, match="unknown agent state"):
        await db.write(roster.transition, agent, "lunch", at=T0, reason="test")
