"""No sensitive value a caller gave survives their call in clear, anywhere in the database.

Every call path of the shipped menu that collects the account number (a sensitive collect
node) is run to its end; then every text of every row of every table is searched for the
number, whole or spread over a read-back (one digit per prompt, digit words).
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestServer
from conftest import AppFactory, app_of
from sqlalchemy import Connection, MetaData, select
from test_call_webhooks import OPEN_HOURS, Clock
from test_simulated_calls import call, nodes_of

from calls.menus import MenuRegistry
from calls.service import CallService
from config.loader import read_menu_source
from config.menu import Menu
from config.settings import SHIPPED_MENU
from ivr import actions as act
from ivr import events as ev
from web.keys import CALLS, MENUS, STORE

# Distinct digits, so that a match is the number and not a date or a count.
SECRET = "58294617"
KOREAN_DIGITS = dict(zip("0123456789", "공일이삼사오육칠팔구", strict=True))
ENGLISH_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ENGLISH_DIGITS = dict(zip("0123456789", ENGLISH_WORDS, strict=True))


def _spread(words: list[str]) -> re.Pattern[str]:
    # The digits in order with nothing but punctuation, spaces or JSON between them.
    return re.compile(r"[^0-9A-Za-z가-힣]{0,24}".join(re.escape(w) for w in words))


LEAKS = (
    _spread(list(SECRET)),
    _spread([KOREAN_DIGITS[d] for d in SECRET]),
    re.compile(r"\W{0,24}".join(ENGLISH_DIGITS[d] for d in SECRET), re.IGNORECASE),
)


def _every_text(conn: Connection) -> list[tuple[str, str]]:
    metadata = MetaData()
    metadata.reflect(conn)
    found = []
    for table in metadata.sorted_tables:
        for row in conn.execute(select(table)):
            found.append((table.name, repr(tuple(row))))
    return found


async def leaks_of(server: TestServer) -> list[tuple[str, str]]:
    store = app_of(server)[STORE]
    rows = await store.database.read(_every_text)
    return [(table, text) for table, text in rows if any(p.search(text) for p in LEAKS)]


async def test_the_search_finds_a_number_held_by_a_live_call(start_app: AppFactory) -> None:
    # The detector itself: mid-call, the number being confirmed is in the live row.
    server = await start_app(clock=Clock(OPEN_HOURS))
    await _spoken_number_awaiting_confirmation(app_of(server)[CALLS], "CA" + "7" * 32)
    assert {table for table, _ in await leaks_of(server)} == {"calls"}


@pytest.mark.parametrize(
    "script",
    [
        pytest.param(["2", f"{SECRET}#"], id="balance-then-goodbye"),
        pytest.param(["2", "5829#", f"{SECRET}#"], id="short-entry-then-balance"),
        pytest.param(["2", f"{SECRET}1#", "-", "-"], id="long-entry-then-silence-to-agents"),
        pytest.param(["2", f"{SECRET[:7]}#"], id="hang-up-after-a-rejected-entry"),
    ],
)
async def test_no_account_number_in_clear_after_a_keypad_call(
    start_app: AppFactory, script: list[str]
) -> None:
    server = await start_app(clock=Clock(OPEN_HOURS))
    transcript = await call(server, script, queue_seconds=1)
    assert transcript.final_status == "completed"
    assert await leaks_of(server) == []
    record = await app_of(server)[STORE].get_call(transcript.call_sid)
    assert record is not None and record.ended


async def _render(menu: Menu, actions: Any) -> str:
    return "<Response/>"


async def _spoken_number_awaiting_confirmation(calls: CallService, sid: str) -> None:
    await calls.start(sid, "+821077778888", "+8215881234", _render)
    await calls.advance(sid, ev.DigitsEntered(OPEN_HOURS, "2"), None, _render)
    heard = " ".join(KOREAN_DIGITS[d] for d in SECRET)
    # A half-sure answer is read back one digit per prompt and waits for "예".
    spoken = ev.SpeechRecognized(
        OPEN_HOURS, heard, 0.5, heard, act.GRAMMAR_DIGITS, audio_ms=2400, decision_ms=300
    )
    await calls.advance(sid, spoken, None, _render)


@pytest.mark.parametrize("ending", ["status-callback", "failure"])
async def test_a_read_back_of_a_spoken_number_is_not_kept_after_the_call(
    start_app: AppFactory, ending: str
) -> None:
    server = await start_app(clock=Clock(OPEN_HOURS))
    calls = app_of(server)[CALLS]
    sid = "CA" + "5" * 32
    await _spoken_number_awaiting_confirmation(calls, sid)
    record = await app_of(server)[STORE].get_call(sid)
    assert record is not None and record.state.get("confirming"), "not awaiting confirmation"
    if ending == "status-callback":
        # The caller hangs up while the number is read back to them.
        await calls.report_status(sid, "completed", 7, 40, True)
    else:
        await calls.fail(sid, "a test failure", _render)
        await calls.report_status(sid, "completed", 8, 40, True)
    assert await leaks_of(server) == []


async def test_every_call_path_scrubs_with_its_own_pinned_menu(start_app: AppFactory) -> None:
    # A call pinned to a menu version that is no longer published is scrubbed by its own.
    server = await start_app(clock=Clock(OPEN_HOURS))
    calls = app_of(server)[CALLS]
    sid = "CA" + "6" * 32
    await _spoken_number_awaiting_confirmation(calls, sid)
    source = await asyncio.to_thread(read_menu_source, SHIPPED_MENU)
    source["id"] = "support-v2"
    await app_of(server)[MENUS].publish(source, OPEN_HOURS + timedelta(minutes=1))
    assert isinstance(app_of(server)[MENUS], MenuRegistry)
    await calls.report_status(sid, "completed", 3, 40, True)
    assert await leaks_of(server) == []


@pytest.fixture
def queued_after_balance(tmp_path: Path) -> Path:
    """The shipped menu, with the balance request followed by the agents' queue.

    The shipped menu hangs up after the balance request, so its account number never meets the
    queue, the callback and chat offers, or a chat's context: here it does.
    """
    source = read_menu_source(SHIPPED_MENU)
    source["nodes"]["balance_result"]["next"] = "agents"
    path = tmp_path / "queued_after_balance.yaml"
    path.write_text(yaml.safe_dump(source, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("offer", "table"),
    [
        pytest.param("1,1", "callbacks", id="callback-keeping-the-place"),
        pytest.param("2", "chat_sessions", id="chat-with-the-call-context"),
        pytest.param("-", "queue_members", id="hang-up-in-the-queue"),
    ],
)
async def test_no_account_number_in_clear_after_the_queue_and_its_offers(
    start_app: AppFactory, queued_after_balance: Path, offer: str, table: str
) -> None:
    server = await start_app(clock=Clock(OPEN_HOURS), menu=queued_after_balance)
    transcript = await call(server, ["2", f"{SECRET}#", *offer.split(",")], queue_seconds=90)
    assert transcript.final_status == "completed"
    rows = await app_of(server)[STORE].database.read(_every_text)
    assert any(name == table for name, _ in rows), (table, await nodes_of(server, transcript))
    assert await leaks_of(server) == []
