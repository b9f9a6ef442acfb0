"""The REST stand-in's operations and state: place and control calls, dequeue, send messages.

Its HTTP face is ``telephony.simulator.rest_api``; this is what the handlers call. Every call
it places runs as a task of its own (``telephony.simulator.outbound``) until its final status;
:meth:`Switchboard.settle` waits for all of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import aiohttp

from telephony.simulator.live_call import HangUpNow, LiveCall, RedirectTo
from telephony.simulator.network import CallQueue, Network, QueueMember
from telephony.simulator.outbound import (
    CallOrder,
    CallRecord,
    Line,
    MessageRecord,
    Webhooks,
    deliver_message,
    run_call,
)
from telephony.simulator.phones import PhoneBook, RestFault
from telephony.simulator.rest_params import (
    CallFilter,
    CallUpdate,
    MessageOrder,
    RestRefusal,
    not_found,
)
from telephony.simulator.rest_record import RecordedRequest, SentCallback, StandInRecord
from telephony.simulator.scenario import new_sid

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Placement:
    """What came of a create request: what was placed (if anything), and the fault to answer."""

    call: CallRecord | None = None
    message: MessageRecord | None = None
    fault: RestFault | None = None


class Switchboard:
    """Calls, queues and messages of one account, and the record of everything done."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        phones: PhoneBook,
        network: Network,
        time_scale: float,
        webhooks: Webhooks | None,
    ) -> None:
        """Serve ``account_sid``; calls placed ring ``phones`` on ``network``."""
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.phones = phones
        self.network = network
        self.time_scale = time_scale
        self.webhooks = webhooks
        self._calls: dict[str, CallRecord] = {}
        self._messages: dict[str, MessageRecord] = {}
        self._requests: list[RecordedRequest] = []
        self._callbacks: list[SentCallback] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    def record(self) -> StandInRecord:
        """A snapshot of what was done so far."""
        return StandInRecord(
            requests=tuple(self._requests),
            calls=tuple(call.snapshot() for call in self._calls.values()),
            messages=tuple(message.snapshot() for message in self._messages.values()),
            callbacks=tuple(self._callbacks),
        )

    def note(self, request: RecordedRequest) -> None:
        """Record a request and its answer."""
        self._requests.append(request)

    # --- calls -------------------------------------------------------------------------------

    def place_call(self, order: CallOrder) -> Placement:
        """Place a call (unless its phone's fault says the request is lost before that)."""
        fault = self.phones.fault_for(order.to)
        if fault is not None and not fault.placed:
            return Placement(fault=fault)
        live = self.network.add_call(
            new_sid("CA"), to=order.to, from_=order.from_, direction="outbound-api"
        )
        record = CallRecord(order, live, self.phones.phone(order.to))
        if fault is not None and fault.status is not None:
            record.rest_status = fault.status
        self._calls[live.sid] = record
        self._start(run_call(record, self._line()))
        return Placement(call=record, fault=fault)

    def call(self, sid: str, path: str) -> LiveCall:
        """A call by SID (placed here, or a simulated caller's on the network)."""
        found = self.network.call(sid)
        if found is None:
            raise not_found(path)
        return found

    def calls(self, wanted: CallFilter) -> list[LiveCall]:
        """The call log, newest first, filtered."""
        return [call for call in self.network.calls if _matches(call, wanted)]

    async def update_call(self, sid: str, update: CallUpdate, path: str) -> LiveCall:
        """Redirect a call, or end it (``completed``; ``canceled`` only before it is answered)."""
        call = self.call(sid, path)
        if update.status is not None:
            if not call.is_over and (update.status == "completed" or _not_answered(call)):
                call.send(HangUpNow(update.status))
            return call
        if update.url is not None:
            if call.is_over:
                raise RestRefusal(400, 21220, "Call is not in-progress. Cannot redirect.")
            await self._leave_queue(call)
            call.send(RedirectTo(update.url, update.method))
        return call

    # --- queues ------------------------------------------------------------------------------

    def create_queue(self, name: str, max_size: int | None) -> CallQueue:
        """A new queue (a name already taken is refused)."""
        if any(queue.friendly_name == name for queue in self.network.queues):
            raise RestRefusal(400, 20001, f"A queue named {name!r} already exists")
        if max_size is None:
            return self.network.queue(name)
        return self.network.queue(name, max_size)

    def queue(self, sid: str, path: str) -> CallQueue:
        """A queue by SID."""
        found = self.network.queue_by_sid(sid)
        if found is None:
            raise not_found(path)
        return found

    async def dequeue(
        self, queue: CallQueue, call_sid: str, url: str, method: str, path: str
    ) -> tuple[QueueMember, int]:
        """Take a member out of the queue at once; its call runs the TwiML at ``url``.

        Returns:
            The member and the position it had.

        """
        member = queue.member(call_sid)
        if member is None:
            raise not_found(path)
        position = queue.position(member.call.sid) or 1
        await self.network.dequeue(queue, member.call)
        member.call.send(RedirectTo(url, method))
        return member, position

    # --- messages ----------------------------------------------------------------------------

    def send_message(self, order: MessageOrder) -> Placement:
        """Create a message and deliver it (unless its phone's fault loses the request)."""
        fault = self.phones.fault_for(order.to)
        if fault is not None and not fault.placed:
            return Placement(fault=fault)
        message = MessageRecord(
            sid=new_sid("SM"),
            to=order.to,
            from_=order.from_,
            body=order.body,
            status_callback=order.status_callback,
            created_at=self.network.clock(),
            phone=self.phones.phone(order.to),
        )
        self._messages[message.sid] = message
        self._start(deliver_message(message, self._line()))
        return Placement(message=message, fault=fault)

    def message(self, sid: str, path: str) -> MessageRecord:
        """A message by SID."""
        found = self._messages.get(sid)
        if found is None:
            raise not_found(path)
        return found

    # --- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Open the HTTP session webhooks go out on."""
        self._session = aiohttp.ClientSession()

    async def settle(self) -> None:
        """Wait until every call and message placed so far (and since) is over."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def close(self) -> None:
        """Stop every call still running and close the session."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks))
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _line(self) -> Line:
        if self._session is None:
            raise RuntimeError("the switchboard is not open")
        return Line(
            session=self._session,
            account_sid=self.account_sid,
            auth_token=self.auth_token,
            network=self.network,
            time_scale=self.time_scale,
            webhooks=self.webhooks,
            on_callback=self._callbacks.append,
        )

    def _start(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("stand-in task failed", exc_info=task.exception())

    async def _leave_queue(self, call: LiveCall) -> None:
        queue = None if call.queue is None else self.network.queue(call.queue)
        if queue is not None:
            await self.network.dequeue(queue, call)


def _not_answered(call: LiveCall) -> bool:
    return call.status in ("queued", "ringing")


def _matches(call: LiveCall, wanted: CallFilter) -> bool:
    if wanted.to is not None and call.to != wanted.to:
        return False
    if wanted.from_ is not None and call.from_ != wanted.from_:
        return False
    if wanted.status is not None and call.status != wanted.status:
        return False
    start = call.start_time
    if start is None:
        return wanted.started_from is None and wanted.started_until is None
    return (
        _on_or_after(start, wanted.started_from)
        and _on_or_before(start, wanted.started_until)
        and (wanted.started_on is None or start.date() == wanted.started_on)
    )


def _on_or_after(start: datetime, bound: datetime | date | None) -> bool:
    if bound is None:
        return True
    if isinstance(bound, datetime):
        return start >= bound
    return start.date() >= bound


def _on_or_before(start: datetime, bound: datetime | date | None) -> bool:
    if bound is None:
        return True
    if isinstance(bound, datetime):
        return start <= bound
    return start.date() <= bound
