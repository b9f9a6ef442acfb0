"""Fixtures of the chat tests: a store on a migrated database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from history.db import create_engine
from history.migrate import upgrade
from history.store import SqlHistoryStore


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlHistoryStore]:
    """The history store (chats run on its ``database``), on a database migrated to head."""
    await upgrade(database_url)
    engine = create_engine(database_url)
    store = SqlHistoryStore(engine)
    try:
        yield store
    finally:
        await store.close()
        await engine.dispose()
