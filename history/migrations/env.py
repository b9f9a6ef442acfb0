"""Alembic environment: migrates the database named by the caller's config, never the env."""

from __future__ import annotations

import asyncio
import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from history.db import create_engine
from history.models import Base, UtcDateTime

# Alembic loads this file under a generated module name: log as the module that runs it.
log = logging.getLogger("history.migrate")

# Set by a caller that runs Alembic on a connection it already holds.
CONNECTION_ATTRIBUTE = "connection"

# Instances starting together migrate one after another instead of racing on CREATE TABLE;
# the later ones then find the schema current. PostgreSQL: an advisory lock with this key (any
# constant unique to this application; "vdmigr" in ASCII). SQLite: an exclusive lock on the
# file next to the database named by this suffix, the whole run long (_sqlite_migration_lock).
MIGRATION_LOCK_KEY = 0x76646D69677252
SQLITE_MIGRATION_LOCK_SUFFIX = ".migrate.lock"


def _database_url() -> str:
    url = context.config.get_main_option("sqlalchemy.url") or context.get_x_argument(
        as_dictionary=True
    ).get("url")
    if not url:
        raise RuntimeError("no database URL: set sqlalchemy.url in the config or pass -x url=…")
    return url


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # New revisions must not import the application: spell our column types in plain sa.*.
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**options: Any) -> None:
    context.configure(
        target_metadata=Base.metadata,
        render_item=_render_item,
        compare_type=True,
        # One transaction for the whole upgrade on SQLite too, as on PostgreSQL: the revision
        # read is the one upgraded from, and a failed upgrade leaves the schema as it was.
        # Alembic would commit after each revision, assuming SQLite cannot roll DDL back (only
        # the old driver's implicit COMMIT could not; our engine disables it, history/db.py),
        # and another process read the version in between and replayed a revision ("table
        # agents already exists": 18 % of rounds of three processes on a fresh file).
        transactional_ddl=True,
        **options,
    )


def _run_on(connection: Connection) -> None:
    # SQLite alters tables by copying them; batch mode writes migrations that way.
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        context.run_migrations()


@contextmanager
def _sqlite_migration_lock(url: URL) -> Iterator[None]:
    """Hold ``<database file>.migrate.lock`` exclusively while migrating an SQLite file.

    Taken before the first connection: the first connections to a fresh file also race to
    switch it to WAL, and there SQLite answers "database is locked" at once instead of
    waiting (measured: 4 of 600 rounds of four processes). The kernel releases the lock of a
    process that dies; the empty file stays.
    """
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(database + SQLITE_MIGRATION_LOCK_SUFFIX, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another process migrating %s", database)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


async def _run_async(engine: AsyncEngine) -> None:
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_on)
    finally:
        await engine.dispose()


def _run_offline() -> None:
    _configure(url=_database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = context.config.attributes.get(CONNECTION_ATTRIBUTE)
    if isinstance(connection, Connection):
        _run_on(connection)
    else:
        # Touch the disk before the loop starts (this runs in a worker thread of its own):
        # creating the engine resolves paths, and get_heads() loads every revision script.
        engine = create_engine(_database_url())
        context.script.get_heads()
        with _sqlite_migration_lock(engine.url):
            asyncio.run(_run_async(engine))


if context.is_offline_mode():
    _run_offline()
else:
    _run_online()
