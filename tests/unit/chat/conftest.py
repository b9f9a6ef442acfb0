"""Fixtures of the chat tests: a migrated database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from history.db import Database, create_engine
from history.migrate import upgrade


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """Transactions on a database migrated to head."""
    await upgrade(database_url)
    engine = create_engine(database_url)
    database = Database(engine)
    try:
        yield database
    finally:
        await database.close()
        await engine.dispose()
