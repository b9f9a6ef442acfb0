"""Migration 0004 masks the sensitive values of calls that ended before every ending did."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from alembic import command

from history.db import create_engine
from history.migrate import alembic_config, upgrade
from history.store import SqlHistoryStore

AT = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
MENU = {
    "id": "bank",
    "nodes": {
        "account": {"type": "collect", "variable": "account_number", "sensitive": True},
        "birthday": {"type": "collect", "variable": "birth_year"},
    },
}
STATE: dict[str, Any] = {
    "menu_id": "bank",
    "node": "account",
    "phase": "listening",
    "variables": {"account_number": "58294617", "birth_year": "1980"},
    "prompts": [["오", "ko"], ["팔", "ko"]],
    "confirming": "digits:58294617",
}


async def _call(store: SqlHistoryStore, sid: str, checksum: str, *, ended: bool) -> None:
    await store.open_call(
        call_sid=sid, caller="+821077778888", called="+8215881234", direction="inbound",
        menu_id="bank", menu_checksum=checksum, state=STATE, at=AT,
    )  # fmt: skip
    written = await store.commit_turn(
        call_sid=sid, expected_version=1, state=STATE, events=[], response=None,
        ended=ended, at=AT,
    )  # fmt: skip
    assert written


async def test_ended_calls_are_scrubbed_and_live_ones_kept(database_url: str) -> None:
    config = alembic_config(database_url)
    await asyncio.to_thread(command.upgrade, config, "0003")
    engine = create_engine(database_url)
    store = SqlHistoryStore(engine)
    try:
        await store.save_menu_version(menu_id="bank", checksum="c1", content=MENU, at=AT)
        await _call(store, "CA-ended", "c1", ended=True)
        await _call(store, "CA-live", "c1", ended=False)
        await _call(store, "CA-unknown-menu", "gone", ended=True)

        await upgrade(database_url)

        ended = await store.get_call("CA-ended")
        live = await store.get_call("CA-live")
        orphan = await store.get_call("CA-unknown-menu")
    finally:
        await store.close()
        await engine.dispose()
    assert ended is not None and live is not None and orphan is not None
    assert ended.state["variables"] == {"account_number": "********", "birth_year": "1980"}
    assert ended.state["prompts"] == [] and ended.state["confirming"] is None
    assert live.state == STATE
    assert orphan.state["variables"] == {"account_number": "********", "birth_year": "****"}
