"""Suite-wide fixtures: the two real databases, the suite's own servers, and a blocking guard."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import asyncpg
import pytest
from blockbuster import BlockBuster, blockbuster_ctx

from tests.support.servers import PostgresServer, RedisServer

# The suite starts its own throwaway PostgreSQL and Redis servers (tests/support/servers.py).
# These point it at servers of your own instead: a superuser DSN (e.g.
# postgresql://postgres@db.example/postgres) and a redis:// URL. A suite that cannot start
# or reach PostgreSQL fails rather than silently testing one database only.
POSTGRES_DSN_OVERRIDE: Final = os.environ.get("VOICEDESK_TEST_POSTGRES_DSN")
REDIS_URL_OVERRIDE: Final = os.environ.get("VOICEDESK_TEST_REDIS_URL")


# Blocking calls third-party code makes on the loop that are tolerated, as (file, function) on
# the stack: asyncpg reads ~/.pgpass while parsing connect arguments (once per new pooled
# connection); SQLAlchemy makes a SQLite file name absolute when an engine is created.
TOLERATED_BLOCKING: Final = (
    ("asyncpg/connect_utils.py", "_parse_connect_dsn_and_args"),
    ("sqlalchemy/dialects/sqlite/pysqlite.py", "create_connect_args"),
)


@pytest.fixture(autouse=True)
def blockbuster() -> Iterator[BlockBuster]:
    """Fail any test whose code makes a blocking call on the running event loop."""
    with blockbuster_ctx() as bb:
        for function in bb.functions.values():
            for filename, name in TOLERATED_BLOCKING:
                function.can_block_in(filename, name)
        yield bb


@pytest.fixture(scope="session")
def postgres_admin_dsn() -> Iterator[str]:
    """A superuser DSN of the suite's PostgreSQL server, started for the session (fsync off)."""
    if POSTGRES_DSN_OVERRIDE:
        yield POSTGRES_DSN_OVERRIDE
        return
    with PostgresServer(durable=False) as server:
        yield server.admin_dsn


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A started PostgreSQL server the test owns alone: it may stop, start, restart or kill it.

    ``stop()`` and ``start()`` keep the data and the port; ``start()`` returns once the server
    accepts connections. Create databases with ``create_database(name)`` (returns the URL).
    The methods block: from a coroutine, ``await asyncio.to_thread(own_postgres.stop)``.
    """
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The ``redis://`` URL of the suite's Redis server, started for the session."""
    if REDIS_URL_OVERRIDE:
        yield REDIS_URL_OVERRIDE
        return
    with RedisServer() as server:
        yield server.url


async def _create_postgres_database(admin_dsn: str) -> str:
    name = f"vd_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def _drop_postgres_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _postgres_url(admin_dsn: str, name: str) -> str:
    base = admin_dsn.rsplit("/", 1)[0]
    return base.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"


@contextmanager
def _scaffolding(bb: BlockBuster) -> Iterator[None]:
    """Test scaffolding (not code under test) may block: e.g. asyncpg reading ~/.pgpass."""
    bb.deactivate()
    try:
        yield
    finally:
        bb.activate()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, blockbuster: BlockBuster
) -> AsyncIterator[str]:
    """An empty database, once on embedded SQLite and once on the real PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'voicedesk.db'}"
        return
    with _scaffolding(blockbuster):
        # Asked for here, not as a parameter: a run of SQLite tests only starts no server.
        admin_dsn: str = request.getfixturevalue("postgres_admin_dsn")
        name = await _create_postgres_database(admin_dsn)
    try:
        yield _postgres_url(admin_dsn, name)
    finally:
        with _scaffolding(blockbuster):
            await asyncio.shield(_drop_postgres_database(admin_dsn, name))
