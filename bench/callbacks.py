"""Callback dispatch: how many due callbacks per second 1 or 2 ``voicedesk serve`` dial, in one run.

    .venv/bin/python bench/callbacks.py
    .venv/bin/python bench/callbacks.py --requests 2000 --json /tmp/bench-callbacks.json
    .venv/bin/python bench/callbacks.py --setups postgresql:2 postgresql:1

Each setup (database : instances) gets a fresh database (a SQLite file, or a new database on
the local PostgreSQL, migrated and dropped afterwards), the simulator's REST stand-in for
Twilio in this process (every number answers after 2 simulated seconds and talks 3, at 0.02
real seconds per simulated second), a round-robin proxy in this process in front of the
instances for Twilio's status callbacks (tests/functional/callback_fleet.py), and 1 or 2 real
``voicedesk serve`` processes in ``customer_first`` mode. Once every instance answers /readyz,
``--requests`` queued callbacks are stored in one transaction through
``history.callback_requests.open_request``, so all of them become due at the commit; the run
ends when none is pending or dialling. Measured from the history the instances wrote:

- dispatched: first ``callback_claimed`` → the last CallSid stored (``callback_dialing``, or
  the first status callback when it stored the CallSid before the dialer did); a claim is
  stamped before it waits for the write lock, so a stamp before the commit counts as the
  commit (SQLite: the servers' first claims wait for the seeding transaction);
- dialed: first claim → the last ``callback_answered`` (the call's final status applied);
- per callback, claim → CallSid stored (p50/p95): the wait inside a claimed batch;
- CPU per dispatched callback: the servers (``/proc/<pid>/stat``, all threads), the PostgreSQL
  backends of the bench database, this process (stand-in and proxy), from the commit to the
  end; "other" is what the rest of the machine used meanwhile (% of one core);
- duplicates: numbers the stand-in was asked to call more than once (must be 0), and requests
  not ``dialed`` after exactly one attempt (must be 0).

The baseline is the same setup with one instance, in the same run. Only 127.0.0.1 is
contacted; every wait is bounded.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

# Run as a script, this file's folder comes first on sys.path, and there "callbacks" is this
# very file, not voicedesk's callbacks package: put the repository root in its place. The
# fleet (servers, proxy, requests) lives with the functional test that kills one of them.
REPO: Final = Path(__file__).resolve().parent.parent
sys.path[:1] = [str(REPO), str(REPO / "tests" / "functional")]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import secrets  # noqa: E402
import shlex  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import aiohttp  # noqa: E402
import asyncpg  # type: ignore[import-untyped]  # noqa: E402
from callback_fleet import (  # noqa: E402
    FailoverProxy,
    FleetConfig,
    Server,
    due_request,
    events_of,
    free_port,
    open_count,
    open_requests,
    phones,
    requests,
    shipped_menu_checksum,
    start_server,
)

from bench.webhooks import (  # noqa: E402
    PG_ADMIN_DSN,
    PostgresProbe,
    cpu_seconds,
    machine,
    machine_busy_seconds,
    rank,
)
from history.db import Database, create_engine  # noqa: E402
from history.migrate import upgrade  # noqa: E402
from telephony.simulator.phones import Phone, PhoneBook  # noqa: E402
from telephony.simulator.rest_api import RestStandIn  # noqa: E402
from telephony.simulator.rest_record import StandInRecord  # noqa: E402

ACCOUNT_SID: Final = "AC" + "c" * 32
PUBLIC_URL: Final = "https://ivr.voicedesk.bench"
PHONE: Final = Phone(behaviour="answer", mode="signal_only", ring_seconds=2, talk_seconds=3)
TIME_SCALE: Final = 0.02
GOAL_PER_S: Final = 50.0
DEFAULT_SETUPS: Final = ("postgresql:2", "postgresql:1", "sqlite:2", "sqlite:1")
MAX_REQUESTS: Final = 20_000
# A setup whose requests are not all closed this long after the commit is reported as such.
RUN_TIMEOUT_S: Final = 600.0
POLL_S: Final = 0.1
# The instances idle this long after /readyz before the requests arrive (first tick, pools).
SETTLE_S: Final = 2.0


@dataclass(frozen=True)
class Setup:
    """One configuration: a database kind and a number of instances."""

    database: str
    instances: int

    @property
    def name(self) -> str:
        """``postgresql:2``."""
        return f"{self.database}:{self.instances}"


@dataclass
class SetupResult:
    """What one setup measured."""

    setup: str
    requests: int
    dispatch_s: float
    dialed_s: float
    dispatched_per_s: float
    dialed_per_s: float
    creates_per_s: float
    claim_to_sid_p50_ms: float
    claim_to_sid_p95_ms: float
    commit_to_first_claim_ms: float
    wall_s: float
    server_cpu_ms: float
    database_cpu_ms: float | None
    client_cpu_ms: float
    other_cpu_percent: float
    server_cpu_percent: float
    duplicates: int
    not_dialed_once: int
    share: dict[str, int] = field(default_factory=dict)
    lost_status_callbacks: int = 0


@dataclass
class Run:
    """Everything one bench run measured."""

    command: str
    date: str
    machine: dict[str, str]
    settings: dict[str, Any]
    results: list[SetupResult] = field(default_factory=list)


# --- one setup ---------------------------------------------------------------------------


async def run_setup(setup: Setup, args: argparse.Namespace, workdir: Path) -> SetupResult:
    """Fresh database, stand-in, proxy and instances; the burst; the figures."""
    name = f"vd_bench_cb_{secrets.token_hex(4)}"
    if setup.database == "postgresql":
        await _admin(args.pg_admin_dsn, f'CREATE DATABASE "{name}"')
        base = args.pg_admin_dsn.rsplit("/", 1)[0]
        url = base.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"
    else:
        url = f"sqlite+aiosqlite:///{workdir / (name + '.db')}"
    try:
        await upgrade(url)
        engine = await asyncio.to_thread(create_engine, url)
        database = Database(engine)
        try:
            return await _burst(setup, args, workdir, url, database, name)
        finally:
            await database.close()
            await engine.dispose()
    finally:
        if setup.database == "postgresql":
            await _admin(args.pg_admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _burst(
    setup: Setup,
    args: argparse.Namespace,
    workdir: Path,
    url: str,
    database: Database,
    database_name: str,
) -> SetupResult:
    token = secrets.token_hex(16)
    book = PhoneBook(default=PHONE)
    checksum = await shipped_menu_checksum()
    probe = PostgresProbe(args.pg_admin_dsn, database_name) if setup.database != "sqlite" else None
    async with RestStandIn(ACCOUNT_SID, token, phones=book, time_scale=TIME_SCALE) as twilio:
        ports = [free_port() for _ in range(setup.instances)]
        proxy = FailoverProxy([f"http://127.0.0.1:{port}" for port in ports])
        twilio.deliver_to(await proxy.start(), PUBLIC_URL)
        config = FleetConfig(
            database_url=url,
            api_base=twilio.url,
            public_url=PUBLIC_URL,
            account_sid=ACCOUNT_SID,
            auth_token=token,
            prompt_cache=args.prompt_cache or workdir / "prompts",
            workdir=workdir,
            # The defaults: nothing is reconciled in a healthy burst.
            reconcile_after_seconds=60,
            status_check_after_seconds=7200,
        )
        ids = [f"{setup.database}-{i + 1}" for i in range(setup.instances)]
        servers: list[Server] = []
        try:
            servers += await asyncio.gather(
                *(start_server(config, i, p) for i, p in zip(ids, ports, strict=True))
            )
            async with aiohttp.ClientSession() as session:
                await asyncio.gather(*(s.wait_ready(session) for s in servers))
            await asyncio.sleep(SETTLE_S)
            numbers = phones(args.requests)
            now = datetime.now(UTC)
            batch = [due_request(p, at=now, checksum=checksum) for p in numbers]
            await database.write(open_requests, batch)
            committed = datetime.now(UTC)
            window = await _Window.begin(servers, probe)
            await _until_closed(database)
            spent = await window.end()
        finally:
            await asyncio.gather(*(s.stop() for s in servers))
            await proxy.close()
            if probe is not None:
                await probe.close()
        await twilio.settle()
        record = twilio.record
    return await _figures(setup, database, record, committed, spent, proxy)


@dataclass(frozen=True)
class _Spent:
    wall_s: float
    server_cpu_s: float
    database_cpu_s: float | None
    client_cpu_s: float
    machine_busy_s: float


@dataclass
class _Window:
    """CPU clocks from the commit to the end of the burst."""

    servers: list[Server]
    probe: PostgresProbe | None
    wall: float
    server_cpu: float
    client_cpu: float
    busy: float

    @classmethod
    async def begin(cls, servers: list[Server], probe: PostgresProbe | None) -> _Window:
        if probe is not None:
            await probe.begin()
        return cls(
            servers,
            probe,
            time.perf_counter(),
            sum(cpu_seconds(s.pid) for s in servers),
            time.process_time(),
            machine_busy_seconds(),
        )

    async def end(self) -> _Spent:
        wall = time.perf_counter() - self.wall
        server = sum(cpu_seconds(s.pid) for s in self.servers) - self.server_cpu
        client = time.process_time() - self.client_cpu
        busy = machine_busy_seconds() - self.busy
        database = (await self.probe.end())[0] if self.probe is not None else None
        return _Spent(wall, server, database, client, busy)


async def _until_closed(database: Database) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while await database.read(open_count):
        if time.monotonic() > deadline:
            raise SystemExit(f"requests still open {RUN_TIMEOUT_S:g} s after the commit")
        await asyncio.sleep(POLL_S)


async def _figures(
    setup: Setup,
    database: Database,
    record: StandInRecord,
    committed: datetime,
    spent: _Spent,
    proxy: FailoverProxy,
) -> SetupResult:
    kinds = ["callback_claimed", "callback_dialing", "callback_call_status", "callback_answered"]
    events = await database.read(events_of, kinds)
    claimed: dict[int, datetime] = {}
    stored: dict[int, datetime] = {}
    answered: dict[int, datetime] = {}
    for kind, at, payload in events:
        cid = int(payload["callback_id"])
        if kind == "callback_claimed":
            claimed.setdefault(cid, at)
        elif kind == "callback_answered":
            answered.setdefault(cid, at)
        else:  # the CallSid is stored by whichever comes first
            stored[cid] = min(stored.get(cid, at), at)
    rows = await database.read(requests)
    n = len(rows)
    # A claim is stamped before it waits for the write lock; on SQLite the seeding transaction
    # holds that lock, so the first claims carry times before the commit. Nothing was due
    # before the commit: a claim counts from the commit at the earliest.
    claimed = {c: max(at, committed) for c, at in claimed.items()}
    first = min(claimed.values())
    dispatch_s = (max(stored.values()) - first).total_seconds()
    dialed_s = (max(answered.values()) - first).total_seconds()
    waits = sorted((stored[c] - claimed[c]).total_seconds() * 1000 for c in stored)
    created = sorted(call.created_at for call in record.calls)
    creates_s = (created[-1] - created[0]).total_seconds()
    busy_others = spent.machine_busy_s - spent.server_cpu_s - spent.client_cpu_s
    busy_others -= spent.database_cpu_s or 0.0
    return SetupResult(
        setup=setup.name,
        requests=n,
        dispatch_s=round(dispatch_s, 2),
        dialed_s=round(dialed_s, 2),
        dispatched_per_s=round(n / dispatch_s, 1),
        dialed_per_s=round(n / dialed_s, 1),
        creates_per_s=round((len(created) - 1) / creates_s, 1) if creates_s else math.nan,
        claim_to_sid_p50_ms=round(rank(waits, 50), 1),
        claim_to_sid_p95_ms=round(rank(waits, 95), 1),
        commit_to_first_claim_ms=round((first - committed).total_seconds() * 1000, 1),
        wall_s=round(spent.wall_s, 2),
        server_cpu_ms=round(1000 * spent.server_cpu_s / n, 2),
        database_cpu_ms=None
        if spent.database_cpu_s is None
        else round(1000 * spent.database_cpu_s / n, 2),
        client_cpu_ms=round(1000 * spent.client_cpu_s / n, 2),
        other_cpu_percent=round(100 * busy_others / spent.wall_s),
        server_cpu_percent=round(100 * spent.server_cpu_s / spent.wall_s),
        duplicates=sum(k - 1 for k in record.dial_counts().values() if k > 1),
        not_dialed_once=sum(1 for r in rows if (r.status, r.attempts) != ("dialed", 1)),
        share=dict(Counter(r.claimed_by or "-" for r in rows)),
        lost_status_callbacks=sum(1 for c in record.callbacks if c.http_status != 204),
    )


async def _admin(dsn: str, statement: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


# --- the run -------------------------------------------------------------------------------

COLUMNS: Final = (
    f"{'setup':<14}{'n':>6}{'dispatch s':>11}{'disp/s':>8}{'dialed/s':>9}{'creates/s':>10}"
    f"{'sid p50/p95 ms':>16}{'srv ms/cb':>10}{'PG ms/cb':>9}{'cli ms/cb':>10}{'srv%':>6}"
    f"{'oth%':>6}{'dup':>5}{'bad':>5}  share"
)


def _line(r: SetupResult) -> str:
    database = "-" if r.database_cpu_ms is None else f"{r.database_cpu_ms:.2f}"
    share = " ".join(f"{k}={v}" for k, v in sorted(r.share.items()))
    return (
        f"{r.setup:<14}{r.requests:>6}{r.dispatch_s:>11.2f}{r.dispatched_per_s:>8.1f}"
        f"{r.dialed_per_s:>9.1f}{r.creates_per_s:>10.1f}"
        f"{f'{r.claim_to_sid_p50_ms:.0f}/{r.claim_to_sid_p95_ms:.0f}':>16}"
        f"{r.server_cpu_ms:>10.2f}{database:>9}{r.client_cpu_ms:>10.2f}"
        f"{r.server_cpu_percent:>6.0f}{r.other_cpu_percent:>6.0f}{r.duplicates:>5}"
        f"{r.not_dialed_once:>5}  {share}"
    )


def summary(run: Run) -> tuple[str, bool]:
    """Ratios against one instance, the verdict on the goal; and whether every dial was clean."""
    by_setup = {r.setup: r for r in run.results}
    lines = [""]
    for database in ("postgresql", "sqlite"):
        two, one = by_setup.get(f"{database}:2"), by_setup.get(f"{database}:1")
        if two and one:
            lines.append(
                f"{database}: 2 instances / 1 instance: dispatched/s "
                f"{two.dispatched_per_s / one.dispatched_per_s:.2f}x, dialed/s "
                f"{two.dialed_per_s / one.dialed_per_s:.2f}x"
            )
    goal = by_setup.get("postgresql:2")
    if goal is not None:
        met = goal.dispatched_per_s >= GOAL_PER_S and goal.duplicates == 0
        lines.append(
            f"goal (postgresql, 2 instances, >= {GOAL_PER_S:g} dispatched/s, 0 duplicates): "
            f"{goal.dispatched_per_s:.1f}/s, {goal.duplicates} duplicates: "
            f"{'met' if met else 'MISSED'}"
        )
    clean = all(r.duplicates == 0 and r.not_dialed_once == 0 for r in run.results)
    if not clean:
        lines.append("ERRORS: duplicate dials or requests not dialled exactly once (see table)")
    return "\n".join(lines), clean


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="due callbacks per setup")
    parser.add_argument(
        "--setups",
        nargs="+",
        default=list(DEFAULT_SETUPS),
        help="database:instances, e.g. postgresql:2 sqlite:1 (in this order)",
    )
    parser.add_argument(
        "--prompt-cache",
        type=Path,
        default=None,
        help="persistent prompt cache (skips synthesis on later runs)",
    )
    parser.add_argument("--pg-admin-dsn", default=PG_ADMIN_DSN)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    return parser


def _setups(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[Setup]:
    if not 1 <= args.requests <= MAX_REQUESTS:
        parser.error(f"--requests must be 1..{MAX_REQUESTS}")
    if urlsplit(args.pg_admin_dsn).hostname not in {"127.0.0.1", "localhost"}:
        parser.error("--pg-admin-dsn must point at 127.0.0.1")
    setups = []
    for text in args.setups:
        database, _, count = text.partition(":")
        if database not in {"postgresql", "sqlite"} or count not in {"1", "2", "3", "4"}:
            parser.error(f"--setups: {text!r} is not postgresql|sqlite:1..4")
        setups.append(Setup(database, int(count)))
    return setups


async def bench(setups: list[Setup], args: argparse.Namespace, run: Run) -> None:
    """Every setup in turn, each on its own database."""
    with tempfile.TemporaryDirectory(prefix="vd-bench-cb-") as tmp:
        workdir = Path(tmp)
        for setup in setups:
            result = await run_setup(setup, args, workdir)
            run.results.append(result)
            print(_line(result), flush=True)


def main() -> int:
    """Run the bench; exit code 1 when any number was dialled twice or a request not once."""
    parser = _parser()
    args = parser.parse_args()
    setups = _setups(parser, args)
    run = Run(
        command=" ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv]),
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        machine=machine(),
        settings={"requests": args.requests, "setups": args.setups, "time_scale": TIME_SCALE},
    )
    m = run.machine
    print(
        f"# {run.command}\n# {m['cpus']} CPUs ({m['cpu_model']}), Python {m['python']}, "
        f"aiohttp {m['aiohttp']}; {args.requests} due callbacks per setup\n{COLUMNS}",
        flush=True,
    )
    asyncio.run(bench(setups, args, run))
    text, clean = summary(run)
    print(text)
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(run), indent=2, default=str) + "\n")
    return 0 if clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
