"""What becomes of an assignment: the contact brought, the agent's leg over, or undone.

Each function runs inside one writing transaction and changes nothing unless the agent is
still busy with the contact it names (a repeated or late webhook is a no-op).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from agents.dispatch import (
    CALL,
    CALLBACK,
    CONNECTED,
    CONNECTING,
    WAITING,
    Assignment,
    Contact,
    busy_with,
    note,
)
from agents.roster import AVAILABLE, OFFLINE, WRAP_UP, transition
from callbacks import claim
from history.models import Callback, QueueMember


def release(conn: Connection, assignment: Assignment, *, at: datetime, reason: str) -> bool:
    """Undo an assignment whose agent never took it: the contact goes back in line, unchanged.

    The agent is logged out (an agent who does not answer is not at their phone); a waiting
    caller keeps their place; a callback attempt that never rang the customer is not counted.

    Returns:
        False when the agent had moved on from this contact already (nothing changed).

    """
    agent = busy_with(conn, assignment.agent.id, assignment.contact.label)
    if agent is None:
        return False
    contact = assignment.contact
    if contact.kind == CALL:
        conn.execute(
            update(QueueMember)
            .where(QueueMember.call_sid == contact.call_sid, QueueMember.status == CONNECTING)
            .values(status=WAITING, agent_id=None, claimed_at=None, updated_at=at)
        )
        note(conn, contact, "queue_offer_missed", {"agent_id": agent.id, "reason": reason}, at)
    elif contact.callback_id is not None and contact.attempt is not None:
        claim.return_unplaced(
            conn, callback_id=contact.callback_id, attempt=contact.attempt, at=at, reason=reason
        )
    transition(conn, agent, OFFLINE, at=at, reason=f"missed a contact: {reason}")
    return True


def put_back(conn: Connection, assignment: Assignment, *, at: datetime, reason: str) -> bool:
    """A waiting caller the agent could not be given goes back to their place in line.

    Only a caller still waiting for this agent (not one who hung up meanwhile).

    Returns:
        Whether the caller went back in line.

    """
    contact = assignment.contact
    back = conn.execute(
        update(QueueMember)
        .where(
            QueueMember.call_sid == contact.call_sid,
            QueueMember.status == CONNECTING,
            QueueMember.left_at.is_(None),
        )
        .values(status=WAITING, agent_id=None, claimed_at=None, updated_at=at)
    ).rowcount
    if back:
        payload = {"agent_id": assignment.agent.id, "reason": reason}
        note(conn, contact, "queue_offer_failed", payload, at)
    return bool(back)


def connected(conn: Connection, assignment: Assignment, *, at: datetime) -> bool:
    """The agent and the contact are talking: note it on both.

    Returns:
        False when the agent is no longer on this contact.

    """
    agent = busy_with(conn, assignment.agent.id, assignment.contact.label)
    if agent is None:
        return False
    contact = assignment.contact
    if contact.kind == CALL:
        conn.execute(
            update(QueueMember)
            .where(QueueMember.call_sid == contact.call_sid)
            .values(status=CONNECTED, connected_at=at, updated_at=at)
        )
    note(conn, contact, "agent_connected", {"agent_id": agent.id, "agent": agent.name}, at)
    return True


def finished(conn: Connection, agent_id: int, label: str, *, at: datetime, wrap_up: bool) -> bool:
    """The agent's leg of a contact ended: wrap-up (or available at once without one).

    Returns:
        False when the agent was not on this contact (a repeated or late report).

    """
    agent = busy_with(conn, agent_id, label)
    if agent is None:
        return False
    transition(conn, agent, WRAP_UP if wrap_up else AVAILABLE, at=at, reason=f"{label} ended")
    return True


def contact_of(conn: Connection, agent_id: int, label: str, *, at: datetime) -> Assignment | None:
    """The assignment ``label`` of agent ``agent_id``, if the agent is still busy with it.

    For a callback the request is also still at that attempt; its ``updated_at`` is moved to
    ``at``, so the reconciler leaves it alone while the agent's leg dials the customer.
    """
    agent = busy_with(conn, agent_id, label)
    if agent is None:
        return None
    kind, _, rest = label.partition(":")
    if kind == CALL:
        member = conn.execute(
            select(
                QueueMember.queue,
                QueueMember.node,
                QueueMember.enqueued_at,
                QueueMember.interaction_id,
            ).where(QueueMember.call_sid == rest, QueueMember.status == CONNECTING)
        ).first()
        if member is None:
            return None
        contact = Contact(
            kind=CALL,
            queue=member.queue,
            node=member.node,
            place=member.enqueued_at,
            interaction_id=member.interaction_id,
            call_sid=rest,
        )
        return Assignment(agent, contact)
    callback_id, _, attempt = rest.partition(":")
    row = conn.execute(
        update(Callback)
        .where(
            Callback.id == int(callback_id),
            Callback.status == claim.DIALING,
            Callback.attempts == int(attempt),
        )
        .values(updated_at=at)
        .returning(
            Callback.queue,
            Callback.node,
            Callback.original_enqueued_at,
            Callback.interaction_id,
            Callback.phone,
            Callback.from_number,
        )
    ).first()
    if row is None:
        return None
    contact = Contact(
        kind=CALLBACK,
        queue=row.queue,
        node=row.node,
        place=row.original_enqueued_at,
        interaction_id=row.interaction_id,
        callback_id=int(callback_id),
        attempt=int(attempt),
        phone=row.phone,
        from_number=row.from_number,
    )
    return Assignment(agent, contact)


def note_agent_call(conn: Connection, callback_id: int, attempt: int, agent_call_sid: str) -> bool:
    """Remember the agent's leg of a callback attempt (to hang it up if the customer is out).

    Returns:
        False when the attempt has its agent's leg already: a repeated answer, whose customer
        is already being dialled.

    """
    noted = conn.scalar(
        update(Callback)
        .where(
            Callback.id == callback_id,
            Callback.attempts == attempt,
            Callback.agent_call_sid.is_(None),
        )
        .values(agent_call_sid=agent_call_sid)
        .returning(Callback.id)
    )
    return noted is not None


def agent_call_of(conn: Connection, callback_id: int, attempt: int) -> tuple[int, str] | None:
    """The agent and their leg on callback attempt ``attempt``, if any."""
    row = conn.execute(
        select(Callback.agent_id, Callback.agent_call_sid).where(
            Callback.id == callback_id, Callback.attempts == attempt
        )
    ).first()
    if row is None or row.agent_id is None or row.agent_call_sid is None:
        return None
    return int(row.agent_id), str(row.agent_call_sid)


def release_by_label(
    conn: Connection, agent_id: int, label: str, *, at: datetime, reason: str
) -> bool:
    """:func:`release` the agent's assignment ``label``, if it still stands."""
    assignment = contact_of(conn, agent_id, label, at=at)
    return assignment is not None and release(conn, assignment, at=at, reason=reason)


def connected_by_label(conn: Connection, agent_id: int, label: str, *, at: datetime) -> bool:
    """:func:`connected` for the agent's assignment ``label``, if it still stands."""
    assignment = contact_of(conn, agent_id, label, at=at)
    return assignment is not None and connected(conn, assignment, at=at)
