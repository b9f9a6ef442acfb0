"""Chat sockets: what idle customer sockets cost, and how fast an agent's message reaches one.

    .venv/bin/python bench/chat.py
    .venv/bin/python bench/chat.py --json /tmp/bench-chat.json
    .venv/bin/python bench/chat.py --databases postgresql --sockets 1 100 --rate 10 --duration 10

Each setup (database, N sockets) gets a fresh database (a SQLite file, or a new database on the
local PostgreSQL, migrated with ``voicedesk migrate`` and dropped afterwards) and one real
``voicedesk serve`` (the shipped menu, speech and callbacks off, the Twilio REST API pointed at
an unused port of 127.0.0.1: nothing is texted). Once it answers /readyz, this process seeds
through the repository's own code, on the same database: one agent of queue ``general`` and its
API key, then N chats (``history.chat_sessions.open_from_call``, ``send_link=False``), each
taken by the agent (``chat.sessions.take``). Each chat's customer link is minted with
``chat.tokens.LinkSigner`` under the auth token, as the server does when
``VOICEDESK_CHAT_LINK_SECRET`` is unset. Then, for each setup:

1. **N customer sockets** ``/chat/<token>/ws`` are opened (20 at a time), each sending
   ``{"type": "hello", "after": 0}`` and waiting for its first ``{"type": "chat"}``; 2 s idle.
2. **Idle** (``--idle`` s, no messages): the server's CPU (``/proc/<pid>/stat``, all threads),
   on PostgreSQL the CPU of the bench database's backends (polled as in bench/webhooks.py) and
   its transactions (``pg_stat_database.xact_commit + xact_rollback``), this process's CPU, and
   "other": what the rest of the machine used meanwhile, all in % of one core.
3. **Health baseline**: ``GET /healthz`` at ``--rate`` per second for ``--duration`` s (open
   loop, on a keep-alive pool), sockets still open and idle: round trip p50/p95/max.
4. **Delivery**: at the same rate and for as long, an agent posts a unique message through
   ``POST /api/chats/{id}/messages`` (the agent's API key) to a chat chosen at random.
   Latency: from just before the POST to that chat's socket receiving the
   ``{"type": "message"}`` with that body. Every message must arrive exactly once, on its own
   chat's socket: lost, duplicated and misrouted messages are counted, and the run exits 1 if
   there is any (or any failed request). CPU as in 2, from the first POST to the last delivery.

A socket the server closes (a follower that failed closes with 1013) reconnects after 0.5 s
with ``after`` = the last message id it saw, as the page does; reconnections are counted. The
server's log lines at WARNING and above are counted too. The baselines are the health round
trip and N = 1, in the same run. Only 127.0.0.1 is contacted; every wait is bounded.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

# Run as a script, this file's folder comes first on sys.path, and there "chat" is this very
# file, not voicedesk's chat package: put the repository root in its place.
REPO: Final = Path(__file__).resolve().parent.parent
sys.path[:1] = [str(REPO)]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import shlex  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable, Coroutine  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import aiohttp  # noqa: E402
import asyncpg  # type: ignore[import-untyped]  # noqa: E402
from sqlalchemy import Connection, func, select  # noqa: E402

from agents.roster import add_agent  # noqa: E402
from bench.webhooks import (  # noqa: E402
    BIN,
    HOST,
    PG_ADMIN_DSN,
    PostgresProbe,
    Server,
    clean_env,
    cpu_seconds,
    free_port,
    machine,
    machine_busy_seconds,
    postgres_database,
    rank,
    server_process,
    wait_ready,
)
from chat.sessions import take  # noqa: E402
from chat.tokens import LinkSigner  # noqa: E402
from history.chat_sessions import ChatRequest, open_from_call  # noqa: E402
from history.db import Database, create_engine  # noqa: E402
from history.models import ChatMessage  # noqa: E402
from history.store import SqlHistoryStore  # noqa: E402

ACCOUNT_SID: Final = "AC" + "d" * 32
PUBLIC_URL: Final = "https://bench.invalid"
QUEUE: Final = "general"
DEFAULT_DATABASES: Final = ("sqlite", "postgresql")
DEFAULT_SOCKETS: Final = (1, 10, 100, 300)
MAX_SOCKETS: Final = 1000
MAX_RATE: Final = 200.0
MAX_PHASE_S: Final = 120.0
OPEN_AT_ONCE: Final = 20
"""Sockets opened concurrently while connecting the N customers."""
FIRST_FRAME_TIMEOUT_S: Final = 30.0
HANDSHAKE_TIMEOUT_S: Final = 15.0
REQUEST_TIMEOUT_S: Final = 10.0
RECONNECT_DELAY_S: Final = 0.5
SETTLE_S: Final = 2.0
DELIVERY_TIMEOUT_S: Final = 15.0
"""After the last POST answered, how long undelivered messages are waited for."""
DUPLICATE_WATCH_S: Final = 2.0
"""After the last delivery, how long a second copy is watched for (two poll intervals)."""
POLL_S: Final = 0.02
ERROR_SAMPLES: Final = 5


# --- the customers ----------------------------------------------------------------------------


class Customer:
    """One customer's chat page: a socket that says hello and records every message it gets."""

    def __init__(self, session: aiohttp.ClientSession, url: str, chat_id: int) -> None:
        """Follow the chat ``chat_id`` through its socket at ``url``."""
        self.session = session
        self.url = url
        self.chat_id = chat_id
        self.received: dict[str, list[float]] = {}
        """Message body → when each copy arrived (``time.perf_counter``)."""
        self.last_id = 0
        self.status: str | None = None
        self.agent_name: str | None = None
        self.connected = asyncio.Event()
        self.connections = 0
        self.ends: Counter[str] = Counter()
        """How connections ended: a close code, or an exception's name."""
        self.errors: list[str] = []
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Connect, and reconnect after each close until :meth:`stop`."""
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Close the socket for good."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    @property
    def reconnects(self) -> int:
        """Connections after the first."""
        return max(0, self.connections - 1)

    async def _run(self) -> None:
        while not self._stopping:
            self.connections += 1
            try:
                await self._connection()
            except (aiohttp.ClientError, TimeoutError, ConnectionError) as err:
                self.ends[type(err).__name__] += 1
            await asyncio.sleep(RECONNECT_DELAY_S)

    async def _connection(self) -> None:
        async with asyncio.timeout(HANDSHAKE_TIMEOUT_S):
            ws = await self.session.ws_connect(
                self.url, autoping=True, timeout=aiohttp.ClientWSTimeout(ws_close=5.0)
            )
        try:
            await ws.send_json({"type": "hello", "after": self.last_id})
            async for frame in ws:
                if frame.type == aiohttp.WSMsgType.TEXT:
                    self._handle(frame.data)
            self.ends[str(ws.close_code)] += 1
        finally:
            if not ws.closed:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(5):
                        await ws.close()

    def _handle(self, text: str) -> None:
        arrived = time.perf_counter()
        data = json.loads(text)
        kind = data.get("type")
        if kind == "message":
            message = data["message"]
            self.last_id = max(self.last_id, int(message["id"]))
            self.received.setdefault(message["body"], []).append(arrived)
        elif kind == "chat":
            self.status = data["chat"].get("status")
            self.agent_name = data["chat"].get("agent_name")
            self.connected.set()
        elif len(self.errors) < ERROR_SAMPLES:
            self.errors.append(text[:200])


async def open_customers(customers: list[Customer]) -> float:
    """Connect every customer, ``OPEN_AT_ONCE`` at a time; the seconds it took."""
    began = time.perf_counter()
    for start in range(0, len(customers), OPEN_AT_ONCE):
        batch = customers[start : start + OPEN_AT_ONCE]
        for customer in batch:
            customer.start()
        try:
            async with asyncio.timeout(FIRST_FRAME_TIMEOUT_S):
                await asyncio.gather(*(c.connected.wait() for c in batch))
        except TimeoutError:
            missing = [c.chat_id for c in batch if not c.connected.is_set()]
            raise SystemExit(f"chat sockets of chats {missing} got no chat view in time") from None
    not_active = [c.chat_id for c in customers if c.status != "active"]
    if not_active:
        raise SystemExit(f"chats {not_active[:10]} are not active on their sockets")
    return time.perf_counter() - began


# --- measuring --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Percentiles:
    """Nearest-rank percentiles, in milliseconds."""

    n: int
    p50_ms: float
    p95_ms: float
    max_ms: float

    @classmethod
    def of(cls, seconds: list[float]) -> Percentiles:
        """Percentiles of ``seconds``."""
        if not seconds:
            return cls(0, math.nan, math.nan, math.nan)
        ordered = sorted(seconds)
        return cls(
            len(ordered),
            round(1000 * rank(ordered, 50), 2),
            round(1000 * rank(ordered, 95), 2),
            round(1000 * ordered[-1], 2),
        )


@dataclass(frozen=True)
class Spent:
    """What one window cost, in % of one core (the database: None on SQLite)."""

    wall_s: float
    server_percent: float
    database_percent: float | None
    client_percent: float
    other_percent: float
    transactions_per_s: float | None
    sessions_opened: int | None


class PostgresCounter:
    """The bench database's committed and rolled back transactions so far."""

    def __init__(self, admin_dsn: str, database: str) -> None:
        """Read ``pg_stat_database`` of ``database`` through ``admin_dsn``."""
        self._dsn = admin_dsn
        self._database = database
        self._connection: Any = None

    async def transactions(self) -> int:
        """``xact_commit + xact_rollback`` (backends report within about a second)."""
        if self._connection is None:
            self._connection = await asyncpg.connect(self._dsn)
        value = await self._connection.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1",
            self._database,
        )
        return int(value or 0)

    async def close(self) -> None:
        """Drop the connection."""
        if self._connection is not None:
            await self._connection.close()
            self._connection = None


@dataclass
class Window:
    """CPU clocks over one phase."""

    pid: int
    probe: PostgresProbe | None
    counter: PostgresCounter | None
    wall: float = 0.0
    server: float = 0.0
    client: float = 0.0
    busy: float = 0.0
    transactions: int = 0

    async def begin(self) -> None:
        """Read every clock."""
        if self.probe is not None:
            await self.probe.begin()
        if self.counter is not None:
            self.transactions = await self.counter.transactions()
        self.wall = time.perf_counter()
        self.server = cpu_seconds(self.pid)
        self.client = time.process_time()
        self.busy = machine_busy_seconds()

    async def end(self) -> Spent:
        """Read every clock again: what the phase cost."""
        wall = time.perf_counter() - self.wall
        server = cpu_seconds(self.pid) - self.server
        client = time.process_time() - self.client
        busy = machine_busy_seconds() - self.busy
        database, sessions, transactions = None, None, None
        if self.probe is not None:
            database, sessions = await self.probe.end()
        if self.counter is not None:
            transactions = (await self.counter.transactions() - self.transactions) / wall
        other = busy - server - client - (database or 0.0)
        return Spent(
            wall_s=round(wall, 2),
            server_percent=round(100 * server / wall, 1),
            database_percent=None if database is None else round(100 * database / wall, 1),
            client_percent=round(100 * client / wall, 1),
            other_percent=round(100 * other / wall, 1),
            transactions_per_s=None if transactions is None else round(transactions, 1),
            sessions_opened=sessions,
        )


async def paced(
    rate: float, duration: float, request: Callable[[int], Coroutine[Any, Any, None]]
) -> float:
    """Start ``request(i)`` at ``rate`` per second for ``duration`` s; the worst start lag (s)."""
    start = time.perf_counter()
    tasks: list[asyncio.Task[None]] = []
    lag = 0.0
    for i in range(round(rate * duration)):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lag = max(lag, time.perf_counter() - due)
        tasks.append(asyncio.create_task(request(i)))
    async with asyncio.timeout(REQUEST_TIMEOUT_S + 5):
        await asyncio.gather(*tasks)
    return lag


@dataclass
class Requests:
    """Round trips of one kind of request, and its failures."""

    seconds: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    def failed(self, reason: str) -> None:
        """One request failed."""
        self.errors[reason.split(":", 1)[0]] += 1
        if len(self.samples) < ERROR_SAMPLES:
            self.samples.append(reason[:300])


# --- one setup --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """A database kind and a number of open customer sockets."""

    database: str
    sockets: int

    @property
    def name(self) -> str:
        """``postgresql:300``."""
        return f"{self.database}:{self.sockets}"


@dataclass
class SetupResult:
    """What one setup measured."""

    setup: str
    database: str
    sockets: int
    connect_s: float
    idle: Spent
    health: Percentiles
    health_errors: dict[str, int]
    health_start_lag_ms: float
    sent: int
    posted: int
    post: Percentiles
    post_errors: dict[str, int]
    post_start_lag_ms: float
    delivery: Percentiles
    delivered: int
    over_1s: int
    lost: int
    duplicates: int
    misrouted: int
    busy: Spent
    reconnects_idle: int
    reconnects_busy: int
    connection_ends: dict[str, int]
    socket_errors: list[str]
    texted: int
    server_log_warnings: int
    server_log_samples: list[str]
    error_samples: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Every request answered, every message delivered exactly once on its own socket."""
        return (
            self.posted == self.sent
            and self.delivered == self.sent
            and not (self.lost or self.duplicates or self.misrouted)
            and not self.health_errors
            and not self.socket_errors
        )


def run_setup(setup: Setup, args: argparse.Namespace, workdir: Path) -> SetupResult:
    """A fresh database and server; the phases; the figures. The server is stopped after."""
    token = secrets.token_hex(16)
    port = free_port()
    with contextlib.ExitStack() as stack:
        probe = counter = None
        if setup.database == "postgresql":
            name, url = stack.enter_context(postgres_database(args.pg_admin_dsn))
            probe = PostgresProbe(args.pg_admin_dsn, name)
            counter = PostgresCounter(args.pg_admin_dsn, name)
        else:
            url = f"sqlite+aiosqlite:///{workdir / f'chat-{secrets.token_hex(4)}.db'}"
        env = clean_env(
            PYTHONPATH=str(REPO),  # the working tree, whatever the venv has installed
            VOICEDESK_DATABASE_URL=url,
            VOICEDESK_TWILIO_ACCOUNT_SID=ACCOUNT_SID,
            VOICEDESK_TWILIO_AUTH_TOKEN=token,
            VOICEDESK_TWILIO_API_BASE=f"http://{HOST}:{free_port()}",  # nobody listens there
            VOICEDESK_PUBLIC_URL=PUBLIC_URL,
            VOICEDESK_SPEECH_ENABLED="false",
            VOICEDESK_CALLBACKS_ENABLED="false",
            VOICEDESK_PROMPT_CACHE_DIR=str(args.prompt_cache or workdir / "prompts"),
            VOICEDESK_LOG_LEVEL="WARNING",
        )
        if setup.database == "postgresql":
            subprocess.run(
                [str(BIN / "voicedesk"), "migrate"],
                cwd=workdir,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                timeout=120,
            )
        log_name = f"voicedesk-{setup.database}-{setup.sockets}"
        server = stack.enter_context(
            server_process(
                log_name,
                [str(BIN / "voicedesk"), "serve", "--host", HOST, "--port", str(port)],
                env,
                workdir,
            )
        )
        result = asyncio.run(
            _measure(setup, args, workdir, url, server, port, token, probe, counter)
        )
    warnings = _log_warnings(workdir / f"{log_name}.log")
    result.server_log_warnings = len(warnings)
    result.server_log_samples = warnings[:ERROR_SAMPLES]
    return result


def _log_warnings(log: Path) -> list[str]:
    levels = ("WARNING", "ERROR", "CRITICAL", "Traceback")
    lines = log.read_text(errors="replace").splitlines()
    return [line[:300] for line in lines if any(level in line for level in levels)]


async def _measure(
    setup: Setup,
    args: argparse.Namespace,
    workdir: Path,
    url: str,
    server: Server,
    port: int,
    token: str,
    probe: PostgresProbe | None,
    counter: PostgresCounter | None,
) -> SetupResult:
    base = f"http://{HOST}:{port}"
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        await wait_ready(http, f"voicedesk-{setup.database}-{setup.sockets}", base, server, workdir)
    engine = await asyncio.to_thread(create_engine, url)
    database = Database(engine)
    try:
        key, chats = await _seed(engine, database, setup.sockets)
        signer = LinkSigner(token, timedelta(days=1))
        now = datetime.now(UTC)
        # Sockets only: no limit on connections (the default pool holds 100).
        sockets = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        customers = [
            Customer(sockets, f"ws://{HOST}:{port}/chat/{signer.issue(c, phone, now)}/ws", c)
            for c, phone in chats
        ]
        try:
            connect_s = await open_customers(customers)
            await asyncio.sleep(SETTLE_S)
            idle = Window(server.pid, probe, counter)
            await idle.begin()
            await asyncio.sleep(args.idle)
            idle_spent = await idle.end()
            reconnects_idle = sum(c.reconnects for c in customers)
            async with aiohttp.ClientSession(timeout=timeout) as http:
                health, health_lag = await _health(http, base, args)
                delivery = await _delivery(http, base, key, customers, args, server, probe, counter)
            reconnects_busy = sum(c.reconnects for c in customers) - reconnects_idle
        finally:
            await asyncio.gather(*(c.stop() for c in customers))
            await sockets.close()
        texted = await database.read(_texted)
    finally:
        await database.close()
        await engine.dispose()
        if counter is not None:
            await counter.close()
        if probe is not None:
            await probe.close()
    ends: Counter[str] = Counter()
    for customer in customers:
        ends.update(customer.ends)
    socket_errors = [e for c in customers for e in c.errors][:ERROR_SAMPLES]
    post_samples = delivery.pop("samples")
    return SetupResult(
        setup=setup.name,
        database=setup.database,
        sockets=setup.sockets,
        connect_s=round(connect_s, 2),
        idle=idle_spent,
        health=Percentiles.of(health.seconds),
        health_errors=dict(health.errors),
        health_start_lag_ms=round(1000 * health_lag, 1),
        reconnects_idle=reconnects_idle,
        reconnects_busy=reconnects_busy,
        connection_ends=dict(ends),
        socket_errors=socket_errors,
        texted=texted,
        server_log_warnings=0,
        server_log_samples=[],
        error_samples=health.samples + post_samples,
        **delivery,
    )


def _seed_chats(conn: Connection, count: int, agent_id: int, at: datetime) -> list[tuple[int, str]]:
    chats = []
    for n in range(count):
        phone = f"+8210{n:08d}"
        request = ChatRequest(
            phone=phone,
            from_number="+8215881234",
            queue=QUEUE,
            node="text_chat",
            language="ko",
            waiting_since=at,
            requested_at=at,
            send_link=False,
        )
        opened = open_from_call(conn, request, None)
        take(conn, opened.id, agent_id, at)
        chats.append((opened.id, phone))
    return chats


async def _seed(engine: Any, database: Database, count: int) -> tuple[str, list[tuple[int, str]]]:
    """The agent, its API key and ``count`` chats it holds: (key, [(chat id, phone)])."""
    now = datetime.now(UTC)
    agent = await database.write(
        add_agent, name="Bench agent", address="+821099990000", queues=[QUEUE], at=now
    )
    store = SqlHistoryStore(engine)
    try:
        key = await store.create_api_key(role="agent", name="bench chat", at=now, agent_id=agent.id)
    finally:
        await store.close()
    chats = await database.write(_seed_chats, count, agent.id, now)
    return key, chats


def _texted(conn: Connection) -> int:
    """Messages queued for SMS (none should be: every customer's page is open)."""
    query = select(func.count()).select_from(ChatMessage).where(ChatMessage.sms_status != "none")
    return int(conn.scalar(query) or 0)


async def _health(
    http: aiohttp.ClientSession, base: str, args: argparse.Namespace
) -> tuple[Requests, float]:
    health = Requests()

    async def probe(_: int) -> None:
        began = time.perf_counter()
        try:
            async with http.get(f"{base}/healthz") as response:
                await response.read()
                if response.status != 200:
                    health.failed(f"HTTP {response.status}")
                    return
        except (aiohttp.ClientError, TimeoutError) as err:
            health.failed(f"{type(err).__name__}: {err}")
            return
        health.seconds.append(time.perf_counter() - began)

    lag = await paced(args.rate, args.duration, probe)
    return health, lag


async def _delivery(
    http: aiohttp.ClientSession,
    base: str,
    key: str,
    customers: list[Customer],
    args: argparse.Namespace,
    server: Server,
    probe: PostgresProbe | None,
    counter: PostgresCounter | None,
) -> dict[str, Any]:
    rng = random.Random(args.seed)
    tag = secrets.token_hex(3)
    sent: dict[str, tuple[Customer, float]] = {}
    posted: set[str] = set()
    posts = Requests()
    headers = {"Authorization": f"Bearer {key}"}

    async def post(i: int) -> None:
        customer = rng.choice(customers)
        body = f"bench {tag} #{i}"
        began = time.perf_counter()
        sent[body] = (customer, began)
        try:
            async with http.post(
                f"{base}/api/chats/{customer.chat_id}/messages",
                json={"body": body, "client_id": f"bench-{tag}-{i}"},
                headers=headers,
            ) as response:
                text = await response.text()
                if response.status != 201:
                    posts.failed(f"HTTP {response.status}: {text}")
                    return
        except (aiohttp.ClientError, TimeoutError) as err:
            posts.failed(f"{type(err).__name__}: {err}")
            return
        posts.seconds.append(time.perf_counter() - began)
        posted.add(body)

    window = Window(server.pid, probe, counter)
    await window.begin()
    lag = await paced(args.rate, args.duration, post)
    with contextlib.suppress(TimeoutError):  # what has not arrived by then counts as lost
        async with asyncio.timeout(DELIVERY_TIMEOUT_S):
            await _delivered(sent, posted)
    spent = await window.end()
    await asyncio.sleep(DUPLICATE_WATCH_S)
    latencies, lost, duplicates, delivered = [], 0, 0, 0
    for body, (customer, began) in sent.items():
        arrivals = customer.received.get(body, [])
        if not arrivals:
            lost += body in posted  # a refused POST stored nothing to deliver
            continue
        delivered += 1
        duplicates += len(arrivals) - 1
        latencies.append(arrivals[0] - began)
    misrouted = sum(
        1 for c in customers for body in c.received if body in sent and sent[body][0] is not c
    )
    return {
        "sent": len(sent),
        "posted": len(posted),
        "post": Percentiles.of(posts.seconds),
        "post_errors": dict(posts.errors),
        "post_start_lag_ms": round(1000 * lag, 1),
        "delivery": Percentiles.of(latencies),
        "delivered": delivered,
        "over_1s": sum(1 for t in latencies if t >= 1.0),
        "lost": lost,
        "duplicates": duplicates,
        "misrouted": misrouted,
        "busy": spent,
        "samples": posts.samples,
    }


async def _delivered(sent: dict[str, tuple[Customer, float]], posted: set[str]) -> None:
    """Return once every posted message has reached its socket."""
    while True:
        if all(sent[body][0].received.get(body) for body in posted):
            return
        await asyncio.sleep(POLL_S)


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Run:
    """Everything one bench run measured."""

    command: str
    date: str
    commit: str
    machine: dict[str, str]
    load_before: str
    settings: dict[str, Any]
    load_after: str = ""
    results: list[SetupResult] = field(default_factory=list)


COLUMNS: Final = (
    f"{'setup':<16}{'idle srv%':>10}{'PG%':>6}{'PG tx/s':>9}{'oth%':>6}"
    f"{'health p50/p95':>16}{'post p50/p95':>14}{'delivery p50/p95/max ms':>25}"
    f"{'got/sent':>10}{'lost':>5}{'dup':>4}{'busy srv%':>10}{'PG%':>6}{'PG tx/s':>9}"
    f"{'cli%':>6}{'recon':>6}{'warn':>5}"
)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _line(r: SetupResult) -> str:
    d = r.delivery
    return (
        f"{r.setup:<16}{r.idle.server_percent:>10.1f}{_pct(r.idle.database_percent):>6}"
        f"{_pct(r.idle.transactions_per_s):>9}{r.idle.other_percent:>6.0f}"
        f"{f'{r.health.p50_ms:.1f}/{r.health.p95_ms:.1f}':>16}"
        f"{f'{r.post.p50_ms:.0f}/{r.post.p95_ms:.0f}':>14}"
        f"{f'{d.p50_ms:.0f}/{d.p95_ms:.0f}/{d.max_ms:.0f}':>25}"
        f"{f'{r.delivered}/{r.sent}':>10}{r.lost:>5}{r.duplicates:>4}"
        f"{r.busy.server_percent:>10.1f}{_pct(r.busy.database_percent):>6}"
        f"{_pct(r.busy.transactions_per_s):>9}{r.busy.client_percent:>6.0f}"
        f"{r.reconnects_idle + r.reconnects_busy:>6}{r.server_log_warnings:>5}"
    )


def summary(run: Run) -> tuple[str, bool]:
    """Ratios to the baselines (health round trip, N = 1); whether every message arrived once."""
    lines = [""]
    for database in DEFAULT_DATABASES:
        rows = sorted((r for r in run.results if r.database == database), key=lambda r: r.sockets)
        if not rows:
            continue
        one = next((r for r in rows if r.sockets == 1), None)
        for r in rows:
            ratio = r.delivery.p50_ms / r.health.p50_ms
            parts = [f"{r.setup}: delivery p50 / health p50 {ratio:.1f}x"]
            if one is not None and r is not one:
                parts.append(f"delivery p50 / N=1 {r.delivery.p50_ms / one.delivery.p50_ms:.2f}x")
                n = r.sockets - one.sockets
                extra = (r.idle.server_percent - one.idle.server_percent) * 100 / n
                parts.append(f"idle server CPU per 100 more sockets {extra:.1f} % of a core")
                if r.idle.database_percent is not None and one.idle.database_percent is not None:
                    pg = (r.idle.database_percent - one.idle.database_percent) * 100 / n
                    parts.append(f"PG {pg:.1f} %")
                if r.idle.transactions_per_s is not None and one.idle.transactions_per_s:
                    tx = (r.idle.transactions_per_s - one.idle.transactions_per_s) / n
                    parts.append(f"PG transactions per idle socket {tx:.2f}/s")
            if r.busy.transactions_per_s is not None and r.idle.transactions_per_s is not None:
                extra = (r.busy.transactions_per_s - r.idle.transactions_per_s) * r.busy.wall_s
                parts.append(f"PG transactions per message {extra / max(1, r.delivered):.1f}")
            parts.append(f"deliveries >= 1 s: {r.over_1s}")
            lines.append("; ".join(parts))
    clean = all(r.clean for r in run.results)
    for r in run.results:
        if not r.clean:
            lines.append(
                f"ERRORS in {r.setup}: posted {r.posted}/{r.sent}, delivered {r.delivered}, "
                f"lost {r.lost}, duplicates {r.duplicates}, misrouted {r.misrouted}, "
                f"health errors {r.health_errors}, post errors {r.post_errors}, "
                f"socket errors {r.socket_errors}; {r.error_samples}"
            )
        if r.reconnects_idle or r.reconnects_busy or r.server_log_warnings:
            lines.append(
                f"{r.setup}: reconnects {r.reconnects_idle} idle + {r.reconnects_busy} busy "
                f"(ends {r.connection_ends}); server log warnings {r.server_log_warnings}: "
                f"{r.server_log_samples}"
            )
    return "\n".join(lines), clean


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--databases",
        nargs="+",
        choices=DEFAULT_DATABASES,
        default=list(DEFAULT_DATABASES),
        help="in this order",
    )
    parser.add_argument(
        "--sockets",
        nargs="+",
        type=int,
        default=list(DEFAULT_SOCKETS),
        help="open customer sockets per setup (include 1: the baseline)",
    )
    parser.add_argument("--idle", type=float, default=15.0, help="idle window, seconds")
    parser.add_argument("--rate", type=float, default=20.0, help="messages (and probes) per s")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of messages")
    parser.add_argument("--seed", type=int, default=5, help="seed of the chats' random choice")
    parser.add_argument(
        "--prompt-cache",
        type=Path,
        default=None,
        help="persistent prompt cache (skips synthesis on later runs)",
    )
    parser.add_argument("--pg-admin-dsn", default=PG_ADMIN_DSN)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    return parser


def _checked(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[Setup]:
    if not all(1 <= n <= MAX_SOCKETS for n in args.sockets):
        parser.error(f"--sockets must be 1..{MAX_SOCKETS}")
    if not 0 < args.rate <= MAX_RATE:
        parser.error(f"--rate must be in (0, {MAX_RATE:g}]")
    if not (0 < args.idle <= MAX_PHASE_S and 0 < args.duration <= MAX_PHASE_S):
        parser.error(f"--idle and --duration must be in (0, {MAX_PHASE_S:g}]")
    if args.rate * args.duration < 1:
        parser.error("--rate x --duration must make at least one message")
    if urlsplit(args.pg_admin_dsn).hostname not in {"127.0.0.1", "localhost"}:
        parser.error("--pg-admin-dsn must point at 127.0.0.1")
    return [Setup(d, n) for d in args.databases for n in args.sockets]


def _git_commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    )
    if done.returncode != 0:
        return "unknown (not a git checkout)"
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True)
    return done.stdout.strip() + (" (working tree changed)" if dirty.stdout.strip() else "")


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    """Run the bench; exit code 1 when a message was lost, repeated or misrouted, or failed."""
    parser = _parser()
    args = parser.parse_args()
    setups = _checked(parser, args)
    run = Run(
        command=" ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv]),
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        commit=_git_commit(),
        machine=machine(),
        load_before=_load(),
        settings={
            "databases": args.databases,
            "sockets": args.sockets,
            "idle_s": args.idle,
            "rate": args.rate,
            "duration_s": args.duration,
            "seed": args.seed,
        },
    )
    m = run.machine
    print(
        f"# {run.command}\n# {run.date}, commit {run.commit}, load {run.load_before}; "
        f"{m['cpus']} CPUs ({m['cpu_model']}), Python {m['python']}, aiohttp {m['aiohttp']}\n"
        f"# idle {args.idle:g} s; {args.rate:g}/s for {args.duration:g} s (health, then "
        f"messages); CPU in % of one core\n{COLUMNS}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="vd-bench-chat-") as tmp:
        for setup in setups:
            result = run_setup(setup, args, Path(tmp))
            run.results.append(result)
            print(_line(result), flush=True)
    run.load_after = _load()
    text, clean = summary(run)
    print(text)
    print(f"# load after: {run.load_after}")
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(run), indent=2, default=str) + "\n")
    return 0 if clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
