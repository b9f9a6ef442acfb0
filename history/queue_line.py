"""The line of a queue: callers joining and leaving it in a call's turn, and where each stands.

A caller's place is ``queue_members.enqueued_at``; callbacks that keep their place wait in
``callbacks`` with ``original_enqueued_at``, so a position counts both. The expected wait comes
from recent handle times (connected to left) of the same queue and the agents serving it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import Connection, func, select, update

from history.db import insert_or_ignore
from history.models import Agent, Callback, QueueMember

WAITING: Final = "waiting"
LEFT: Final = "left"

# Handle times averaged for the expected wait: recent enough to follow the day's mix of calls,
# enough of them that one long call does not swing the estimate.
HANDLE_TIME_SAMPLES: Final = 20


@dataclass(frozen=True, slots=True)
class JoinQueue:
    """The caller joins ``queue`` at ``place`` in line (a callback customer keeps an old one)."""

    queue: str
    node: str
    place: datetime


@dataclass(frozen=True, slots=True)
class LeaveQueue:
    """The caller left the line (``result``: bridged, hangup, callback, overflow, served…)."""

    result: str


@dataclass(frozen=True, slots=True)
class LinePosition:
    """Where a waiting caller stands: ``position`` (1 is next) and the expected wait, if known."""

    position: int
    expected_seconds: int | None


def join(
    conn: Connection, *, call_sid: str, interaction_id: int, effect: JoinQueue, at: datetime
) -> None:
    """Put the call in line (again, at ``effect.place``, if it was in line before)."""
    values = {
        "call_sid": call_sid,
        "interaction_id": interaction_id,
        "queue": effect.queue,
        "node": effect.node,
        "enqueued_at": effect.place,
        "status": WAITING,
        "updated_at": at,
    }
    inserted = conn.execute(
        insert_or_ignore(conn.dialect, QueueMember, values, unique=["call_sid"])
    ).rowcount
    if not inserted:
        conn.execute(
            update(QueueMember)
            .where(QueueMember.call_sid == call_sid)
            .values(
                queue=effect.queue,
                node=effect.node,
                enqueued_at=effect.place,
                status=WAITING,
                agent_id=None,
                claimed_at=None,
                connected_at=None,
                left_at=None,
                result=None,
                updated_at=at,
            )
        )


def leave(conn: Connection, *, call_sid: str, effect: LeaveQueue, at: datetime) -> None:
    """Take the call out of line (the first leaving wins; a repeat changes nothing)."""
    conn.execute(
        update(QueueMember)
        .where(QueueMember.call_sid == call_sid, QueueMember.left_at.is_(None))
        .values(status=LEFT, left_at=at, result=effect.result, updated_at=at)
    )


def position(conn: Connection, call_sid: str, now: datetime) -> LinePosition | None:
    """Where the call stands in its queue's line, or None when it is not waiting in one."""
    me = conn.execute(
        select(QueueMember.queue, QueueMember.enqueued_at).where(
            QueueMember.call_sid == call_sid, QueueMember.status == WAITING
        )
    ).first()
    if me is None:
        return None
    callers_ahead = conn.scalar(
        select(func.count()).where(
            QueueMember.queue == me.queue,
            QueueMember.status == WAITING,
            QueueMember.enqueued_at < me.enqueued_at,
        )
    )
    callbacks_ahead = conn.scalar(
        select(func.count()).where(
            Callback.queue == me.queue,
            Callback.status == "pending",
            Callback.kind == "queued",
            Callback.due_at <= now,
            Callback.original_enqueued_at < me.enqueued_at,
        )
    )
    place = 1 + int(callers_ahead or 0) + int(callbacks_ahead or 0)
    return LinePosition(place, _expected_seconds(conn, me.queue, place))


def _expected_seconds(conn: Connection, queue: str, place: int) -> int | None:
    """``place`` handle times shared among the queue's logged-in agents; None without data."""
    recent = (
        select(QueueMember.connected_at, QueueMember.left_at)
        .where(
            QueueMember.queue == queue,
            QueueMember.connected_at.is_not(None),
            QueueMember.left_at.is_not(None),
        )
        .order_by(QueueMember.left_at.desc())
        .limit(HANDLE_TIME_SAMPLES)
    )
    samples = [(row.left_at - row.connected_at).total_seconds() for row in conn.execute(recent)]
    agents = sum(
        1
        for queues in conn.scalars(select(Agent.queues).where(Agent.state != "offline"))
        if queue in queues
    )
    if not samples or agents == 0:
        return None
    handle: float = sum(samples) / len(samples)
    return math.ceil(place * handle / agents)
