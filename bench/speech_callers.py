"""The simulated callers of bench/speech.py, run in their own process (``speech.py callers``).

``count`` callers start one after another over ``ramp_seconds`` and each places call after
call until ``stop_at`` (a ``time.monotonic()`` instant: the clock is shared by every process
on the machine). A call answers each prompt of the stream by playing the bench utterance
``barge_in_ms`` ± ``barge_in_jitter_ms`` (uniform, seeded per caller) into it, ``turns``
times, through ``telephony.simulator.place_call``: a real websocket, real-time 20 ms frames.
At ``stop_at`` calls still running are cancelled (their sockets close). Every stream step is
kept with the monotonic time it happened at, and written as JSON for the parent to analyse,
with this process's CPU time and how late its event loop woke, as ``(monotonic time, ms
late)`` every 20 ms: a starved caller sends late and hears late, which would inflate the
latencies.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp

from telephony.simulator import (
    CallerConfig,
    CallerSpoke,
    PlaybackCleared,
    SimulationError,
    Step,
    StreamClosed,
    StreamHeard,
    StreamOpened,
    place_call,
)
from telephony.simulator.scenario import new_call_sid

KEPT_STEPS: Final = (StreamOpened, StreamClosed, CallerSpoke, StreamHeard, PlaybackCleared)
LAG_PROBE_SECONDS: Final = 0.02
"""The probe sleeps one media frame: a loop late by more than that sends frames late."""
ERROR_PAUSE_SECONDS: Final = 1.0
"""After a failed call, so that a broken server does not turn the caller into a busy loop."""


@dataclass(frozen=True)
class CallerSpec:
    """What the callers process is to do (written as JSON by the parent)."""

    server_url: str
    public_url: str
    account_sid: str
    auth_token: str
    wav: str
    count: int
    turns: int
    barge_in_ms: int
    start_at: float
    ramp_seconds: float
    stop_at: float
    first_caller: int = 0
    barge_in_jitter_ms: int = 0
    seed: int = 0


@dataclass
class CallRecord:
    """One call: its kept steps as ``(monotonic time, step type, fields)``, and how it ended."""

    caller: int
    call_sid: str
    steps: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    outcome: str = "running"

    def add(self, step: Step) -> None:
        """The simulator's step listener."""
        if isinstance(step, KEPT_STEPS):
            self.steps.append((time.monotonic(), type(step).__name__, dataclasses.asdict(step)))


def _config(spec: CallerSpec, call_sid: str, rng: random.Random) -> CallerConfig:
    # Every turn of every caller lasts the same unless its barge-in moment varies: callers
    # would keep their relative phases forever, and those delayed once would fall in step.
    jitter = spec.barge_in_jitter_ms
    moments = (spec.barge_in_ms + rng.randint(-jitter, jitter) for _ in range(spec.turns))
    return CallerConfig(
        server_url=spec.server_url,
        public_url=spec.public_url,
        account_sid=spec.account_sid,
        auth_token=spec.auth_token,
        digits=tuple(f"play@{ms}:{spec.wav}" for ms in moments),
        queue_seconds=1,
        max_steps=20 * spec.turns + 100,
        call_sid=call_sid,
    )


async def _caller(
    index: int, spec: CallerSpec, http: aiohttp.ClientSession, calls: list[CallRecord]
) -> None:
    await asyncio.sleep(max(0.0, spec.start_at + index * spec.ramp_seconds / spec.count - _now()))
    rng = random.Random(spec.seed * 100_003 + spec.first_caller + index)
    while _now() < spec.stop_at:
        record = CallRecord(spec.first_caller + index, new_call_sid())
        calls.append(record)
        config = _config(spec, record.call_sid, rng)
        try:
            await place_call(config, on_step=record.add, session=http)
            record.outcome = "completed"
        except asyncio.CancelledError:
            record.outcome = "stopped"
            raise
        except (SimulationError, aiohttp.ClientError, OSError, TimeoutError) as err:
            record.outcome = f"error: {type(err).__name__}: {err}"
            await asyncio.sleep(ERROR_PAUSE_SECONDS)


async def _probe_lag(lags: list[tuple[float, float]]) -> None:
    while True:
        before = _now()
        await asyncio.sleep(LAG_PROBE_SECONDS)
        lags.append((before, 1000 * (_now() - before - LAG_PROBE_SECONDS)))


async def run_callers(spec: CallerSpec) -> dict[str, Any]:
    """Run the callers until ``spec.stop_at``; their calls, CPU time and loop lag."""
    calls: list[CallRecord] = []
    lags: list[tuple[float, float]] = []
    cpu = time.process_time()
    # Websockets hold their connections: the default pool of 100 would queue the callers.
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        probe = asyncio.create_task(_probe_lag(lags))
        callers = [asyncio.create_task(_caller(i, spec, http, calls)) for i in range(spec.count)]
        await asyncio.wait(callers, timeout=max(0.0, spec.stop_at - _now()))
        for task in [*callers, probe]:
            task.cancel()
        results = await asyncio.gather(*callers, probe, return_exceptions=True)
    crashed = [repr(r) for r in results if isinstance(r, BaseException) and not _cancelled(r)]
    return {
        "calls": [dataclasses.asdict(c) for c in calls],
        "cpu_seconds": time.process_time() - cpu,
        "loop_lag_ms": lags,
        "crashed": crashed,
    }


def _cancelled(error: BaseException) -> bool:
    return isinstance(error, asyncio.CancelledError)


def _now() -> float:
    return time.monotonic()


def main(spec_file: Path, out_file: Path) -> None:
    """Entry point of the callers process: read the spec, run, write the results."""
    spec = CallerSpec(**json.loads(spec_file.read_text()))
    with contextlib.suppress(KeyboardInterrupt):
        result = asyncio.run(run_callers(spec))
        out_file.write_text(json.dumps(result))
