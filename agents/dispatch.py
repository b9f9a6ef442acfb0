"""The ACD claim: pair each longest-idle available agent with the longest-waiting contact.

One writing transaction takes available agents (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
write lock of ``BEGIN IMMEDIATE`` on SQLite), and for each the oldest contact of the queues
they serve: a caller waiting in a queue (``queue_members``) or a due callback (``callbacks``),
compared by their place in line (``enqueued_at`` / ``original_enqueued_at``), so a callback
keeps its turn among live callers. Both sides are marked in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, select, update

from agents.roster import AVAILABLE, BUSY, WRAP_UP, AgentInfo, agent_info, transition
from callbacks import claim
from history import event_log
from history.models import Agent, Callback, QueueMember
from history.records import NewEvent

CALL: Final = "call"
CALLBACK: Final = "callback"

WAITING: Final = "waiting"
CONNECTING: Final = "connecting"
CONNECTED: Final = "connected"
LEFT: Final = "left"


@dataclass(frozen=True, slots=True)
class Contact:
    """What an agent is given: a waiting caller or a callback attempt.

    Attributes:
        kind: ``call`` or ``callback``.
        queue: The queue it waited in.
        node: The menu node it came from (its ``after_agent`` follows the conversation).
        place: Its place in line (when it began waiting, or the original request's).
        interaction_id: The history it belongs to.
        call_sid: The waiting caller's CallSid (``call``).
        callback_id: The request (``callback``).
        attempt: The callback attempt (``callback``).
        phone: The number to ring (``callback``).
        from_number: The number the callback comes from (``callback``).

    """

    kind: str
    queue: str
    node: str
    place: datetime
    interaction_id: int
    call_sid: str | None = None
    callback_id: int | None = None
    attempt: int | None = None
    phone: str | None = None
    from_number: str | None = None

    @property
    def label(self) -> str:
        """How the agent row names it (``busy_with``): ``call:<sid>`` or ``callback:<id>:<n>``."""
        if self.kind == CALL:
            return f"{CALL}:{self.call_sid}"
        return f"{CALLBACK}:{self.callback_id}:{self.attempt}"


@dataclass(frozen=True, slots=True)
class Assignment:
    """An agent and the contact they were just given."""

    agent: AgentInfo
    contact: Contact


def assign(
    conn: Connection, *, now: datetime, instance: str, callbacks: bool, limit: int
) -> list[Assignment]:
    """Give waiting contacts to available agents, longest idle and longest waiting first.

    Args:
        conn: A connection in a writing transaction.
        now: The current instant (due callbacks are those due at or before it).
        instance: Who dispatches (a callback's ``claimed_by``).
        callbacks: Also hand out due callbacks (agent-first mode).
        limit: At most this many assignments.

    """
    # Every available agent is a candidate, not only the first ``limit``: idle agents of quiet
    # queues must not hide a later agent whose queue has callers waiting.
    agents = conn.execute(
        select(*_AGENT_COLUMNS)
        .where(Agent.state == AVAILABLE)
        .order_by(Agent.state_since, Agent.id)
        .with_for_update(skip_locked=True)
    ).all()
    made: list[Assignment] = []
    # Queues found with nothing to hand out: an agent serving only those is not asked again.
    empty: set[str] = set()
    for row in agents:
        if len(made) >= limit:
            break
        agent = agent_info(row)
        if empty.issuperset(agent.queues):
            continue
        contact = _oldest_contact(conn, agent, now, callbacks=callbacks)
        if contact is None:
            empty.update(agent.queues)
            continue
        contact = _take(conn, contact, agent, now, instance)
        busy = transition(
            conn, agent, BUSY, at=now, reason="contact offered", busy_with=contact.label
        )
        made.append(Assignment(busy, contact))
    return made


_AGENT_COLUMNS: Final[tuple[Any, ...]] = (
    Agent.id,
    Agent.name,
    Agent.address,
    Agent.queues,
    Agent.state,
    Agent.state_since,
    Agent.busy_with,
)


def busy_with(conn: Connection, agent_id: int, label: str) -> AgentInfo | None:
    """The agent, locked, if they are still busy with the contact ``label``."""
    row = conn.execute(
        select(*_AGENT_COLUMNS)
        .where(Agent.id == agent_id, Agent.state == BUSY, Agent.busy_with == label)
        .with_for_update()
    ).first()
    return None if row is None else agent_info(row)


def _oldest_contact(
    conn: Connection, agent: AgentInfo, now: datetime, *, callbacks: bool
) -> Contact | None:
    if not agent.queues:
        return None
    queues = list(agent.queues)
    member = conn.execute(
        select(
            QueueMember.call_sid,
            QueueMember.queue,
            QueueMember.node,
            QueueMember.enqueued_at,
            QueueMember.interaction_id,
        )
        .where(QueueMember.status == WAITING, QueueMember.queue.in_(queues))
        .order_by(QueueMember.enqueued_at, QueueMember.call_sid)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    waiting = (
        None
        if member is None
        else Contact(
            kind=CALL,
            queue=member.queue,
            node=member.node,
            place=member.enqueued_at,
            interaction_id=member.interaction_id,
            call_sid=member.call_sid,
        )
    )
    if not callbacks:
        return waiting
    due = conn.execute(
        select(
            Callback.id,
            Callback.queue,
            Callback.node,
            Callback.original_enqueued_at,
            Callback.interaction_id,
            Callback.phone,
            Callback.from_number,
            Callback.attempts,
        )
        .where(Callback.status == claim.PENDING, Callback.due_at <= now, Callback.queue.in_(queues))
        .order_by(Callback.original_enqueued_at, Callback.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if due is None or (waiting is not None and waiting.place <= due.original_enqueued_at):
        return waiting
    return Contact(
        kind=CALLBACK,
        queue=due.queue,
        node=due.node,
        place=due.original_enqueued_at,
        interaction_id=due.interaction_id,
        callback_id=due.id,
        attempt=due.attempts + 1,
        phone=due.phone,
        from_number=due.from_number,
    )


def _take(
    conn: Connection, contact: Contact, agent: AgentInfo, now: datetime, instance: str
) -> Contact:
    if contact.kind == CALL:
        conn.execute(
            update(QueueMember)
            .where(QueueMember.call_sid == contact.call_sid)
            .values(status=CONNECTING, agent_id=agent.id, claimed_at=now, updated_at=now)
        )
        note(conn, contact, "queue_offered", {"agent_id": agent.id, "agent": agent.name}, now)
        return contact
    conn.execute(
        update(Callback)
        .where(Callback.id == contact.callback_id)
        .values(
            status=claim.DIALING,
            attempts=Callback.attempts + 1,
            claimed_by=instance,
            claimed_at=now,
            call_sid=None,
            agent_id=agent.id,
            agent_call_sid=None,
            updated_at=now,
        )
    )
    payload = {
        "callback_id": contact.callback_id,
        "attempt": contact.attempt,
        "instance": instance,
        "agent_id": agent.id,
    }
    # No key: an attempt returned uncounted is claimed again, and both claims belong in history.
    event = NewEvent("callback_claimed", payload, now)
    event_log.append(conn, contact.interaction_id, [event])
    return contact


def note(
    conn: Connection, contact: Contact, what: str, payload: dict[str, Any], at: datetime
) -> None:
    """Append ``what`` to the contact's history (once per contact, agent and moment)."""
    key = f"{what}:{contact.label}:{payload.get('agent_id')}:{at.isoformat()}"
    event_log.append(conn, contact.interaction_id, [NewEvent(what, payload, at, key=key)])


def agents_ready(conn: Connection) -> bool:
    """Whether any agent is available or wrapping up (else no dispatch can assign anything)."""
    found = conn.scalar(select(Agent.id).where(Agent.state.in_((AVAILABLE, WRAP_UP))).limit(1))
    return found is not None
