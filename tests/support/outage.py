"""The history database made unavailable for a while, for real: no mock of our own code.

SQLite: another connection holds the write lock, so a write waits out the busy timeout and
fails as "database is locked". PostgreSQL: the database stops accepting connections and the
app's connections are terminated, as in a failover or a restart.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

import asyncpg

MAINTENANCE_DATABASE: Final = "postgres"
"""The database every PostgreSQL server has (initdb creates it): the admin connects there."""


@asynccontextmanager
async def database_unavailable(database_url: str) -> AsyncIterator[None]:
    """While inside, writes (SQLite) or every statement (PostgreSQL) of the app fail."""
    if database_url.startswith("sqlite"):
        async with _sqlite_locked(database_url.split(":///", 1)[1]):
            yield
        return
    base, name = database_url.rsplit("/", 1)
    admin_dsn = base.replace("postgresql+asyncpg://", "postgresql://", 1)
    admin = await asyncpg.connect(f"{admin_dsn}/{MAINTENANCE_DATABASE}")
    try:
        await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        yield
        await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
    finally:
        await admin.close()


@asynccontextmanager
async def _sqlite_locked(path: str) -> AsyncIterator[None]:
    conn = await asyncio.to_thread(
        sqlite3.connect, path, isolation_level=None, check_same_thread=False
    )
    try:
        await asyncio.to_thread(conn.execute, "BEGIN IMMEDIATE")
        yield
        await asyncio.to_thread(conn.execute, "ROLLBACK")
    finally:
        await asyncio.to_thread(conn.close)
