"""The simulated telephone network: every call, queue and conference room the REST API can see.

Shared by the REST stand-in (which creates calls and answers for them) and the simulated
inbound callers given the same network: their calls become reachable by CallSid, their
``<Enqueue>`` waits become queue members with real positions, and their ``<Dial><Conference>``
legs meet the stand-in's phones in the same rooms.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from telephony.simulator.conference import Conferences
from telephony.simulator.live_call import Direction, LiveCall
from telephony.simulator.scenario import new_sid
from telephony.simulator.twilio_forms import DEFAULT_MAX_QUEUE_SIZE

Clock = Callable[[], datetime]


@dataclass
class QueueMember:
    """A call waiting in a queue.

    Attributes:
        call: The waiting call.
        enqueued_at: When it joined (wall clock, for ``date_enqueued``).
        waited: Seconds it has waited so far (its own simulated time).

    """

    call: LiveCall
    enqueued_at: datetime
    waited: Callable[[], float]


@dataclass
class CallQueue:
    """A queue: members in the order they joined (position 1 is the front)."""

    sid: str
    friendly_name: str
    max_size: int
    date_created: datetime
    members: list[QueueMember]

    def position(self, call_sid: str) -> int | None:
        """1-based position of a call, or None when it does not wait here."""
        for index, member in enumerate(self.members, start=1):
            if member.call.sid == call_sid:
                return index
        return None

    def member(self, call_sid: str) -> QueueMember | None:
        """The member for a call SID, or for ``Front``: the first one."""
        if call_sid == "Front":
            return self.members[0] if self.members else None
        position = self.position(call_sid)
        return None if position is None else self.members[position - 1]

    @property
    def average_wait_seconds(self) -> int:
        """Average wait of the calls in the queue now, as Twilio computes it at request time."""
        if not self.members:
            return 0
        return round(sum(m.waited() for m in self.members) / len(self.members))


class Network:
    """Calls by SID, queues by name, conference rooms; waiters are woken on every change."""

    def __init__(self, clock: Clock = lambda: datetime.now(UTC)) -> None:
        """An empty network whose timestamps come from ``clock``."""
        self.clock = clock
        self.conferences = Conferences()
        self._calls: dict[str, LiveCall] = {}
        self._queues: dict[str, CallQueue] = {}
        self._changed = asyncio.Condition()

    # --- calls -------------------------------------------------------------------------------

    def add_call(self, sid: str, *, to: str, from_: str, direction: Direction) -> LiveCall:
        """Register a call that starts now."""
        call = LiveCall(sid, to=to, from_=from_, direction=direction, created=self.clock())
        self._calls[sid] = call
        return call

    def call(self, sid: str) -> LiveCall | None:
        """A call, live or over, by SID."""
        return self._calls.get(sid)

    @property
    def calls(self) -> tuple[LiveCall, ...]:
        """Every call, newest first (the order of Twilio's call log)."""
        return tuple(sorted(self._calls.values(), key=lambda c: c.date_created, reverse=True))

    # --- queues ------------------------------------------------------------------------------

    def queue(self, name: str, max_size: int = DEFAULT_MAX_QUEUE_SIZE) -> CallQueue:
        """The queue of that name, created on demand as ``<Enqueue>`` does."""
        found = self._queues.get(name)
        if found is None:
            found = CallQueue(new_sid("QU"), name, max_size, self.clock(), [])
            self._queues[name] = found
        return found

    def queue_by_sid(self, sid: str) -> CallQueue | None:
        """A queue by its ``QU…`` SID."""
        return next((q for q in self._queues.values() if q.sid == sid), None)

    @property
    def queues(self) -> tuple[CallQueue, ...]:
        """Every queue, oldest first."""
        return tuple(self._queues.values())

    async def enqueue(self, queue: CallQueue, call: LiveCall, waited: Callable[[], float]) -> bool:
        """Put a call at the back of a queue.

        Returns:
            False when the queue is full (``QueueResult`` ``queue-full``).

        """
        if len(queue.members) >= queue.max_size:
            return False
        queue.members.append(QueueMember(call, self.clock(), waited))
        call.queue = queue.friendly_name
        await self.notify()
        return True

    async def dequeue(self, queue: CallQueue, call: LiveCall) -> None:
        """Take a call out of a queue (it left, hung up or was redirected)."""
        queue.members[:] = [m for m in queue.members if m.call is not call]
        call.queue = None
        await self.notify()

    async def wait_for_member(self, queue: str, call_sid: str | None = None) -> QueueMember:
        """Wait until a call (any, when ``call_sid`` is None) waits in the named queue.

        Tests use it to act once a simulated caller has reached the queue, without polling.
        """

        def found() -> QueueMember | None:
            members = self._queues[queue].members if queue in self._queues else []
            return next((m for m in members if call_sid in (None, m.call.sid)), None)

        await self.wait_until(lambda: found() is not None)
        member = found()
        if member is None:  # cannot happen: nothing ran since the condition held
            raise RuntimeError(f"no member in queue {queue}")
        return member

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        """Wait until ``condition`` holds, checking it whenever the network changes."""
        async with self._changed:
            await self._changed.wait_for(condition)

    async def notify(self) -> None:
        """Wake the waiters of :meth:`wait_until`: something changed (a queue, a room)."""
        async with self._changed:
            self._changed.notify_all()
