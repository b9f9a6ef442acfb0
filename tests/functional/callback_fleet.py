"""Several ``voicedesk serve`` processes on one database dialling callbacks through the stand-in.

The pieces the callback dispatch test (tests/functional/test_callback_dispatch.py) and its
benchmark (bench/callbacks.py) share: due requests stored through
``history.callback_requests.open_request``, real server processes (start, freeze, SIGKILL), a
failover proxy standing for the load balancer Twilio's status callbacks reach, and the
questions asked of the database while and after the instances work.

Nothing here imports the suite's conftest: the benchmark imports this module as a script.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import aiohttp
from aiohttp import web
from sqlalchemy import Connection, func, select

from config.loader import menu_checksum, read_menu_source
from config.settings import SHIPPED_MENU
from history.callback_requests import CallbackRequest, open_request
from history.models import OPEN_CALLBACK_STATUSES, Callback, InteractionEvent

REPO: Final = Path(__file__).resolve().parents[2]
VOICEDESK: Final = Path(sys.executable).parent / "voicedesk"
HOST: Final = "127.0.0.1"

# A first start synthesizes the shipped menu's prompts (espeak-ng) before /readyz answers.
READY_TIMEOUT_S: Final = 60.0
# SIGINT lets aiohttp shut down gracefully; a server still up after this is killed.
STOP_TIMEOUT_S: Final = 15.0
# A backend that accepted the connection but answers nothing this long is treated as dead.
UPSTREAM_TIMEOUT_S: Final = 10.0

# The request as the shipped menu's queue node would store it (the callback offer in "agents").
FROM_NUMBER: Final = "+8215880000"
QUEUE: Final = "general"
NODE: Final = "agents"
# Headers Twilio sends that the server reads; the rest is the proxy's business.
FORWARDED_HEADERS: Final = (
    "Content-Type",
    "X-Twilio-Signature",
    "I-Twilio-Idempotency-Token",
    "User-Agent",
)


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def phones(count: int, prefix: str = "+8210") -> list[str]:
    """``count`` distinct fictional Korean mobile numbers (E.164)."""
    return [f"{prefix}{n:08d}" for n in range(count)]


async def shipped_menu_checksum() -> str:
    """The checksum the servers publish the shipped menu under (requests are pinned to it)."""
    source = await asyncio.to_thread(read_menu_source, SHIPPED_MENU)
    return menu_checksum(source)


def due_request(phone: str, *, at: datetime, checksum: str) -> CallbackRequest:
    """A queued callback for ``phone``, due at ``at``, as the queue's callback offer makes it.

    No confirmation SMS: the texts are another timer job's outbox, not the dialling measured.
    """
    return CallbackRequest(
        phone=phone,
        from_number=FROM_NUMBER,
        kind="queued",
        queue=QUEUE,
        menu_checksum=checksum,
        node=NODE,
        language="ko",
        requested_at=at,
        original_enqueued_at=at,
        due_at=at,
        max_attempts=3,
        sms=False,
    )


def open_requests(conn: Connection, requests: Sequence[CallbackRequest]) -> int:
    """Store every request in one transaction (all become due at the commit); how many."""
    for request in requests:
        _, created = open_request(conn, request)
        if not created:
            raise AssertionError(f"{request.phone} already had an open callback")
    return len(requests)


# --- what the database says --------------------------------------------------------------


@dataclass(frozen=True)
class RequestRow:
    """One callback request as it stands."""

    id: int
    phone: str
    status: str
    attempts: int
    call_sid: str | None
    claimed_by: str | None


def status_counts(conn: Connection) -> dict[str, int]:
    """Requests per status."""
    rows = conn.execute(select(Callback.status, func.count()).group_by(Callback.status))
    return {status: int(n) for status, n in rows}


def open_count(conn: Connection) -> int:
    """Requests still pending or being dialled."""
    return int(
        conn.scalar(
            select(func.count())
            .where(Callback.status.in_(OPEN_CALLBACK_STATUSES))
            .select_from(Callback)
        )
        or 0
    )


def requests(conn: Connection, *where: Any) -> list[RequestRow]:
    """Every request (matching ``where``), by id."""
    rows = conn.execute(
        select(
            Callback.id,
            Callback.phone,
            Callback.status,
            Callback.attempts,
            Callback.call_sid,
            Callback.claimed_by,
        )
        .where(*where)
        .order_by(Callback.id)
    )
    return [RequestRow(*row) for row in rows]


def in_flight(conn: Connection, instance: str) -> list[RequestRow]:
    """Attempts ``instance`` claimed that are still being dialled (with or without CallSid)."""
    return requests(conn, Callback.claimed_by == instance, Callback.status == "dialing")


def unplaced_claims(conn: Connection, instance: str) -> list[RequestRow]:
    """Attempts ``instance`` claimed and has not stored a CallSid for: its dials in flight."""
    return requests(
        conn,
        Callback.claimed_by == instance,
        Callback.status == "dialing",
        Callback.call_sid.is_(None),
    )


def events_of(conn: Connection, types: Sequence[str]) -> list[tuple[str, datetime, dict[str, Any]]]:
    """Every event of these types: (type, at, payload), oldest first."""
    rows = conn.execute(
        select(InteractionEvent.type, InteractionEvent.at, InteractionEvent.payload)
        .where(InteractionEvent.type.in_(list(types)))
        .order_by(InteractionEvent.at)
    )
    return [(kind, at, dict(payload)) for kind, at, payload in rows]


def event_counts(conn: Connection) -> dict[str, int]:
    """Events per type (the callbacks' part of the history)."""
    rows = conn.execute(
        select(InteractionEvent.type, func.count())
        .where(InteractionEvent.type.like("callback_%"))
        .group_by(InteractionEvent.type)
    )
    return {kind: int(n) for kind, n in rows}


# --- server processes ----------------------------------------------------------------------


@dataclass(frozen=True)
class FleetConfig:
    """What every instance of the fleet shares.

    Attributes:
        database_url: The one database (migrated beforehand).
        api_base: The REST stand-in's URL (``VOICEDESK_TWILIO_API_BASE``).
        public_url: The URL Twilio knows the service by (the same for every instance).
        account_sid: The Twilio account.
        auth_token: Its auth token (signs webhooks, authenticates REST).
        prompt_cache: One prompt cache for all (content-addressed).
        workdir: Where the servers run and write their logs.
        reconcile_after_seconds: ``VOICEDESK_CALLBACK_RECONCILE_AFTER_SECONDS``.
        status_check_after_seconds: ``VOICEDESK_CALLBACK_STATUS_CHECK_AFTER_SECONDS``.
        log_level: The servers' log level.

    """

    database_url: str
    api_base: str
    public_url: str
    account_sid: str
    auth_token: str
    prompt_cache: Path
    workdir: Path
    reconcile_after_seconds: int = 3
    status_check_after_seconds: int = 10
    log_level: str = "WARNING"

    def environment(self, instance_id: str) -> dict[str, str]:
        """The environment of one ``voicedesk serve`` (no VOICEDESK_ setting of ours leaks)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEDESK_")}
        env["PYTHONPATH"] = str(REPO)  # the working tree, whatever the venv has installed
        env.update(
            {
                "VOICEDESK_DATABASE_URL": self.database_url,
                "VOICEDESK_TWILIO_ACCOUNT_SID": self.account_sid,
                "VOICEDESK_TWILIO_AUTH_TOKEN": self.auth_token,
                "VOICEDESK_TWILIO_API_BASE": self.api_base,
                "VOICEDESK_PUBLIC_URL": self.public_url,
                "VOICEDESK_CALLBACK_MODE": "customer_first",
                "VOICEDESK_CALLBACKS_ENABLED": "true",
                "VOICEDESK_SPEECH_ENABLED": "false",
                "VOICEDESK_CALLBACK_RECONCILE_AFTER_SECONDS": str(self.reconcile_after_seconds),
                "VOICEDESK_CALLBACK_STATUS_CHECK_AFTER_SECONDS": str(
                    self.status_check_after_seconds
                ),
                "VOICEDESK_INSTANCE_ID": instance_id,
                "VOICEDESK_PROMPT_CACHE_DIR": str(self.prompt_cache),
                "VOICEDESK_JOURNAL_DIR": str(self.prompt_cache.parent / f"journal-{instance_id}"),
                "VOICEDESK_LOG_LEVEL": self.log_level,
            }
        )
        return env


@dataclass
class Server:
    """One ``voicedesk serve`` process we started."""

    instance_id: str
    port: int
    process: asyncio.subprocess.Process
    log: Path

    @property
    def url(self) -> str:
        """Where it listens."""
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        """Its process id."""
        return self.process.pid

    async def wait_ready(self, session: aiohttp.ClientSession) -> None:
        """Poll ``/readyz`` until 200; fail with the end of its log if it exits or takes long."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline and self.process.returncode is None:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(f"{self.url}/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
        raise AssertionError(
            f"{self.instance_id} never became ready (exit code {self.process.returncode}):\n"
            + await self.log_tail()
        )

    def freeze(self) -> None:
        """SIGSTOP, now, without yielding to the event loop: it sends and writes nothing more."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGSTOP)

    async def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, whatever it was doing is cut off."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        """SIGINT (aiohttp's graceful shutdown), then SIGKILL if it hangs."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                await self.kill()

    async def log_tail(self, chars: int = 3000) -> str:
        """The end of its log."""
        text = await asyncio.to_thread(self.log.read_text, errors="replace")
        return text[-chars:]


async def start_server(config: FleetConfig, instance_id: str, port: int) -> Server:
    """Start ``voicedesk serve --port port`` as ``instance_id`` (log: ``<workdir>/<id>.log``)."""
    log = config.workdir / f"{instance_id}.log"
    sink = await asyncio.to_thread(log.open, "ab")
    try:
        process = await asyncio.create_subprocess_exec(
            str(VOICEDESK),
            "serve",
            "--port",
            str(port),
            env=config.environment(instance_id),
            cwd=config.workdir,
            stdout=sink,
            stderr=asyncio.subprocess.STDOUT,
        )
    finally:
        await asyncio.to_thread(sink.close)
    return Server(instance_id, port, process, log)


# --- the load balancer in front of the instances --------------------------------------------


@dataclass
class ProxyCounts:
    """What the proxy did.

    Attributes:
        forwarded: Requests answered by a backend.
        failed_over: Connection attempts a dead backend refused (the next one was tried).
        cut_off: Requests a backend took and died on: answered 502, not repeated.
        by_backend: Requests answered, per backend URL.

    """

    forwarded: int = 0
    failed_over: int = 0
    cut_off: int = 0
    by_backend: Counter[str] = field(default_factory=Counter)


class FailoverProxy:
    """The load balancer Twilio's webhooks reach: round robin, skipping a dead backend.

    A backend that refuses the connection is skipped and the next one tried, as nginx does
    (``proxy_next_upstream error``). A request a backend accepted and then died on is answered
    502 and not repeated elsewhere, as nginx does for a non-idempotent POST; Twilio does not
    repeat a status callback either, so that one is lost and the reconciler has to ask Twilio
    (``status_check_after`` → ``fetch_call``). No keep-alive to the backends: a connection that
    died with its process must not be mistaken for a request the backend took.
    """

    def __init__(self, backends: Sequence[str]) -> None:
        """Balance over ``backends`` (base URLs)."""
        self.backends = list(backends)
        self.counts = ProxyCounts()
        self.url = ""
        self._turn = itertools.count()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> str:
        """Listen on a free local port; returns the URL to deliver webhooks to."""
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True, limit=0),
            timeout=aiohttp.ClientTimeout(total=UPSTREAM_TIMEOUT_S),
        )
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0)
        await site.start()
        self.url = f"http://{HOST}:{self._runner.addresses[0][1]}"
        return self.url

    async def close(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {k: request.headers[k] for k in FORWARDED_HEADERS if k in request.headers}
        first = next(self._turn)
        for i in range(len(self.backends)):
            backend = self.backends[(first + i) % len(self.backends)]
            try:
                async with self._session.request(
                    request.method, backend + request.path_qs, data=body, headers=headers
                ) as answer:
                    payload = await answer.read()
                    self.counts.forwarded += 1
                    self.counts.by_backend[backend] += 1
                    return web.Response(
                        status=answer.status,
                        body=payload,
                        headers={"Content-Type": answer.headers.get("Content-Type", "text/plain")},
                    )
            except aiohttp.ClientConnectorError:
                self.counts.failed_over += 1
            except (aiohttp.ClientError, TimeoutError):
                self.counts.cut_off += 1
                return web.Response(status=502, text="upstream died mid-request")
        return web.Response(status=502, text="no upstream answers")
