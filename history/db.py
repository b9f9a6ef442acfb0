"""The database engine: SQLite tuned for one writer at a time, or PostgreSQL through asyncpg.

Transactions on SQLite
----------------------
SQLite allows one writer per file. With the driver's usual deferred ``BEGIN`` a transaction that
reads and then writes must upgrade to the write lock half-way; if another connection wrote in
between, its snapshot is stale and SQLite can only answer ``database is locked`` (waiting cannot
help, so ``busy_timeout`` does not apply). Measured: most concurrent read-then-write turns
failed. So this engine disables the driver's own ``BEGIN`` and emits ``BEGIN IMMEDIATE``: a
writing transaction takes the write lock up front and waits for it (``busy_timeout``) instead of
failing half-way. Measured: 0 failures.

Taking the write lock for a transaction that only reads would queue every read behind every
write for nothing. In WAL mode a reader never blocks and is never blocked by the writer, so a
transaction that will only read runs deferred: :meth:`Database.reading` (same pool, an
execution option switches the ``BEGIN``). The engine's default stays ``IMMEDIATE`` on purpose:
forgetting the option costs some concurrency, never correctness. Writers of one process also
queue in-process before taking the lock (see :class:`Database`).

PostgreSQL uses its default READ COMMITTED; the store serialises the few writes that must be
serialised with row locks (see :mod:`history.event_log`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, Final

from sqlalchemy import Dialect, event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.dml import Insert

# A writer waits this long for SQLite's write lock before giving up. Turns hold the lock for
# milliseconds, so reaching it means the database is stuck; 5 s stays well inside Twilio's 15 s
# webhook timeout, leaving time to answer the apology TwiML instead of dead air.
SQLITE_BUSY_TIMEOUT: Final = timedelta(seconds=5)

# asyncpg pool per instance. A turn holds a connection for a few milliseconds, so 5 steady
# connections carry hundreds of turns a second; 5 + 10 overflow keeps six instances within
# PostgreSQL's default max_connections (100) with room for admin tools.
POSTGRES_POOL_SIZE: Final = 5
POSTGRES_MAX_OVERFLOW: Final = 10

# Wait for a free pooled connection this long before failing the request (seconds), for the
# same reason as the busy timeout: stay inside Twilio's webhook timeout.
POOL_TIMEOUT_SECONDS: Final = 5.0

# Execution option that marks a transaction as read-only: on SQLite it begins DEFERRED.
READ_ONLY_OPTION: Final = "voicedesk_read_only"


class HistoryError(Exception):
    """The history store could not do what was asked; nothing of it was written."""


class HistoryUnavailableError(HistoryError):
    """The database cannot be reached or locked in time; retrying later may succeed.

    Callers answer 503 (readiness, API) or the apology TwiML (webhooks) instead of a stack trace.
    """


def create_engine(url: str) -> AsyncEngine:
    """Open an engine for ``url`` (``sqlite+aiosqlite://…`` or ``postgresql+asyncpg://…``).

    Args:
        url: SQLAlchemy async URL.

    Returns:
        The engine; every transaction begins ``IMMEDIATE`` on SQLite unless opened through
        :meth:`Database.reading`. Dispose of it with ``await engine.dispose()``.

    Raises:
        ValueError: The URL names another driver.

    """
    if url.startswith("sqlite+aiosqlite://"):
        return _sqlite_engine(url)
    if url.startswith("postgresql+asyncpg://"):
        return create_async_engine(
            url,
            pool_size=POSTGRES_POOL_SIZE,
            max_overflow=POSTGRES_MAX_OVERFLOW,
            pool_timeout=POOL_TIMEOUT_SECONDS,
            # A restarted server leaves dead pooled connections; one round trip per checkout
            # turns that into a reconnect instead of a failed webhook.
            pool_pre_ping=True,
        )
    raise ValueError("database URL must be sqlite+aiosqlite://… or postgresql+asyncpg://…")


class Database:
    """Transactions on one engine: writing ones queued in-process on SQLite, reading ones not.

    SQLite has one write lock per file. Writers of this process wait for it in a FIFO
    ``asyncio.Lock`` before taking a pooled connection, instead of each holding a connection
    while SQLite's busy handler polls with sleeps: measured, 60% more write transactions per
    second under a burst, no starved writer, and no pool exhaustion (1,000 concurrent writers
    exhausted the pool without it). ``busy_timeout`` still arbitrates between processes (a
    migration, a CLI). PostgreSQL needs no such queue. Share one instance per engine.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        """Use ``engine`` (from :func:`create_engine`); the caller disposes of it."""
        self.engine = engine
        self._reader = engine.execution_options(**{READ_ONLY_OPTION: True})
        self._write_queue = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that may write (``BEGIN IMMEDIATE`` on SQLite), committed on success.

        Raises:
            HistoryUnavailableError: The database was unreachable, busy past the timeout, or
                the connection dropped; the transaction was rolled back.

        """
        if self._write_queue is None:
            async with _translated(self.engine) as conn:
                yield conn
            return
        try:
            async with asyncio.timeout(SQLITE_BUSY_TIMEOUT.total_seconds()):
                await self._write_queue.acquire()
        except TimeoutError as err:
            raise HistoryUnavailableError("history database busy: write queue timed out") from err
        try:
            async with _translated(self.engine) as conn:
                yield conn
        finally:
            self._write_queue.release()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that only reads (deferred on SQLite: never waits for writers).

        Raises:
            HistoryUnavailableError: As for :meth:`writing`.

        """
        async with _translated(self._reader) as conn:
            yield conn


@asynccontextmanager
async def _translated(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    # The boundary where driver errors a caller can act on (retry later, answer 503 or the
    # apology TwiML) become HistoryUnavailableError; anything else is a bug and propagates.
    try:
        async with engine.begin() as conn:
            yield conn
    except (exc.OperationalError, exc.InterfaceError, exc.TimeoutError, OSError) as err:
        raise HistoryUnavailableError(f"history database unavailable: {err}") from err
    except exc.DBAPIError as err:
        if err.connection_invalidated:
            raise HistoryUnavailableError(f"history database connection lost: {err}") from err
        raise


def insert_or_ignore(
    dialect: Dialect,
    entity: type[DeclarativeBase],
    values: Mapping[str, Any],
    *,
    unique: Sequence[str],
) -> Insert:
    """``INSERT … ON CONFLICT (unique) DO NOTHING``, the same statement on both databases.

    On PostgreSQL a concurrent insert of the same key waits for the other transaction and then
    does nothing, so callers never see a unique violation (which would abort their transaction).

    Args:
        dialect: The connection's dialect (``conn.dialect``).
        entity: The mapped table.
        values: Column values.
        unique: The columns of the unique constraint that may conflict.

    """
    insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    return insert(entity).values(**values).on_conflict_do_nothing(index_elements=list(unique))


def _sqlite_engine(url: str) -> AsyncEngine:
    engine = create_async_engine(url, pool_timeout=POOL_TIMEOUT_SECONDS)
    event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
    event.listen(engine.sync_engine, "begin", _begin_sqlite_transaction)
    return engine


def _configure_sqlite_connection(dbapi_connection: DBAPIConnection, _: ConnectionPoolEntry) -> None:
    # Autocommit at the driver level: the driver emits no BEGIN of its own, we do (below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        busy_ms = int(SQLITE_BUSY_TIMEOUT.total_seconds() * 1000)
        for pragma in (
            "PRAGMA journal_mode=WAL",
            # Durable at each checkpoint rather than each commit: safe in WAL mode (no
            # corruption), and a power cut loses at most the last moments, not the file.
            "PRAGMA synchronous=NORMAL",
            f"PRAGMA busy_timeout={busy_ms}",
            "PRAGMA foreign_keys=ON",
        ):
            cursor.execute(pragma)
    finally:
        cursor.close()


def _begin_sqlite_transaction(conn: Connection) -> None:
    options: dict[str, Any] = dict(conn.get_execution_options())
    conn.exec_driver_sql("BEGIN" if options.get(READ_ONLY_OPTION) else "BEGIN IMMEDIATE")
