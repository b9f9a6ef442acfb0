"""The timer: ticks run the dialer's batches, back to back while more is due, never overlapping."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from callbacks.timer import MAX_BATCHES_PER_RUN, CallbackTimer

TICK = timedelta(milliseconds=50)


async def test_ticks_look_for_due_callbacks_and_reconcile() -> None:
    batches: list[int] = []
    reconciled: list[int] = []

    async def dial_due() -> bool:
        batches.append(1)
        return False

    async def reconcile() -> None:
        reconciled.append(1)

    timer = CallbackTimer(dial_due, reconcile, tick=TICK, reconcile_every=TICK)
    timer.start()
    await asyncio.sleep(0.4)
    timer.stop()

    assert len(batches) >= 3
    assert len(reconciled) >= 3


async def test_a_full_batch_is_followed_at_once_by_the_next_up_to_a_bound() -> None:
    runs: list[int] = []

    async def always_more() -> bool:
        runs.append(1)
        return True

    async def reconcile() -> None:
        return None

    timer = CallbackTimer(always_more, reconcile, tick=timedelta(seconds=30))
    await timer._run_due()

    assert len(runs) == MAX_BATCHES_PER_RUN


async def test_runs_never_overlap_and_a_failing_batch_does_not_stop_the_timer() -> None:
    running = 0
    most = 0
    calls = 0

    async def slow_then_failing() -> bool:
        nonlocal running, most, calls
        calls += 1
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.12)
        running -= 1
        raise RuntimeError("database down")

    async def reconcile() -> None:
        return None

    timer = CallbackTimer(slow_then_failing, reconcile, tick=TICK)
    timer.start()
    await asyncio.sleep(0.6)
    timer.stop()

    assert most == 1  # ticks during a slow batch were skipped, not stacked
    assert calls >= 2  # after the failure, later ticks ran again
