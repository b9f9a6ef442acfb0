"""Suite-wide fixtures: the two real databases, and a guard failing tests that block the loop."""

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

# The PostgreSQL server this machine kind runs (trust auth). CI starts it when it is down; a
# suite that cannot reach it fails rather than silently testing one database only.
POSTGRES_ADMIN_DSN = os.environ.get(
    "VOICEDESK_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)


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


async def _create_postgres_database() -> str:
    name = f"vd_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def _drop_postgres_database(name: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _postgres_url(name: str) -> str:
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0]
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
        name = await _create_postgres_database()
    try:
        yield _postgres_url(name)
    finally:
        with _scaffolding(blockbuster):
            await asyncio.shield(_drop_postgres_database(name))
