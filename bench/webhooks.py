"""Keypad calls through the signed Twilio webhooks: voicedesk against bare aiohttp, in one run.

    .venv/bin/python bench/webhooks.py --database sqlite
    .venv/bin/python bench/webhooks.py --database postgresql --json /tmp/bench-pg.json

One run starts two servers on 127.0.0.1 — ``voicedesk serve`` (a fresh SQLite file, or a fresh
database on the local PostgreSQL, migrated and dropped afterwards) and the bare aiohttp server
of bench/hello_server.py — and drives both with the same call script from this process (one
asyncio loop, one keep-alive aiohttp connection pool). A keypad call is four webhooks signed
exactly like Twilio's (``RequestValidator.compute_signature`` into ``X-Twilio-Signature``):

    POST /twilio/voice                     → <Gather action=".../twilio/gather?turn=1">
    POST <that action>  Digits=2           → <Gather> for the 8-digit account number
    POST <that action>  Digits=12345678    → ... <Hangup/>
    POST /twilio/status CallStatus=completed → 204

Every answer is checked (status, content type, TwiML shape); a run with errors says so and
exits 1. Phases, back to back for each server: (1) closed loop, ``--concurrency`` calls at once
for ``--duration`` seconds after ``--warmup`` → the maximum call rate; (2) open loop, Poisson
call arrivals at ``--load`` (0.7) of that server's own maximum for ``--duration`` seconds →
latency at a sustainable load; (3) one call at a time for 5 s → the latency floor, what one
webhook costs with no queue in front of it. The servers' CPU time per call
(``/proc/<pid>/stat``, all threads; on PostgreSQL also the backends of the bench database) is
reported as a figure that does not depend on how fast this client is. The client shares the
machine, so the maxima are client-plus-server bound; the CPU columns show which side saturated,
and "othCPU%" what the rest of the (shared) machine used meanwhile.

Only 127.0.0.1 is ever contacted. Every loop is bounded by time and count and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp
import asyncpg  # type: ignore[import-untyped]
from twilio.request_validator import RequestValidator

BENCH_DIR: Final = Path(__file__).resolve().parent
BIN: Final = Path(sys.executable).parent
HOST: Final = "127.0.0.1"
PG_ADMIN_DSN: Final = "postgresql://postgres@127.0.0.1:5432/test"

# Twilio gives up on a webhook after 15 s; a request slower than this is an error here too.
REQUEST_TIMEOUT_S: Final = 10.0
# First start synthesizes every prompt of the bench menu (espeak-ng) before /readyz answers.
READY_TIMEOUT_S: Final = 180.0
# Calls still running when a phase ends get this long to finish before they are cancelled.
DRAIN_TIMEOUT_S: Final = 15.0
# How often the PostgreSQL probe reads its backends' CPU time.
POSTGRES_POLL_INTERVAL_S: Final = 0.2
# The open loop refuses to start more calls than this at once (counted as errors): it keeps a
# server that stops answering from growing the client without bound.
MAX_CALLS_IN_FLIGHT: Final = 1000
# A phase aborts after this many failed calls: the figures would mean nothing anyway.
MAX_ERRORS: Final = 200
ERROR_SAMPLES: Final = 5
SERIAL: Final = "serial"
MAXIMUM: Final = "max"
# The serial phase (one call at a time) only needs a few hundred webhooks for its percentiles.
SERIAL_PHASE_S: Final = 5.0
# An open loop whose call starts ran this late behind schedule (p99) had a CPU-starved client:
# its arrivals bunched up, and its latencies include the client's own waiting.
START_LAG_LIMIT_MS: Final = 50.0
MAX_PHASE_S: Final = 120.0
MAX_CONCURRENCY: Final = 256
# Frames of voicedesk's own packages in a py-spy stack ("function (package/module.py:line)").
OWN_CODE: Final = re.compile(r"\((calls|config|history|ivr|speech|telephony|web)/")
# py-spy's sampling rate with --profile: enough samples in a 12 s phase, little overhead. It
# samples only the thread holding the GIL (--gil), i.e. Python's own work: its idle detection
# counted threads blocked in queue.get() and epoll as busy on the VM this was written on.
PROFILE_RATE_HZ: Final = 200
TICKS_PER_S: Final = os.sysconf("SC_CLK_TCK")

# Fictional numbers: a Korean mobile calling a Korean service number.
CALLER: Final = "+821055501234"
CALLED: Final = "+8215885555"
ACCOUNT_SID: Final = "AC" + "b" * 32
WEBHOOKS: Final = ("voice", "gather:menu", "gather:account", "status")

# say → menu (2) → collect 8 digits → say → hang up: a keypad path with no business-hours node,
# so the figures do not depend on the time of day the bench runs at.
BENCH_MENU: Final = """\
id: bench
languages: [ko, en]
start: welcome
fallback: goodbye
nodes:
  welcome:
    type: say
    prompt: {ko: 보이스데스크 벤치마크 회선입니다., en: This is the VoiceDesk benchmark line.}
    next: main
  main:
    type: menu
    prompt: {ko: 잔액 조회는 2번을 눌러 주세요., en: For your balance press 2.}
    timeout: 5
    retries: 1
    fallback: goodbye
    options:
      - key: "2"
        next: account
  account:
    type: collect
    prompt: {ko: 계좌 번호 여덟 자리를 눌러 주세요., en: Please enter your account number.}
    variable: account_number
    digits: {min: 8, max: 8}
    finish_on_key: "#"
    sensitive: true
    timeout: 10
    retries: 1
    fallback: goodbye
    next: done
  done:
    type: say
    prompt: {ko: 조회 요청이 접수되었습니다., en: Your request has been received.}
    next: goodbye
  goodbye:
    type: hangup
    prompt: {ko: 이용해 주셔서 감사합니다., en: Thank you for calling. Goodbye.}
"""


class CallFailedError(Exception):
    """A webhook of a call was answered wrongly; the call stops there."""


# --- measuring --------------------------------------------------------------------------------


@dataclass
class Recorder:
    """What one phase saw: latencies of the webhooks answered while recording, and failures."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in WEBHOOKS})
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    calls: int = 0
    recording: bool = False

    def answered(self, webhook: str, seconds: float) -> None:
        """One webhook answered correctly after ``seconds``."""
        if self.recording:
            self.latencies[webhook].append(seconds)

    def completed(self) -> None:
        """One call walked its whole script."""
        if self.recording:
            self.calls += 1

    def failed(self, webhook: str, reason: str) -> None:
        """One call failed at ``webhook`` (counted whether recording or warming up)."""
        self.errors[webhook] += 1
        if len(self.samples) < ERROR_SAMPLES:
            self.samples.append(f"{webhook}: {reason}")

    @property
    def error_count(self) -> int:
        """Failed calls so far."""
        return sum(self.errors.values())


@dataclass(frozen=True)
class Latency:
    """Percentiles of one webhook's latency, in milliseconds."""

    n: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, seconds: list[float]) -> Latency:
        """Nearest-rank percentiles of ``seconds``."""
        if not seconds:
            return cls(0, math.nan, math.nan, math.nan)
        ordered = sorted(seconds)
        return cls(
            len(ordered), 1000 * rank(ordered, 50), 1000 * rank(ordered, 99), 1000 * ordered[-1]
        )


def rank(ordered: list[float], percent: float) -> float:
    """The nearest-rank ``percent`` percentile of ``ordered`` (sorted, not empty)."""
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads) so far, or 0 if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


def machine_busy_seconds() -> float:
    """CPU time all processors spent busy so far (``/proc/stat``: all but idle and iowait)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICKS_PER_S


@dataclass(frozen=True)
class Snapshot:
    """Clocks at one instant: wall, this client's CPU, the server's, the whole machine's."""

    wall: float
    client_cpu: float
    server_cpu: float
    machine_busy: float


class PostgresProbe:
    """CPU time of the PostgreSQL backends serving one database, and the sessions it opened.

    Backends come and go (a pool's overflow connections close when returned), so while a phase
    runs a poller reads every backend's CPU time a few times a second: a backend that exits
    loses at most one interval of its time, and the count of new sessions shows the churn.
    """

    def __init__(self, admin_dsn: str, database: str) -> None:
        """Watch ``database`` through an admin connection to ``admin_dsn``."""
        self._dsn = admin_dsn
        self._database = database
        self._connection: Any = None
        self._poller: asyncio.Task[None] | None = None
        self._base: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._sessions = 0

    async def begin(self) -> None:
        """Start counting."""
        if self._connection is None:
            self._connection = await asyncpg.connect(self._dsn)
        self._last = {}
        await self._poll()
        self._base = dict(self._last)
        self._sessions = await self._sessions_opened()
        self._poller = asyncio.create_task(self._poll_until_cancelled())

    async def end(self) -> tuple[float, int]:
        """Stop counting: (CPU seconds of the backends, sessions opened) since :meth:`begin`."""
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        await self._poll()
        spent = sum(cpu - self._base.get(pid, 0.0) for pid, cpu in self._last.items())
        return spent, await self._sessions_opened() - self._sessions

    async def close(self) -> None:
        """Drop the admin connection."""
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def _poll(self) -> None:
        rows = await self._connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1", self._database
        )
        for row in rows:
            pid = int(row["pid"])
            self._last[pid] = max(self._last.get(pid, 0.0), cpu_seconds(pid))

    async def _poll_until_cancelled(self) -> None:
        while True:
            await asyncio.sleep(POSTGRES_POLL_INTERVAL_S)
            await self._poll()

    async def _sessions_opened(self) -> int:
        # pg_stat_database.sessions exists from PostgreSQL 14 on.
        value = await self._connection.fetchval(
            "SELECT sessions FROM pg_stat_database WHERE datname = $1", self._database
        )
        return int(value or 0)


@dataclass
class Target:
    """A running server under test."""

    name: str
    base_url: str
    pid: int
    database: PostgresProbe | None = None

    async def begin(self) -> Snapshot:
        """Start a measuring window: read every clock."""
        if self.database is not None:
            await self.database.begin()
        return self.snapshot()

    async def end(self) -> tuple[Snapshot, tuple[float, int] | None]:
        """End the window: every clock, and the database's CPU seconds and new sessions."""
        snapshot = self.snapshot()
        database = await self.database.end() if self.database is not None else None
        return snapshot, database

    def snapshot(self) -> Snapshot:
        """Read every clock now."""
        return Snapshot(
            time.perf_counter(), time.process_time(), cpu_seconds(self.pid), machine_busy_seconds()
        )


@dataclass(frozen=True)
class PhaseResult:
    """The figures of one phase against one server."""

    server: str
    phase: str
    offered_calls_per_s: float | None
    concurrency: int | None
    window_s: float
    calls: int
    calls_per_s: float
    webhooks_per_s: float
    latency: dict[str, Latency]
    server_cpu_ms_per_call: float
    server_cpu_percent: float
    database_cpu_ms_per_call: float | None
    database_sessions_opened: int | None
    client_cpu_percent: float
    other_cpu_percent: float
    start_lag_p99_ms: float | None
    errors: dict[str, int]
    error_samples: list[str]


def phase_result(
    target: Target,
    phase: str,
    recorder: Recorder,
    before: Snapshot,
    after: Snapshot,
    database: tuple[float, int] | None,
    *,
    window_s: float,
    offered: float | None = None,
    concurrency: int | None = None,
    lags: list[float] | None = None,
) -> PhaseResult:
    """Fold a phase's recorder and clocks into its figures."""
    wall = after.wall - before.wall
    calls = max(recorder.calls, 1)
    requests = sum(len(v) for v in recorder.latencies.values())
    latency = {k: Latency.of(v) for k, v in recorder.latencies.items()}
    latency["all"] = Latency.of([s for v in recorder.latencies.values() for s in v])
    server = after.server_cpu - before.server_cpu
    client = after.client_cpu - before.client_cpu
    spent, sessions = database if database is not None else (0.0, None)
    # Whatever else kept the shared machine busy meanwhile (other jobs, the kernel's share).
    other = after.machine_busy - before.machine_busy - server - client - spent
    return PhaseResult(
        server=target.name,
        phase=phase,
        offered_calls_per_s=offered,
        concurrency=concurrency,
        window_s=window_s,
        calls=recorder.calls,
        calls_per_s=recorder.calls / window_s,
        webhooks_per_s=requests / window_s,
        latency=latency,
        server_cpu_ms_per_call=1000 * server / calls,
        server_cpu_percent=100 * server / wall,
        database_cpu_ms_per_call=1000 * spent / calls if database is not None else None,
        database_sessions_opened=sessions,
        client_cpu_percent=100 * client / wall,
        other_cpu_percent=max(0.0, 100 * other / wall),
        start_lag_p99_ms=1000 * rank(sorted(lags), 99) if lags else None,
        errors=dict(recorder.errors),
        error_samples=list(recorder.samples),
    )


# --- the call script --------------------------------------------------------------------------


@dataclass
class KeypadCall:
    """One caller walking the bench menu through the four signed webhooks."""

    session: aiohttp.ClientSession
    validator: RequestValidator
    target: Target
    recorder: Recorder

    async def run(self) -> bool:
        """Walk the whole call; a failure is recorded, never raised. Returns success."""
        sid = "CA" + secrets.token_hex(16)
        webhook = "voice"  # the webhook whose request or answer failed, if one does
        try:
            document = await self._twiml(
                webhook, f"{self.target.base_url}/twilio/voice", sid, {}, status="ringing"
            )
            action = self._gather_action(document)
            webhook = "gather:menu"
            document = await self._twiml(webhook, action, sid, {"Digits": "2"})
            action = self._gather_action(document)
            webhook = "gather:account"
            document = await self._twiml(webhook, action, sid, {"Digits": "12345678"})
            if document[-1].tag != "Hangup" or document.find("Gather") is not None:
                raise CallFailedError(f"expected the goodbye <Hangup/>, got {_verbs(document)}")
            webhook = "status"
            await self._status(sid)
        except (CallFailedError, aiohttp.ClientError, TimeoutError, ET.ParseError) as err:
            self.recorder.failed(webhook, f"{type(err).__name__}: {err}")
            return False
        self.recorder.completed()
        return True

    async def _post(
        self, url: str, sid: str, extra: dict[str, str], status: str
    ) -> tuple[int, str, str, float]:
        params = {
            "AccountSid": ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "CallSid": sid,
            "CallStatus": status,
            "Direction": "inbound",
            "From": CALLER,
            "To": CALLED,
            "Caller": CALLER,
            "Called": CALLED,
            **extra,
        }
        headers = {"X-Twilio-Signature": self.validator.compute_signature(url, params)}
        started = time.perf_counter()
        async with self.session.post(url, data=params, headers=headers) as response:
            body = await response.text()
        return response.status, response.content_type, body, time.perf_counter() - started

    async def _twiml(
        self, webhook: str, url: str, sid: str, extra: dict[str, str], status: str = "in-progress"
    ) -> ET.Element:
        code, content_type, body, seconds = await self._post(url, sid, extra, status)
        if code != 200 or content_type not in {"text/xml", "application/xml"}:
            raise CallFailedError(f"HTTP {code} {content_type}: {body[:200]!r}")
        document = ET.fromstring(body)
        if document.tag != "Response" or len(document) == 0:
            raise CallFailedError(f"not a TwiML response: {body[:200]!r}")
        self.recorder.answered(webhook, seconds)
        return document

    def _gather_action(self, document: ET.Element) -> str:
        gather = document.find("Gather")
        action = gather.get("action", "") if gather is not None else ""
        if not action.startswith(f"{self.target.base_url}/twilio/gather?turn="):
            raise CallFailedError(
                f"expected <Gather> back to /twilio/gather, got "
                f"{_verbs(document)} action={action!r}"
            )
        return action

    async def _status(self, sid: str) -> None:
        code, _, body, seconds = await self._post(
            f"{self.target.base_url}/twilio/status",
            sid,
            {
                "CallDuration": "42",
                "SequenceNumber": "1",
                "CallbackSource": "call-progress-events",
                "Timestamp": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
            },
            status="completed",
        )
        if code != 204:
            raise CallFailedError(f"status callback answered HTTP {code}: {body[:200]!r}")
        self.recorder.answered("status", seconds)


def _verbs(document: ET.Element) -> str:
    return "/".join(child.tag for child in document)


# --- phases -----------------------------------------------------------------------------------


async def closed_loop(
    session: aiohttp.ClientSession,
    validator: RequestValidator,
    target: Target,
    concurrency: int,
    warmup_s: float,
    duration_s: float,
) -> PhaseResult:
    """``concurrency`` callers, each placing the next call as soon as one ends.

    With many callers this finds the maximum rate; with one it measures the latency floor.
    """
    recorder = Recorder()
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + warmup_s + duration_s

    async def caller() -> None:
        call = KeypadCall(session, validator, target, recorder)
        while loop.time() < stop_at and recorder.error_count < MAX_ERRORS:
            if not await call.run():
                await asyncio.sleep(0.01)  # a refusing server must not turn this into a spin

    tasks = [asyncio.create_task(caller()) for _ in range(concurrency)]
    await asyncio.sleep(warmup_s)
    before = await target.begin()
    recorder.recording = True
    await asyncio.sleep(duration_s)
    recorder.recording = False
    after, database = await target.end()
    await _drain(tasks)
    phase = SERIAL if concurrency == 1 else MAXIMUM
    return phase_result(
        target,
        phase,
        recorder,
        before,
        after,
        database,
        window_s=after.wall - before.wall,
        concurrency=concurrency,
    )


async def open_loop(
    session: aiohttp.ClientSession,
    validator: RequestValidator,
    target: Target,
    rate: float,
    duration_s: float,
    rng: random.Random,
) -> PhaseResult:
    """Calls arriving at random (Poisson, ``rate`` per second) for ``duration_s``: the latency."""
    recorder = Recorder(recording=True)
    loop = asyncio.get_running_loop()
    in_flight: set[asyncio.Task[bool]] = set()
    lags: list[float] = []
    before = await target.begin()
    start = due = loop.time()
    while recorder.error_count < MAX_ERRORS:
        due += rng.expovariate(rate)
        if due - start >= duration_s:
            break
        await asyncio.sleep(max(0.0, due - loop.time()))
        lags.append(loop.time() - due)
        if len(in_flight) >= MAX_CALLS_IN_FLIGHT:
            recorder.failed("voice", "not started: too many calls in flight")
            continue
        task = asyncio.create_task(KeypadCall(session, validator, target, recorder).run())
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    await _drain(list(in_flight))
    after, database = await target.end()
    return phase_result(
        target,
        f"{rate:.0f}/s",
        recorder,
        before,
        after,
        database,
        window_s=duration_s,
        offered=rate,
        lags=lags,
    )


async def _drain(tasks: list[asyncio.Task[Any]]) -> None:
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=DRAIN_TIMEOUT_S)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


# --- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def clean_env(**values: str) -> dict[str, str]:
    """This environment without any VOICEDESK_ setting of the caller's, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEDESK_")}
    env.update(values)
    return env


@dataclass(frozen=True)
class Server:
    """A server process we started: ``pid`` is the server itself, even under py-spy."""

    process: subprocess.Popen[bytes]
    pid: int


@contextlib.contextmanager
def server_process(
    name: str, argv: list[str], env: dict[str, str], workdir: Path, profile: Path | None = None
) -> Iterator[Server]:
    """Run ``argv`` in ``workdir`` (log in ``<name>.log``), under py-spy when ``profile`` is set.

    On exit the server gets SIGINT (aiohttp's graceful shutdown), then SIGKILL if it hangs.
    """
    if profile is not None:
        argv = [
            str(BIN / "py-spy"),
            "record",
            "--rate",
            str(PROFILE_RATE_HZ),
            "--nonblocking",
            "--gil",
            "--format",
            "raw",
            "--output",
            str(profile),
            "--",
            *argv,
        ]
    with (workdir / f"{name}.log").open("wb") as log:
        process = subprocess.Popen(argv, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
        server = Server(process, process.pid if profile is None else _child_of(process.pid))
        try:
            yield server
        finally:
            if process.poll() is not None:  # it died during the run: say how, with its log
                tail = (workdir / f"{name}.log").read_text(errors="replace")[-2000:]
                print(
                    f"{name} exited during the run (exit code {process.returncode}; "
                    f"negative: killed by that signal):\n{tail}",
                    file=sys.stderr,
                )
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(server.pid, signal.SIGINT)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _child_of(pid: int) -> int:
    """The process ``pid`` started (py-spy's server), waiting a few seconds for it to appear."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for task in Path(f"/proc/{pid}/task").iterdir():
            children = (task / "children").read_text().split()
            if children:
                return int(children[0])
        time.sleep(0.05)
    raise SystemExit(f"process {pid} started no server")


async def wait_ready(
    session: aiohttp.ClientSession, name: str, base_url: str, server: Server, workdir: Path
) -> None:
    """Poll ``/readyz`` until 200; fail with the server's log if it exits or takes too long."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and server.process.poll() is None:
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with session.get(f"{base_url}/readyz") as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.2)
    log = (workdir / f"{name}.log").read_text(errors="replace")[-3000:]
    raise SystemExit(f"{name} never became ready (exit code {server.process.poll()}):\n{log}")


@contextlib.contextmanager
def postgres_database(admin_dsn: str) -> Iterator[tuple[str, str]]:
    """A fresh, empty database on the local PostgreSQL; dropped on exit. Yields (name, URL)."""
    name = f"voicedesk_bench_{secrets.token_hex(4)}"
    asyncio.run(_admin(admin_dsn, f'CREATE DATABASE "{name}"'))
    base = admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield name, f"{base}/{name}"
    finally:
        asyncio.run(_admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(dsn: str, statement: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Run:
    """Everything one bench run measured, with what it ran on."""

    command: str
    machine: dict[str, str]
    settings: dict[str, Any]
    results: list[PhaseResult] = field(default_factory=list)

    def result(self, server: str, phase: str) -> PhaseResult:
        """``server``'s result in ``phase`` (SERIAL, MAXIMUM, or anything else: the open loop)."""
        closed = {SERIAL, MAXIMUM}
        return next(
            r
            for r in self.results
            if r.server == server
            and (r.phase == phase or (phase not in closed and r.phase not in closed))
        )


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    return {
        "cpus": str(os.cpu_count()),
        "cpu_model": model,
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "kernel": platform.release(),
    }


async def measure(
    args: argparse.Namespace,
    targets: list[Target],
    run: Run,
    wait: Callable[[aiohttp.ClientSession], Awaitable[None]],
) -> None:
    """Phase 1 (max) then phase 2 (``--load`` of each server's own max), server by server."""
    connector = aiohttp.TCPConnector(limit=max(4 * args.concurrency, 256), force_close=False)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    validator = RequestValidator(args.auth_token)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await wait(session)
        for target in targets:
            try:
                await measure_target(args, session, validator, target, run)
            finally:
                if target.database is not None:
                    await target.database.close()


async def measure_target(
    args: argparse.Namespace,
    session: aiohttp.ClientSession,
    validator: RequestValidator,
    target: Target,
    run: Run,
) -> None:
    """The three phases against one server: max, open loop at ``--load`` of it, serial."""
    maximum = await closed_loop(
        session, validator, target, args.concurrency, args.warmup, args.duration
    )
    rate = max(args.load * maximum.calls_per_s, 1.0)
    await asyncio.sleep(1.0)  # let the closed loop's tail settle
    loaded = await open_loop(
        session, validator, target, rate, args.duration, random.Random(args.seed)
    )
    serial = await closed_loop(
        session, validator, target, 1, 0.5, min(SERIAL_PHASE_S, args.duration)
    )
    for result in (maximum, loaded, serial):
        run.results.append(result)
        print(_line(result), flush=True)


def bench(args: argparse.Namespace) -> Run:
    """Start both servers, measure them, stop them; returns what was measured."""
    run = Run(
        command=" ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv]),
        machine=machine(),
        settings={k: v for k, v in vars(args).items() if k not in {"auth_token", "json"}},
    )
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vd-bench-")))
        targets, servers = start_servers(args, stack, workdir)

        async def wait(session: aiohttp.ClientSession) -> None:
            for target, server in zip(targets, servers, strict=True):
                await wait_ready(session, target.name, target.base_url, server, workdir)

        print(_header(run, args), flush=True)
        asyncio.run(measure(args, targets, run, wait))
    return run


def start_servers(
    args: argparse.Namespace, stack: contextlib.ExitStack, workdir: Path
) -> tuple[list[Target], list[Server]]:
    """The bare aiohttp server and voicedesk (on a fresh database), stopped by ``stack``."""
    menu = workdir / "bench-menu.yaml"
    menu.write_text(BENCH_MENU, encoding="utf-8")
    subprocess.run(
        [str(BIN / "voicedesk"), "check-menu", str(menu)], check=True, stdout=subprocess.DEVNULL
    )
    port = args.port or free_port()
    hello_port = args.port + 1 if args.port else free_port()
    probe = None
    if args.database == "postgresql":
        name, url = stack.enter_context(postgres_database(args.pg_admin_dsn))
        probe = PostgresProbe(args.pg_admin_dsn, name)
    else:
        url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    env = clean_env(
        VOICEDESK_DATABASE_URL=url,
        VOICEDESK_PUBLIC_URL=f"http://{HOST}:{port}",
        VOICEDESK_TWILIO_AUTH_TOKEN=args.auth_token,
        VOICEDESK_MENU=str(menu),
        VOICEDESK_PROMPT_CACHE_DIR=str(args.prompt_cache or workdir / "prompts"),
        VOICEDESK_LOG_LEVEL="WARNING",
    )
    if args.database == "postgresql":
        subprocess.run(
            [str(BIN / "voicedesk"), "migrate"],
            cwd=workdir,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    hello = stack.enter_context(
        server_process(
            "aiohttp-hello",
            [
                sys.executable,
                str(BENCH_DIR / "hello_server.py"),
                "--host",
                HOST,
                "--port",
                str(hello_port),
            ],
            clean_env(),
            workdir,
        )
    )
    voicedesk = stack.enter_context(
        server_process(
            "voicedesk",
            [str(BIN / "voicedesk"), "serve", "--host", HOST, "--port", str(port)],
            env,
            workdir,
            profile=args.profile,
        )
    )
    targets = [
        Target("aiohttp-hello", f"http://{HOST}:{hello_port}", hello.pid),
        Target("voicedesk", f"http://{HOST}:{port}", voicedesk.pid, probe),
    ]
    return targets, [hello, voicedesk]


# --- report -----------------------------------------------------------------------------------

COLUMNS: Final = (
    f"{'server':<14}{'phase':>8}{'calls/s':>9}{'webhk/s':>9}{'p50 ms':>8}"
    f"{'p99 ms':>8}{'max ms':>8}{'CPUms/call':>11}{'srvCPU%':>8}{'cliCPU%':>8}"
    f"{'othCPU%':>8}{'errors':>7}"
)


def _header(run: Run, args: argparse.Namespace) -> str:
    m = run.machine
    return (
        f"# {run.command}\n# {m['cpus']} CPUs ({m['cpu_model']}), Python {m['python']}, "
        f"aiohttp {m['aiohttp']}; database {args.database}; concurrency {args.concurrency}, "
        f"warm-up {args.warmup:g} s, {args.duration:g} s per phase, open loop at "
        f"{args.load:.0%} of each server's max\n{COLUMNS}"
    )


def _line(r: PhaseResult) -> str:
    a = r.latency["all"]
    cpu = r.server_cpu_ms_per_call + (r.database_cpu_ms_per_call or 0.0)
    return (
        f"{r.server:<14}{r.phase:>8}{r.calls_per_s:>9.1f}{r.webhooks_per_s:>9.1f}"
        f"{a.p50_ms:>8.2f}{a.p99_ms:>8.2f}{a.max_ms:>8.1f}{cpu:>11.2f}"
        f"{r.server_cpu_percent:>8.0f}{r.client_cpu_percent:>8.0f}{r.other_cpu_percent:>8.0f}"
        f"{sum(r.errors.values()):>7}"
    )


def summary(run: Run) -> tuple[str, bool]:
    """The per-webhook detail, the ratios and the verdict on the targets; and whether clean."""
    lines = ["", "p50/p99 ms per webhook:"]
    for r in run.results:
        cells = "  ".join(
            f"{k} {r.latency[k].p50_ms:.2f}/{r.latency[k].p99_ms:.2f}" for k in WEBHOOKS
        )
        lag = f"  start lag p99 {r.start_lag_p99_ms:.1f}" if r.start_lag_p99_ms is not None else ""
        db = (
            f"  (server {r.server_cpu_ms_per_call:.2f} + PostgreSQL "
            f"{r.database_cpu_ms_per_call:.2f} CPU-ms/call, "
            f"{r.database_sessions_opened} sessions opened)"
            if r.database_cpu_ms_per_call is not None
            else ""
        )
        lines.append(f"  {r.server:<14}{r.phase:>8}  {cells}{lag}{db}")
    hello_max, vd_max = run.result("aiohttp-hello", MAXIMUM), run.result("voicedesk", MAXIMUM)
    vd_load, vd_serial = run.result("voicedesk", "open"), run.result("voicedesk", SERIAL)
    ratio = vd_max.calls_per_s / hello_max.calls_per_s if hello_max.calls_per_s else math.nan
    vd_cpu = vd_max.server_cpu_ms_per_call + (vd_max.database_cpu_ms_per_call or 0.0)
    p99 = vd_load.latency["all"].p99_ms
    offered = vd_load.offered_calls_per_s or 0.0
    errors = {f"{r.server} {r.phase}": r.error_samples for r in run.results if r.errors}
    lines += [
        "",
        f"throughput voicedesk / bare aiohttp: {ratio:.2f}x "
        f"({'met' if ratio >= 0.5 else 'MISSED'}: target >= 0.5x)",
        f"server CPU per call voicedesk / bare aiohttp: "
        f"{vd_cpu / max(hello_max.server_cpu_ms_per_call, 1e-9):.1f}x "
        f"({vd_cpu:.2f} vs {hello_max.server_cpu_ms_per_call:.2f} ms)",
        f"voicedesk p99 at {offered:.0f} calls/s "
        f"({offered / max(vd_max.calls_per_s, 1e-9):.0%} of its max): "
        f"{p99:.2f} ms ({'met' if p99 < 20 else 'MISSED'}: target < 20 ms); one call at a "
        f"time: p50 {vd_serial.latency['all'].p50_ms:.2f} ms, "
        f"p99 {vd_serial.latency['all'].p99_ms:.2f} ms",
    ]
    lines += [
        f"note: {r.server} {r.phase}: call starts ran {r.start_lag_p99_ms:.0f} ms late "
        f"(p99): the client was CPU-starved and kept the arrival schedule only loosely"
        for r in run.results
        if (r.start_lag_p99_ms or 0.0) > START_LAG_LIMIT_MS
    ]
    for where, samples in errors.items():
        lines.append(f"ERRORS in {where}: " + "; ".join(samples))
    return "\n".join(lines), not errors


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--duration", type=float, default=12.0, help="seconds per phase")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before phase 1")
    parser.add_argument("--concurrency", type=int, default=48, help="calls at once, phase 1")
    parser.add_argument("--load", type=float, default=0.7, help="phase 2 rate, share of max")
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="voicedesk's port (the baseline takes the next); default: free ports",
    )
    parser.add_argument(
        "--prompt-cache",
        type=Path,
        default=None,
        help="persistent prompt cache (skips synthesis on later runs)",
    )
    parser.add_argument("--pg-admin-dsn", default=PG_ADMIN_DSN)
    parser.add_argument("--seed", type=int, default=2, help="seed of the Poisson arrivals")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="run voicedesk under py-spy; raw collapsed stacks go here",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    return parser


def _checked(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    # Every phase must stay bounded, and nothing but this machine may be contacted.
    if not 0 < args.duration <= MAX_PHASE_S or not 0 <= args.warmup <= MAX_PHASE_S:
        parser.error(f"--duration and --warmup must be within (0, {MAX_PHASE_S:g}] seconds")
    if not 1 <= args.concurrency <= MAX_CONCURRENCY or not 0 < args.load <= 1:
        parser.error(f"--concurrency must be 1..{MAX_CONCURRENCY}, --load within (0, 1]")
    if urlsplit(args.pg_admin_dsn).hostname not in {"127.0.0.1", "localhost"}:
        parser.error("--pg-admin-dsn must point at 127.0.0.1")
    if args.profile is not None and not (BIN / "py-spy").exists():
        parser.error(f"--profile needs py-spy in {BIN} (pip install py-spy)")
    return args


def hot_spots(raw: Path, top: int = 20) -> str:
    """The request path's hot spots in py-spy's raw output: share of samples per function.

    Only samples inside an aiohttp request handler count (start-up is left out). Own code is
    shown inclusive (time in the function and below it); libraries by where time was spent.
    """
    own: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        if not any("_handle_request" in f for f in frames):
            continue
        n = int(count)
        total += n
        own.update({f: n for f in set(frames) if OWN_CODE.search(f)})
        leaves[frames[-1]] += n
        package = re.search(r"\(([^/)]+)/", frames[-1])
        packages[package.group(1) if package else "other"] += n
    if not total:
        return "no request-path samples"
    lines = [f"{total} request-path samples; own code, inclusive:"]
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    lines.append(
        "where the time is spent, by package: "
        + ", ".join(f"{p} {100 * n / total:.0f}%" for p, n in packages.most_common(10))
    )
    lines.append("and by function (leaf frames):")
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in leaves.most_common(top // 2)]
    return "\n".join(lines)


def main() -> int:
    """Run the bench; exit code 1 when any webhook was answered wrongly."""
    parser = _parser()
    args = _checked(parser, parser.parse_args())
    args.auth_token = secrets.token_hex(16)
    run = bench(args)
    text, clean = summary(run)
    print(text)
    if args.profile is not None:
        print(f"\nvoicedesk profile ({args.profile}):\n{hot_spots(args.profile)}")
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(run), indent=2, default=str) + "\n")
    return 0 if clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
