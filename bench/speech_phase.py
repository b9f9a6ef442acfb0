"""One phase of bench/speech.py: a fresh server, N concurrent callers, one measuring window.

A phase starts ``voicedesk serve`` on a fresh SQLite file (the prompt cache is shared by the
phases, so only the first one synthesizes), warms it with two callers, reads its idle memory,
then starts the callers processes. They ramp up, talk for the warm-up, and the window opens:
the server's CPU time, per-thread CPU and RSS (every second), the machine's and the callers'
CPU are read at its edges, optionally under py-spy. At the window's end the callers stop, and
the server's history of the window is read back.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import aiohttp

from bench.speech_callers import CallerSpec
from bench.speech_server import (
    ProcSample,
    ServerHistory,
    read_history,
    rss_kb,
    sample,
    start_profile,
    thread_use,
    tree_state,
)
from bench.speech_turns import TurnFigures, Window, percentile, turn_figures
from bench.speech_utterance import SpokenPhrase
from bench.webhooks import (
    BIN,
    HOST,
    clean_env,
    cpu_seconds,
    free_port,
    machine_busy_seconds,
    server_process,
    wait_ready,
)
from speech.listening import DECODER_THREADS

ACCOUNT_SID: Final = "AC" + "0" * 32
PUBLIC_URL: Final = "https://ivr.bench.invalid"
"""What the server thinks Twilio reaches it at: Twilio (and the simulator) only stream to a
``wss://`` URL, which the server derives from an ``https://`` public URL. The simulator maps
it onto the server's real address; this name is never resolved."""
SCRIPT: Final = Path(__file__).resolve().parent / "speech.py"
CALLERS_START_SECONDS: Final = 3.0
"""The callers process imports the simulator (numpy, scipy, aiohttp) before the first call."""
WARM_CALLERS: Final = 2
WARM_SECONDS: Final = 8.0
"""Before the idle reading: the first recognizer, grammar compilation, confirmation prompts."""
SETTLE_SECONDS: Final = 2.0
CALLERS_EXIT_SECONDS: Final = 60.0
RSS_INTERVAL_SECONDS: Final = 1.0
QUIET_PROBE_SECONDS: Final = 3.0


@dataclass(frozen=True)
class BenchSetup:
    """What every phase of a run shares."""

    workdir: Path
    menu: Path
    prompt_cache: Path
    phrase: SpokenPhrase
    auth_token: str
    turns: int
    barge_in_ms: int
    barge_in_jitter_ms: int
    seed: int
    ramp_seconds: float
    warmup_seconds: float
    duration_seconds: float
    caller_processes: int
    max_sessions: int
    quiet_pct: float = 100.0
    quiet_wait_seconds: float = 0.0
    profile_at: int | None = None


@dataclass
class PhaseResult:
    """The figures of one phase."""

    concurrency: int
    window_seconds: float
    server_cpu_seconds: float
    loop_cpu_seconds: float
    other_threads_cpu: list[float]
    machine_busy_seconds: float
    callers_cpu_seconds: float
    rss_idle_kb: int
    rss_kb: list[int]
    turns: TurnFigures
    history: ServerHistory
    caller_lag_ms: list[float]
    errors: list[str] = field(default_factory=list)
    profile: str | None = None
    tree: str = ""
    """The code the server ran (commit + fingerprint of uncommitted changes)."""

    @property
    def streams(self) -> float:
        """Mean concurrent streams over the window."""
        return self.turns.stream_seconds / self.window_seconds

    @property
    def other_load_seconds(self) -> float:
        """CPU the rest of the machine (other sessions, espeak-ng, py-spy) used in the window."""
        return self.machine_busy_seconds - self.server_cpu_seconds - self.callers_cpu_seconds

    @property
    def cpu_per_stream_second(self) -> float:
        """Server CPU seconds per second of one stream (silence included)."""
        seconds = self.turns.stream_seconds
        return self.server_cpu_seconds / seconds if seconds else float("nan")

    @property
    def rss_per_stream_kb(self) -> float:
        """(mean RSS in the window - idle RSS) / mean concurrent streams."""
        if not self.rss_kb or not self.streams:
            return float("nan")
        return (sum(self.rss_kb) / len(self.rss_kb) - self.rss_idle_kb) / self.streams

    def cpu_split(self) -> dict[str, float]:
        """CPU seconds per stream-second by thread: the event loop, the decoder pool, the rest.

        The pool's threads are the busiest after the loop's (py-spy's thread names confirm it:
        ``vosk_*``); the rest are the database threads and the default executor.
        """
        seconds = self.turns.stream_seconds or math.nan
        pool = sum(self.other_threads_cpu[:DECODER_THREADS])
        rest = sum(self.other_threads_cpu[DECODER_THREADS:])
        return {
            "event_loop": round(self.loop_cpu_seconds / seconds, 5),
            "decoder_pool": round(pool / seconds, 5),
            "other_threads": round(rest / seconds, 5),
        }

    def summary(self) -> dict[str, Any]:
        """The headline figures, as written to JSON."""
        t = self.turns
        cores = os.cpu_count() or 1
        return {
            "concurrency": self.concurrency,
            "streams": round(self.streams, 1),
            "turns": len(t.total_ms),
            "cpu_per_stream_second": round(self.cpu_per_stream_second, 5),
            "cpu_split_per_stream_second": self.cpu_split(),
            "server_cpu_pct_of_machine": round(
                100 * self.server_cpu_seconds / self.window_seconds / cores, 1
            ),
            "loop_cpu_pct_of_core": round(100 * self.loop_cpu_seconds / self.window_seconds, 1),
            "machine_pct": round(100 * self.machine_busy_seconds / self.window_seconds / cores, 1),
            "callers_cpu_pct_of_core": round(
                100 * self.callers_cpu_seconds / self.window_seconds, 1
            ),
            "other_load_pct_of_core": round(100 * self.other_load_seconds / self.window_seconds, 1),
            "latency_ms": _percentiles(t.total_ms),
            "after_decision_ms": _percentiles(t.after_decision_ms),
            "server_decision_ms": _percentiles(self.history.decision_ms),
            "onset_to_clear_ms": _percentiles(t.onset_to_clear_ms),
            "caller_lag_ms": _percentiles(self.caller_lag_ms),
            "rss_idle_mb": round(self.rss_idle_kb / 1024, 1),
            "rss_mean_mb": round(sum(self.rss_kb) / max(1, len(self.rss_kb)) / 1024, 1),
            "rss_per_stream_mb": round(self.rss_per_stream_kb / 1024, 2),
            "tree": self.tree,
        }


def _percentiles(values: list[float]) -> dict[str, float]:
    return {f"p{p}": round(percentile(values, p), 1) for p in (50, 95, 99)} | {"n": len(values)}


def server_env(setup: BenchSetup, port: int, database: Path) -> dict[str, str]:
    """The environment of ``voicedesk serve`` for one phase."""
    return clean_env(
        VOICEDESK_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        VOICEDESK_PUBLIC_URL=PUBLIC_URL,
        VOICEDESK_TWILIO_AUTH_TOKEN=setup.auth_token,
        VOICEDESK_TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        VOICEDESK_HOST=HOST,
        VOICEDESK_PORT=str(port),
        VOICEDESK_MENU=str(setup.menu),
        VOICEDESK_PROMPT_CACHE_DIR=str(setup.prompt_cache),
        VOICEDESK_SPEECH_MAX_SESSIONS=str(setup.max_sessions),
        VOICEDESK_LOG_LEVEL="WARNING",
    )


def start_callers(
    setup: BenchSetup, base_url: str, count: int, window_end: float, name: str
) -> list[tuple[subprocess.Popen[bytes], Path]]:
    """Start ``count`` callers in ``setup.caller_processes`` processes; (process, result file)."""
    processes = max(1, min(setup.caller_processes, count))
    start_at = time.monotonic() + CALLERS_START_SECONDS
    started: list[tuple[subprocess.Popen[bytes], Path]] = []
    first = 0
    for index in range(processes):
        share = count // processes + (1 if index < count % processes else 0)
        spec = CallerSpec(
            server_url=base_url,
            public_url=PUBLIC_URL,
            account_sid=ACCOUNT_SID,
            auth_token=setup.auth_token,
            wav=str(setup.phrase.wav),
            count=share,
            turns=setup.turns,
            barge_in_ms=setup.barge_in_ms,
            barge_in_jitter_ms=setup.barge_in_jitter_ms,
            seed=setup.seed,
            # Each process ramps its share over the whole ramp, interleaved with the others.
            start_at=start_at + index * setup.ramp_seconds / count,
            ramp_seconds=setup.ramp_seconds,
            stop_at=window_end,
            first_caller=first,
        )
        first += share
        spec_file = setup.workdir / f"{name}-{index}.spec.json"
        spec_file.write_text(json.dumps(spec.__dict__))
        out = setup.workdir / f"{name}-{index}.out.json"
        argv = [sys.executable, str(SCRIPT), "callers", str(spec_file), str(out)]
        log = (setup.workdir / f"{name}-{index}.log").open("wb")
        started.append((subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT), out))
    return started


def collect_callers(started: list[tuple[subprocess.Popen[bytes], Path]]) -> dict[str, Any]:
    """Wait for the callers processes and merge their results."""
    merged: dict[str, Any] = {"calls": [], "loop_lag_ms": [], "crashed": [], "failed": []}
    for process, out in started:
        try:
            process.wait(timeout=CALLERS_EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.returncode != 0 or not out.exists():
            merged["failed"].append(f"callers process exited {process.returncode}; see {out}")
            continue
        result = json.loads(out.read_text())
        for key in ("calls", "loop_lag_ms", "crashed"):
            merged[key] += result[key]
    return merged


def warm_up(setup: BenchSetup, base_url: str) -> None:
    """Two callers for a few seconds: first recognizers, compiled grammar, prompts cached."""
    until = time.monotonic() + CALLERS_START_SECONDS + WARM_SECONDS
    collect_callers(start_callers(setup, base_url, WARM_CALLERS, until, "warm"))


def wait_for_quiet(setup: BenchSetup) -> float:
    """Wait (at most ``setup.quiet_wait_seconds``) until the machine is nearly idle.

    The machine is shared: other sessions' test suites can take a core or two for minutes.
    Nothing of this bench runs while it waits, so all the CPU in use belongs to others.

    Returns:
        The busy share of one core measured last (what the phase starts with).

    """
    deadline = time.monotonic() + setup.quiet_wait_seconds
    while True:
        busy = machine_busy_seconds()
        time.sleep(QUIET_PROBE_SECONDS)
        load = 100 * (machine_busy_seconds() - busy) / QUIET_PROBE_SECONDS
        if load <= setup.quiet_pct or time.monotonic() >= deadline:
            return load


def run_phase(setup: BenchSetup, concurrency: int) -> PhaseResult:
    """Measure ``concurrency`` callers against a fresh server."""
    load = wait_for_quiet(setup)
    tree = tree_state()
    print(f"N={concurrency}: starting at {tree}, the rest of the machine at {load:.0f} % of a core")
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    database = setup.workdir / f"phase-{concurrency}.db"
    env = server_env(setup, port, database)
    argv = [str(BIN / "voicedesk"), "serve"]
    with server_process(f"server-{concurrency}", argv, env, setup.workdir) as server:
        asyncio.run(_ready(base_url, server, setup.workdir, concurrency))
        warm_up(setup, base_url)
        time.sleep(SETTLE_SECONDS)
        idle = rss_kb(server.pid)
        lead = CALLERS_START_SECONDS + setup.ramp_seconds + setup.warmup_seconds
        window = Window(time.monotonic() + lead, time.monotonic() + lead + setup.duration_seconds)
        callers = start_callers(setup, base_url, concurrency, window.end, f"phase-{concurrency}")
        edges, rss, profile = _watch(setup, server.pid, window, concurrency, callers)
        merged = collect_callers(callers)
        history = read_history(database, edges[0].wall, edges[1].wall)
    run = _Observed(server.pid, window, edges, idle, rss, merged, history, profile)
    return replace(_result(setup, concurrency, run), tree=tree)


async def _ready(base_url: str, server: Any, workdir: Path, concurrency: int) -> None:
    async with aiohttp.ClientSession() as session:
        await wait_ready(session, f"server-{concurrency}", base_url, server, workdir)


def _watch(
    setup: BenchSetup,
    pid: int,
    window: Window,
    concurrency: int,
    callers: list[tuple[subprocess.Popen[bytes], Path]],
) -> tuple[tuple[ProcSample, ProcSample, float], list[int], Path | None]:
    """Read the clocks at the window's edges and RSS within it; py-spy it when asked."""
    time.sleep(max(0.0, window.start - time.monotonic()))
    callers_cpu = sum(cpu_seconds(p.pid) for p, _ in callers)
    first = sample(pid)
    profile: Path | None = None
    spy = None
    if setup.profile_at == concurrency:
        profile = setup.workdir / f"profile-{concurrency}.txt"
        spy = start_profile(pid, setup.duration_seconds, profile)
    rss: list[int] = []
    while time.monotonic() < window.end - 0.05:
        rss.append(rss_kb(pid))
        time.sleep(min(RSS_INTERVAL_SECONDS, max(0.0, window.end - time.monotonic())))
    last = sample(pid)
    callers_cpu = sum(cpu_seconds(p.pid) for p, _ in callers) - callers_cpu
    if spy is not None:
        spy.wait(timeout=CALLERS_EXIT_SECONDS)
    return (first, last, callers_cpu), rss, profile


@dataclass(frozen=True)
class _Observed:
    """The raw readings of one phase."""

    pid: int
    window: Window
    edges: tuple[ProcSample, ProcSample, float]
    idle_rss_kb: int
    rss_kb: list[int]
    callers: dict[str, Any]
    history: ServerHistory
    profile: Path | None


def _result(setup: BenchSetup, concurrency: int, seen: _Observed) -> PhaseResult:
    first, last, callers_cpu = seen.edges
    window = seen.window
    threads = thread_use(seen.pid, first, last)
    calls = seen.callers["calls"]
    lags = [lag for at, lag in seen.callers["loop_lag_ms"] if window.start <= at <= window.end]
    return PhaseResult(
        concurrency=concurrency,
        window_seconds=last.at - first.at,
        server_cpu_seconds=last.cpu - first.cpu,
        loop_cpu_seconds=threads.loop_seconds,
        other_threads_cpu=threads.others_seconds,
        machine_busy_seconds=last.machine_busy - first.machine_busy,
        callers_cpu_seconds=callers_cpu,
        rss_idle_kb=seen.idle_rss_kb,
        rss_kb=seen.rss_kb,
        turns=turn_figures(calls, setup.phrase, window, window.end),
        history=seen.history,
        caller_lag_ms=lags,
        errors=[*seen.callers["failed"], *seen.callers["crashed"], *_call_errors(calls)],
        profile=None if seen.profile is None else str(seen.profile),
    )


def _call_errors(calls: list[dict[str, Any]]) -> list[str]:
    reasons = Counter(c["outcome"] for c in calls if c["outcome"].startswith("error"))
    return [f"{n}× {reason}" for reason, n in reasons.most_common(5)]
