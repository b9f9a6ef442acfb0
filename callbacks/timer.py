"""When to look for due callbacks: APScheduler 3's ``AsyncIOScheduler``, used only as a timer.

The scheduler keeps nothing durable (in-memory job store): the ``callbacks`` table is the truth
and any instance may claim any due row, so a lost job only delays a look, never loses a
request. Two interval jobs: a one-second tick (requests made by any instance, retries and
booked slots coming due are looked at within a second; an idle tick only reads), and the
reconciler every 15 s. DESIGN.md also names a one-off job at the next due time; with a
one-second tick it would only move a dial by less than a second, so there is none.
APScheduler 3's SQLAlchemyJobStore must not be shared between processes (measured: duplicate
runs), which is why no job is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, timedelta
from typing import Final

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

# A request due now waits at most this long for a tick started by another instance's request.
DEFAULT_TICK: Final = timedelta(seconds=1)
# Stale attempts are rare (a crash, a lost answer): looking every 15 s costs one small query.
DEFAULT_RECONCILE_EVERY: Final = timedelta(seconds=15)
# A batch that came back full means more are due: look again at once, but yield to the loop
# after this many batches in one go so webhooks keep their latency.
MAX_BATCHES_PER_RUN: Final = 20

DueWork = Callable[[], Awaitable[bool]]
"""One batch of work; returns True when more is waiting."""
Work = Callable[[], Awaitable[object]]


class CallbackTimer:
    """Runs the dialer's batches on a tick, at known due times, and reconciles now and then."""

    def __init__(
        self,
        dial_due: DueWork,
        reconcile: Work,
        *,
        tick: timedelta = DEFAULT_TICK,
        reconcile_every: timedelta = DEFAULT_RECONCILE_EVERY,
    ) -> None:
        """Call ``dial_due`` every ``tick`` and ``reconcile`` every ``reconcile_every``."""
        self._dial_due = dial_due
        self._reconcile = reconcile
        self._tick = tick
        self._reconcile_every = reconcile_every
        # An explicit zone: APScheduler would otherwise ask tzlocal, which reads files on the
        # event loop. Triggers here are intervals and instants, so the zone changes nothing.
        # Overlapping runs are skipped here (`_dialing`), quietly: APScheduler's own
        # max_instances would log a warning on every tick of a long backlog.
        self._scheduler = AsyncIOScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 3}
        )
        self._dialing = False

    def start(self) -> None:
        """Start the jobs on the running event loop."""
        self._scheduler.add_job(
            self._run_due,
            IntervalTrigger(seconds=self._tick.total_seconds(), timezone=UTC),
            id="tick",
        )
        self._scheduler.add_job(
            self._run_reconcile,
            IntervalTrigger(seconds=self._reconcile_every.total_seconds(), timezone=UTC),
            id="reconcile",
        )
        self._scheduler.start()

    def stop(self) -> None:
        """Stop the jobs; a batch already running finishes on its own."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def _run_due(self) -> None:
        if self._dialing:
            return  # the run under way takes what is due
        self._dialing = True
        try:
            for _ in range(MAX_BATCHES_PER_RUN):
                if not await self._dial_due():
                    return
        except Exception:  # a timer job must survive anything: the next tick tries again
            log.exception("dialing due callbacks failed")
        finally:
            self._dialing = False

    async def _run_reconcile(self) -> None:
        try:
            await self._reconcile()
        except Exception:  # as above: the next run tries again
            log.exception("reconciling callbacks failed")
