"""The database: SQLite tuned for one writer at a time, or PostgreSQL through asyncpg.

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
transaction that will only read runs deferred: :meth:`Database.read` (an execution option
switches the ``BEGIN``). The engines' default stays ``IMMEDIATE`` on purpose: forgetting the
option costs some concurrency, never correctness.

A store transaction is one sync function of the query modules, handed off once: on SQLite to a
worker thread running a sync (pysqlite) engine, writers one at a time on their own thread, so
they also queue in-process before taking the lock (see :class:`Database`).

PostgreSQL uses its default READ COMMITTED; the store serialises the few writes that must be
serialised with row locks (see :mod:`history.event_log`).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from typing import Any, Concatenate, Final, ParamSpec, TypeVar

from sqlalchemy import Dialect, event, exc
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.dml import Insert

# A writer waits this long for SQLite's write lock before giving up. Turns hold the lock for
# milliseconds, so reaching it means the database is stuck; 5 s stays well inside Twilio's 15 s
# webhook timeout, leaving time to answer the apology TwiML instead of dead air.
SQLITE_BUSY_TIMEOUT: Final = timedelta(seconds=5)

# asyncpg pool per instance: 10 steady + 5 overflow keeps six instances within PostgreSQL's
# default max_connections (100) with room for admin tools. Overflow connections are closed on
# return, so under a burst a small steady pool churns connections (measured: 44 new sessions
# in 12 s at 18 calls/s with 5 steady), each costing a login; 10 steady ones absorb that.
POSTGRES_POOL_SIZE: Final = 10
POSTGRES_MAX_OVERFLOW: Final = 5

# Wait for a free pooled connection this long before failing the request (seconds), for the
# same reason as the busy timeout: stay inside Twilio's webhook timeout.
POOL_TIMEOUT_SECONDS: Final = 5.0

# Threads running SQLite's read transactions. Reads are short lookups except the occasional
# timeline; two let one slow read run without queueing the quick ones behind it.
SQLITE_READER_THREADS: Final = 2

# Execution option that marks a transaction as read-only: on SQLite it begins DEFERRED.
READ_ONLY_OPTION: Final = "voicedesk_read_only"


P = ParamSpec("P")
T = TypeVar("T")


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
        :meth:`Database.read`. Dispose of it with ``await engine.dispose()``, after closing the
        :class:`Database` (or store) using it.

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
            # No ping per checkout: it is one more round trip in every transaction. After a
            # database restart the first failing statement invalidates the pool (that webhook
            # gets the apology TwiML) and the next checkout reconnects.
            pool_pre_ping=False,
        )
    raise ValueError("database URL must be sqlite+aiosqlite://… or postgresql+asyncpg://…")


class Database:
    """Transactions on one engine, each run as one sync function handed off once.

    On SQLite every statement through the async driver is a hand-off to its thread (as are
    BEGIN, COMMIT and the pool's checkout and reset): measured, a trivial transaction cost
    1.2–1.5 ms CPU that way, 0.3 ms as one sync function in one worker thread. So SQLite runs on
    a sync engine (pysqlite, same pragmas and ``BEGIN`` handling) derived from the async one's
    URL. Writes run on one dedicated worker thread: SQLite has one write lock per file, and
    queueing writers in-process (FIFO) instead of letting each hold a connection while SQLite's
    busy handler polls with sleeps measured 60% more write transactions per second under a
    burst, no starved writer and no pool exhaustion. Reads run on a small pool of their own,
    so a slow timeline never delays a webhook's write (WAL readers do not block the writer).
    ``busy_timeout`` still arbitrates between processes (a migration, a CLI).

    PostgreSQL keeps asyncpg: the function runs on the async connection through
    :meth:`~sqlalchemy.ext.asyncio.AsyncConnection.run_sync`, with no in-process queue.

    A transaction that has started runs to its end even if the awaiting task is cancelled
    (SQLite). Share one instance per engine and :meth:`close` it before disposing the engine.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        """Use ``engine`` (from :func:`create_engine`); the caller disposes of it."""
        self.engine = engine
        self._reader = engine.execution_options(**{READ_ONLY_OPTION: True})
        self._sqlite = (
            _SqliteWorkers(engine.url.set(drivername="sqlite"))
            if engine.dialect.name == "sqlite"
            else None
        )

    async def write(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(conn, *args, **kwargs)`` in a transaction that may write, committed on success.

        On SQLite the transaction begins ``IMMEDIATE`` and ``fn`` runs on the writer thread.

        Returns:
            What ``fn`` returned.

        Raises:
            HistoryUnavailableError: The database was unreachable, busy past the timeout, or
                the connection dropped; the transaction was rolled back.

        """
        with _translated():
            if self._sqlite is not None:
                return await self._sqlite.write(fn, *args, **kwargs)
            async with self.engine.begin() as conn:
                return await conn.run_sync(fn, *args, **kwargs)

    async def read(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(conn, *args, **kwargs)`` in a transaction that only reads.

        Deferred on SQLite (never waits for writers), on a reader thread.

        Returns:
            What ``fn`` returned.

        Raises:
            HistoryUnavailableError: As for :meth:`write`.

        """
        with _translated():
            if self._sqlite is not None:
                return await self._sqlite.read(fn, *args, **kwargs)
            async with self._reader.begin() as conn:
                return await conn.run_sync(fn, *args, **kwargs)

    async def close(self) -> None:
        """Stop the SQLite worker threads and close their connections (the engine stays open)."""
        if self._sqlite is not None:
            await asyncio.to_thread(self._sqlite.close)


class _SqliteWorkers:
    """A sync SQLite engine, one writer thread and a small pool of reader threads."""

    def __init__(self, url: URL) -> None:
        self._url = url
        # Creating the engine resolves the file's path (a file-system call): it happens in the
        # first job, on a worker thread, never on the event loop.
        self._engines: tuple[Engine, Engine] | None = None  # writing, reading
        self._engines_lock = threading.Lock()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history-write")
        self._readers = ThreadPoolExecutor(
            max_workers=SQLITE_READER_THREADS, thread_name_prefix="history-read"
        )

    async def write(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        job = partial(self._write_job, time.monotonic(), fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._writer, job)

    async def read(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        job = partial(self._read_job, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._readers, job)

    def close(self) -> None:
        self._readers.shutdown(wait=True)
        self._writer.shutdown(wait=True)
        if self._engines is not None:
            self._engines[0].dispose()

    def _write_job(
        self,
        queued_at: float,
        fn: Callable[Concatenate[Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        # A write that waited this long in the queue gives up as a busy lock would: the caller
        # still has time to answer the apology TwiML within Twilio's webhook timeout.
        if time.monotonic() - queued_at > SQLITE_BUSY_TIMEOUT.total_seconds():
            raise HistoryUnavailableError("history database busy: write queue timed out")
        with self._engines_or_create()[0].begin() as conn:
            return fn(conn, *args, **kwargs)

    def _read_job(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        with self._engines_or_create()[1].begin() as conn:
            return fn(conn, *args, **kwargs)

    def _engines_or_create(self) -> tuple[Engine, Engine]:
        with self._engines_lock:
            if self._engines is None:
                engine = _sqlite_sync_engine(self._url)
                self._engines = engine, engine.execution_options(**{READ_ONLY_OPTION: True})
            return self._engines


@contextmanager
def _translated() -> Iterator[None]:
    # The boundary where driver errors a caller can act on (retry later, answer 503 or the
    # apology TwiML) become HistoryUnavailableError; anything else is a bug and propagates.
    try:
        yield
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
    _listen_sqlite(engine.sync_engine)
    return engine


def _sqlite_sync_engine(url: URL) -> Engine:
    engine = sa_create_engine(
        url,
        # Connections move between the worker threads; each is used by one job at a time.
        connect_args={"check_same_thread": False},
        # Every transaction ends in an explicit COMMIT or ROLLBACK: nothing left to reset.
        pool_reset_on_return=None,
    )
    _listen_sqlite(engine)
    return engine


def _listen_sqlite(engine: Engine) -> None:
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_sqlite_transaction)


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
