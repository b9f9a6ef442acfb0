"""Nothing is lost while the database is down: calls, statuses and texts survive a 10 s outage.

PostgreSQL: a server this test owns is stopped for 10 s in the middle of calls, texts and status
callbacks, then started again. SQLite: another connection holds the file's write lock for 10 s.
Every caller gets usable TwiML throughout (a new call is queued with a working ``waitUrl``);
afterwards every event, status and message is in the history exactly once.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from conftest import AUTH_TOKEN, PUBLIC_URL, app_of, make_settings
from sqlalchemy import text
from test_call_webhooks import OPEN_HOURS, Clock, make_call
from twilio.request_validator import RequestValidator
from twilio_style import TwilioStyleCall

from history.journal import Journal
from history.migrate import upgrade
from tests.support.chats import open_chat
from tests.support.servers import PostgresServer
from web.app import create_app
from web.keys import JOURNAL, REPLAYER, STORE

OUTAGE_SECONDS = 10.0
# What the outage's webhooks journal: two outage routes (the new call, the running one), a
# status and Twilio's retry of it, a text, the queued caller's hang-up and their final status.
JOURNALED_WRITES = 7
# Long enough for a restarted server and the replay; a failure says how far it got.
RECOVERY_TIMEOUT_SECONDS = 60.0


async def _serve(database_url: str, prompt_cache: Path, **overrides: Any) -> TestServer:
    settings = make_settings(database_url, prompt_cache, callbacks_enabled=False, **overrides)
    app = create_app(settings, clock=Clock(OPEN_HOURS))
    server = TestServer(app)
    await server.start_server()
    return server


def _enqueue(document: ET.Element) -> ET.Element:
    enqueue = document.find("Enqueue")
    assert enqueue is not None, ET.tostring(document)
    return enqueue


async def _sms(server: TestServer, session: aiohttp.ClientSession, sid: str, sender: str) -> int:
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC" + "1" * 32,
        "From": sender,
        "To": "+8215881234",
        "Body": f"문자 {sid}",
    }
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC_URL}/twilio/sms", params)
    async with session.post(
        server.make_url("/twilio/sms"), data=params, headers={"X-Twilio-Signature": signature}
    ) as response:
        return response.status


async def _wait_for_replay(server: TestServer) -> float:
    journal = app_of(server)[JOURNAL]
    started = time.monotonic()
    while journal.depth:
        assert time.monotonic() - started < RECOVERY_TIMEOUT_SECONDS, f"{journal.depth} left"
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def _scalar(server: TestServer, sql: str, **params: Any) -> Any:
    def run(conn: Any) -> Any:
        return conn.execute(text(sql), params).scalar()

    return await app_of(server)[STORE].database.read(run)


async def _events(server: TestServer, call_sid: str, kind: str) -> int:
    return int(
        await _scalar(
            server,
            "SELECT count(*) FROM interaction_events e JOIN calls c "
            "ON c.interaction_id = e.interaction_id WHERE c.call_sid = :sid AND e.type = :kind",
            sid=call_sid,
            kind=kind,
        )
    )


Outage = Callable[[], Awaitable[None]]


async def _run_through_outage(server: TestServer, begin: Outage, end: Outage) -> dict[str, float]:
    figures: dict[str, float] = {}
    async with aiohttp.ClientSession() as session:
        before = await make_call(server, session, caller="+821011110001")
        ending = await make_call(server, session, caller="+821011110002")
        await before.twiml("/twilio/voice", status="ringing")
        await ending.twiml("/twilio/voice", status="ringing")
        texting = "+821011110001"  # a known customer now
        text_sid = "SM" + uuid.uuid4().hex

        await begin()
        started = time.monotonic()
        during = await make_call(server, session, caller="+821011110003")
        # Concurrent: on SQLite each first write waits out the busy timeout before journaling.
        new_call, existing, *statuses = await asyncio.gather(
            during.twiml("/twilio/voice", status="ringing"),
            before.twiml("/twilio/gather?turn=1", {"Digits": "1"}),
            ending.status_callback("completed"),
            _sms(server, session, text_sid, texting),
        )
        assert statuses == [204, 200]
        figures["depth_mid_outage"] = app_of(server)[JOURNAL].depth
        # A caller answered during the outage is queued with a working wait and action.
        enqueue = _enqueue(new_call)
        assert enqueue.get("waitUrl") and enqueue.get("action") and enqueue.text == "general"
        assert _enqueue(existing).get("waitUrl")
        hold = await during.twiml(str(enqueue.get("waitUrl")), {"QueueTime": "5"})
        assert [child.tag for child in hold] == ["Play", "Play"]
        # Twilio retries a status callback it got no answer to: still recorded once.
        ending.sequence -= 1
        assert await ending.status_callback("completed") == 204
        async with session.get(server.make_url("/readyz")) as response:
            ready = await response.json()
        assert response.status == 200 and ready["status"] == "degraded", ready
        assert ready["journal"]["depth"] >= 4
        figures["journal_depth"] = app_of(server)[JOURNAL].depth
        await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - started)))
        # The caller queued during the outage hangs up: the Enqueue's action, then the status.
        left = await during.twiml(str(enqueue.get("action")), {"QueueResult": "hangup"})
        assert [child.tag for child in left][-1] == "Hangup"
        assert await during.status_callback("completed", duration=30) == 204
        figures["outage_seconds"] = time.monotonic() - started
        figures["journal_depth"] = app_of(server)[JOURNAL].depth
        await end()
        figures["replay_seconds"] = await _wait_for_replay(server)

    figures["replayed"] = app_of(server)[REPLAYER].replayed
    assert app_of(server)[JOURNAL].set_aside == 0
    store = app_of(server)[STORE]
    new = await store.get_call(during.call_sid)
    assert new is not None and new.ended, "the call started during the outage is in the history"
    assert await _events(server, during.call_sid, "outage") == 1
    assert await _events(server, during.call_sid, "call_status") == 1
    assert await _events(server, before.call_sid, "outage") == 1
    assert await _events(server, ending.call_sid, "call_status") == 1
    ended = await store.get_call(ending.call_sid)
    assert ended is not None and ended.ended
    texts = "SELECT count(*) FROM chat_messages WHERE external_sid = :sid AND sender = 'customer'"
    assert await _scalar(server, texts, sid=text_sid) == 1
    # The queued caller joined the line (at the outage's time) and left it when they hung up.
    members = "SELECT count(*) FROM queue_members WHERE call_sid = :sid AND left_at IS NOT NULL"
    assert await _scalar(server, members, sid=during.call_sid) == 1
    return figures


def _report(
    database: str, figures: dict[str, float], record: Callable[[str, object], None]
) -> None:
    for name, value in figures.items():
        record(name, value)
    print(f"{database} outage figures:", figures)


@pytest.fixture
async def postgres_outage(
    own_postgres: PostgresServer, prompt_cache: Path
) -> AsyncIterator[tuple[TestServer, Outage, Outage]]:
    url = await asyncio.to_thread(own_postgres.create_database, "outage")
    await upgrade(url)
    server = await _serve(url, prompt_cache)

    async def begin() -> None:
        await asyncio.to_thread(own_postgres.stop)

    async def end() -> None:
        await asyncio.to_thread(own_postgres.start)

    yield server, begin, end
    await server.close()


async def test_nothing_is_lost_while_postgresql_is_down(
    postgres_outage: tuple[TestServer, Outage, Outage],
    record_property: Callable[[str, object], None],
) -> None:
    server, begin, end = postgres_outage
    figures = await _run_through_outage(server, begin, end)
    _report("postgresql", figures, record_property)
    assert figures["outage_seconds"] >= OUTAGE_SECONDS
    assert figures["journal_depth"] == figures["replayed"] == JOURNALED_WRITES


@asynccontextmanager
async def _sqlite_locker(path: Path) -> AsyncIterator[tuple[Outage, Outage]]:
    release = threading.Event()
    locked = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("BEGIN EXCLUSIVE")
            locked.set()
            release.wait(RECOVERY_TIMEOUT_SECONDS)
            conn.execute("ROLLBACK")
        finally:
            conn.close()

    holder: asyncio.Future[None] | None = None

    async def begin() -> None:
        nonlocal holder
        holder = asyncio.ensure_future(asyncio.to_thread(hold))
        assert await asyncio.to_thread(locked.wait, 5)

    async def end() -> None:
        release.set()
        assert holder is not None
        await holder

    try:
        yield begin, end
    finally:
        release.set()
        if holder is not None:
            await holder


async def test_nothing_is_lost_while_sqlite_is_locked(
    tmp_path: Path, prompt_cache: Path, record_property: Callable[[str, object], None]
) -> None:
    path = tmp_path / "voicedesk.db"
    server = await _serve(f"sqlite+aiosqlite:///{path}", prompt_cache)
    try:
        async with _sqlite_locker(path) as (begin, end):
            figures = await _run_through_outage(server, begin, end)
    finally:
        await server.close()
    _report("sqlite", figures, record_property)
    assert figures["outage_seconds"] >= OUTAGE_SECONDS
    assert figures["journal_depth"] == figures["replayed"] == JOURNALED_WRITES


async def test_a_journal_left_by_a_stopped_instance_is_replayed_by_the_next(
    tmp_path: Path, prompt_cache: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'voicedesk.db'}"
    journal_dir = tmp_path / "journal"
    first = await _serve(url, prompt_cache, journal_dir=journal_dir)
    async with aiohttp.ClientSession() as session:
        call: TwilioStyleCall = await make_call(first, session)
        await call.twiml("/twilio/voice", status="ringing")
    await first.close()
    # An instance that died holding a journaled status callback.
    dead = Journal(journal_dir, "dead-instance")
    dead.register("call_status", _never_called)
    await dead.open()
    entry = {
        "call_sid": call.call_sid, "status": "completed", "sequence": 1, "duration": 9,
        "final": True, "at": OPEN_HOURS.isoformat(),
    }  # fmt: skip
    await dead.append("call_status", entry)
    await dead.close()

    second = await _serve(url, prompt_cache, journal_dir=journal_dir)
    try:
        await _wait_for_replay(second)
        record = await app_of(second)[STORE].get_call(call.call_sid)
        assert record is not None and record.ended
        assert await _events(second, call.call_sid, "call_status") == 1
        files = await asyncio.to_thread(lambda: sorted(journal_dir.glob("*.sqlite3")))
        assert [f.name for f in files] == [app_of(second)[JOURNAL].path.name]
    finally:
        await second.close()


async def _never_called(entry: Any) -> None:
    raise AssertionError("the dead instance never writes")


async def test_a_customer_chat_message_not_taken_is_sent_again_by_the_page(
    tmp_path: Path, prompt_cache: Path
) -> None:
    path = tmp_path / "voicedesk.db"
    server = await _serve(f"sqlite+aiosqlite:///{path}", prompt_cache)
    chat = await open_chat(app_of(server))
    socket_url = server.make_url(f"/chat/{chat.token}/ws")
    try:
        async with _sqlite_locker(path) as (begin, end), aiohttp.ClientSession() as http:
            async with http.ws_connect(socket_url) as ws:
                await ws.send_json({"type": "hello", "after": 0})
                await begin()
                await ws.send_json({"type": "send", "body": "안녕하세요", "client_id": "c1"})
                refused = await _refusal(ws)
            # Not taken, and the page was told so: it keeps the message and sends it again
            # (after retry_after, or when it reconnects after a 1013 close, as chat.js does).
            assert refused in ({"retry_after": 5, "client_id": "c1"}, {"closed": 1013})
            await end()
            async with http.ws_connect(socket_url) as ws:
                await ws.send_json({"type": "hello", "after": 0})
                await ws.send_json({"type": "send", "body": "안녕하세요", "client_id": "c1"})
                await ws.send_json({"type": "send", "body": "안녕하세요", "client_id": "c1"})
                taken = await _next_message(ws)
        assert taken["body"] == "안녕하세요"
        bodies = "SELECT count(*) FROM chat_messages WHERE client_id = 'c1'"
        assert await _scalar(server, bodies) == 1
    finally:
        await server.close()


async def _refusal(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    async with asyncio.timeout(30):
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            data = message.json()
            if data["type"] == "error":
                return {"retry_after": data.get("retry_after"), "client_id": data.get("client_id")}
    return {"closed": ws.close_code}


async def _next_message(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while True:
            data = await ws.receive_json()
            if data["type"] == "message":
                return dict(data["message"])
