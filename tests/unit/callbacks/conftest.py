"""Fixtures of the callbacks tests: a migrated database (SQLite and PostgreSQL) to claim from."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from history.db import Database, create_engine
from history.migrate import upgrade


@pytest.fixture
async def migrated(database_url: str) -> str:
    """The URL of a database migrated to head."""
    await upgrade(database_url)
    return database_url


@pytest.fixture
async def db(migrated: str) -> AsyncIterator[Database]:
    """Transactions on the migrated database."""
    engine = create_engine(migrated)
    database = Database(engine)
    try:
        yield database
    finally:
        await database.close()
        await engine.dispose()
