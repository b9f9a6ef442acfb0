"""Fixtures of the history tests: a migrated database (SQLite and PostgreSQL) and its store."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from history.db import create_engine
from history.migrate import upgrade
from history.store import SqlHistoryStore


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a database migrated to head, once per database kind."""
    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def store(engine: AsyncEngine) -> AsyncIterator[SqlHistoryStore]:
    """The store under test."""
    store = SqlHistoryStore(engine)
    try:
        yield store
    finally:
        await store.close()
