"""The engine: SQLite pragmas and transaction modes, and driver errors translated at the edge."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from history.db import SQLITE_BUSY_TIMEOUT, Database, HistoryUnavailableError, create_engine
from history.store import SqlHistoryStore


def try_to_write(path: Path) -> bool:
    """Whether another connection can take the write lock right now (no waiting)."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as err:
        assert "locked" in str(err)
        return False
    finally:
        conn.close()


def pragmas(conn: Connection) -> list[object]:
    return [
        conn.scalar(text(f"PRAGMA {name}"))
        for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
    ]


async def test_sqlite_connections_use_wal_normal_sync_busy_timeout_and_foreign_keys(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    db = Database(engine)
    try:
        async with engine.connect() as conn:
            async_pragmas = await conn.run_sync(pragmas)
        written = await db.write(pragmas)
        read = await db.read(pragmas)
    finally:
        await db.close()
        await engine.dispose()

    busy_ms = int(SQLITE_BUSY_TIMEOUT.total_seconds() * 1000)
    # synchronous 1 = NORMAL
    assert async_pragmas == written == read == ["wal", 1, busy_ms, 1]


async def test_sqlite_transactions_take_the_write_lock_up_front_unless_read_only(
    tmp_path: Path,
) -> None:
    path = tmp_path / "db.sqlite"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    db = Database(engine)

    def select_then_try_to_write(conn: Connection) -> bool:
        conn.execute(text("SELECT 1"))
        return try_to_write(path)

    try:
        writable_during_write = await db.write(select_then_try_to_write)
        writable_during_read = await db.read(select_then_try_to_write)
    finally:
        await db.close()
        await engine.dispose()

    assert not writable_during_write
    assert writable_during_read


async def test_an_unreachable_postgresql_is_reported_as_unavailable() -> None:
    engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    store = SqlHistoryStore(engine)
    try:
        with pytest.raises(HistoryUnavailableError):
            await store.ping()
    finally:
        await store.close()
        await engine.dispose()


async def test_an_unopenable_sqlite_file_is_reported_as_unavailable(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'db.sqlite'}")
    store = SqlHistoryStore(engine)
    try:
        with pytest.raises(HistoryUnavailableError):
            await store.ping()
    finally:
        await store.close()
        await engine.dispose()


def test_other_drivers_are_refused() -> None:
    with pytest.raises(ValueError, match="aiosqlite"):
        create_engine("sqlite:///plain.db")
