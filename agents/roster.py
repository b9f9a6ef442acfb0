"""The agents table: add agents, change their state (each change an event), read them back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, Row, insert, select, update

from history.db import insert_or_ignore
from history.models import AGENT_STATES, MAX_ID, Agent, AgentEvent

AVAILABLE: Final = "available"
BUSY: Final = "busy"
WRAP_UP: Final = "wrap_up"
OFFLINE: Final = "offline"

# What an agent (or a supervisor for them) may set by hand. ``busy`` is the dispatcher's to
# set: an agent cannot claim a contact by declaring themselves busy.
SETTABLE_STATES: Final = frozenset({AVAILABLE, WRAP_UP, OFFLINE})


class AgentExistsError(ValueError):
    """Another agent already has this address."""


class AgentStateError(ValueError):
    """A state change that is not allowed (unknown state, or ``busy`` set by hand)."""


@dataclass(frozen=True, slots=True)
class AgentInfo:
    """An agent as stored."""

    id: int
    name: str
    address: str
    queues: tuple[str, ...]
    state: str
    state_since: datetime
    busy_with: str | None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, times in ISO 8601."""
        return {
            "id": self.id,
            "name": self.name,
            "address": self.address,
            "queues": list(self.queues),
            "state": self.state,
            "state_since": self.state_since.isoformat(),
            "busy_with": self.busy_with,
        }


_COLUMNS: Final[tuple[Any, ...]] = (
    Agent.id,
    Agent.name,
    Agent.address,
    Agent.queues,
    Agent.state,
    Agent.state_since,
    Agent.busy_with,
)


def agent_info(row: Row[Any]) -> AgentInfo:
    """An :class:`AgentInfo` from a row selected with the roster's columns."""
    m = row._mapping
    return AgentInfo(
        id=m["id"],
        name=m["name"],
        address=m["address"],
        queues=tuple(m["queues"]),
        state=m["state"],
        state_since=m["state_since"],
        busy_with=m["busy_with"],
    )


def add_agent(
    conn: Connection, *, name: str, address: str, queues: Sequence[str], at: datetime
) -> AgentInfo:
    """Add an agent, offline until they log in.

    Raises:
        AgentExistsError: Another agent has ``address``.

    """
    values = {
        "name": name,
        "address": address,
        "queues": list(queues),
        "state": OFFLINE,
        "state_since": at,
        "created_at": at,
        "updated_at": at,
    }
    # The unique address settles a race between two requests: the loser inserts nothing (on
    # PostgreSQL a plain insert would fail the loser's transaction with a unique violation).
    agent_id = conn.scalar(
        insert_or_ignore(conn.dialect, Agent, values, unique=["address"]).returning(Agent.id)
    )
    if agent_id is None:
        raise AgentExistsError(f"an agent already has address {address}")
    record(conn, agent_id, "agent_added", {"name": name, "queues": list(queues)}, at)
    found = get_agent(conn, agent_id)
    assert found is not None
    return found


def get_agent(conn: Connection, agent_id: int) -> AgentInfo | None:
    """The agent ``agent_id``, or None."""
    if not 0 < agent_id <= MAX_ID:
        return None
    row = conn.execute(select(*_COLUMNS).where(Agent.id == agent_id)).first()
    return None if row is None else agent_info(row)


def list_agents(conn: Connection) -> list[AgentInfo]:
    """Every agent, by id."""
    return [agent_info(row) for row in conn.execute(select(*_COLUMNS).order_by(Agent.id))]


def set_state(
    conn: Connection, agent_id: int, state: str, *, at: datetime, by: str
) -> AgentInfo | None:
    """Set an agent's state by hand (log in: available; log out: offline; wrap-up).

    Setting the state an agent already has changes nothing (no event). An agent who is busy
    with a contact keeps it: only the contact's end frees them.

    Returns:
        The agent after the change, or None for an unknown agent.

    Raises:
        AgentStateError: ``state`` is not one an agent may set, or the agent is busy.

    """
    if state not in SETTABLE_STATES:
        allowed = ", ".join(sorted(SETTABLE_STATES))
        raise AgentStateError(f"state must be one of {allowed}, not {state!r}")
    agent = get_agent(conn, agent_id)
    if agent is None or agent.state == state:
        return agent
    if agent.state == BUSY:
        raise AgentStateError(f"agent {agent_id} is busy with {agent.busy_with}")
    return transition(conn, agent, state, at=at, reason=f"set by {by}")


def transition(
    conn: Connection,
    agent: AgentInfo,
    state: str,
    *,
    at: datetime,
    reason: str,
    busy_with: str | None = None,
) -> AgentInfo:
    """Move ``agent`` (as read in this transaction) to ``state`` and record the change."""
    if state not in AGENT_STATES:
        raise AgentStateError(f"unknown agent state {state!r}")
    conn.execute(
        update(Agent)
        .where(Agent.id == agent.id)
        .values(state=state, state_since=at, busy_with=busy_with, updated_at=at)
    )
    record(
        conn,
        agent.id,
        "agent_state_changed",
        {"from": agent.state, "to": state, "reason": reason, "busy_with": busy_with},
        at,
    )
    return AgentInfo(
        id=agent.id,
        name=agent.name,
        address=agent.address,
        queues=agent.queues,
        state=state,
        state_since=at,
        busy_with=busy_with,
    )


def end_wrap_ups(conn: Connection, *, now: datetime, wrap_up: timedelta) -> int:
    """Make agents whose wrap-up has lasted ``wrap_up`` available again; returns how many."""
    rows = conn.execute(
        select(*_COLUMNS)
        .where(Agent.state == WRAP_UP, Agent.state_since <= now - wrap_up)
        .with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        transition(conn, agent_info(row), AVAILABLE, at=now, reason="wrap-up over")
    return len(rows)


def record(
    conn: Connection, agent_id: int, what: str, payload: Mapping[str, Any], at: datetime
) -> None:
    """Append an agent event."""
    conn.execute(
        insert(AgentEvent).values(agent_id=agent_id, at=at, type=what, payload=dict(payload))
    )
