"""Alembic environment: migrates the database named by the caller's config, never the env."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from history.db import create_engine
from history.models import Base, UtcDateTime

# Set by a caller that runs Alembic on a connection it already holds.
CONNECTION_ATTRIBUTE = "connection"

# PostgreSQL advisory lock key (any constant unique to this application; "vdmigr" in ASCII).
# Instances starting together migrate one after another instead of racing on CREATE TABLE;
# the later ones then find the schema current. SQLite's BEGIN IMMEDIATE already serialises.
MIGRATION_LOCK_KEY = 0x76646D69677252


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
        asyncio.run(_run_async(engine))


if context.is_offline_mode():
    _run_offline()
else:
    _run_online()
