"""Bring a database's schema up to date with the migrations shipped in this package."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config

log = logging.getLogger(__name__)

PACKAGE_DIR: Final = Path(__file__).resolve().parent
ALEMBIC_INI: Final = PACKAGE_DIR / "alembic.ini"
MIGRATIONS_DIR: Final = PACKAGE_DIR / "migrations"

# Alembic's ``context`` and ``op`` are module-level proxies, shared by all threads: two runs in
# one process would drive each other's connections (and deadlock on SQLite). Separate
# processes take turns on a lock instead: PostgreSQL's advisory lock, or a lock file next to
# the SQLite database (see migrations/env.py).
_ONE_RUN_PER_PROCESS: Final = threading.Lock()


def alembic_config(url: str) -> Config:
    """The Alembic config of the history schema for ``url``, independent of the working directory.

    Args:
        url: SQLAlchemy async URL of the database to migrate.

    """
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Config values go through ConfigParser interpolation: a '%' in a password must be doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_sync(url: str) -> None:
    """Run ``alembic upgrade head`` on ``url`` (for the ``voicedesk migrate`` command).

    Blocking, and it starts its own event loop: never call it on a running loop; use
    :func:`upgrade` there.

    Args:
        url: SQLAlchemy async URL of the database to migrate.

    """
    with _ONE_RUN_PER_PROCESS:
        log.info("migrating the history database to the latest revision")
        command.upgrade(alembic_config(url), "head")


async def upgrade(url: str) -> None:
    """Run ``alembic upgrade head`` on ``url`` in a worker thread, off the event loop.

    Alembic's API is synchronous (it reads the migration scripts and drives its own loop for the
    async driver), so it runs in a thread with its own engine and connections.

    Args:
        url: SQLAlchemy async URL of the database to migrate.

    """
    await asyncio.to_thread(upgrade_sync, url)
