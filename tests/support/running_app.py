"""The real app on a real local port, configured as the functional tests configure it.

For test folders that cannot use ``tests/functional/conftest.py``'s fixtures (the fuzz tests):
the same public URL, account and auth token, so requests are signed exactly as Twilio signs
them, and a fixed clock inside business hours, so every branch of the shipped menu is open.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from config.settings import SHIPPED_MENU, Settings
from history.migrate import upgrade
from speech.listening import SpeechEngine
from web.app import create_app
from web.keys import SETTINGS

AUTH_TOKEN: Final = "test-auth-token-0123456789abcdef"
ACCOUNT_SID: Final = "AC" + "1" * 32
PUBLIC_URL: Final = "https://ivr.voicedesk.test"
"""Twilio is given a public HTTPS URL; the tests reach a local port, as behind a TLS proxy."""
OPEN_HOURS: Final = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
"""Monday 2026-11-23 10:00 in Seoul: the shipped menu's hours are open."""


class FixedClock:
    """A clock stopped at one instant (tokens never expire; the menu's hours never change)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def settings_for(database_url: str, prompt_cache: Path, **overrides: Any) -> Settings:
    """Settings of a test app: the public URL and token requests are signed with, a journal of
    its own, keypad only (loading a Vosk model per app would cost seconds and 500 MB; a test
    that needs speech brings the shared engine); ``overrides`` replace any of them.
    """
    values: dict[str, Any] = {
        "database_url": database_url,
        "public_url": PUBLIC_URL,
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": SecretStr(AUTH_TOKEN),
        "menu": SHIPPED_MENU,
        "prompt_cache_dir": prompt_cache,
        # Each app its own journal: an app adopts the journals it finds of stopped ones.
        "journal_dir": prompt_cache.parent / f"journal-{uuid.uuid4().hex}",
        "speech_enabled": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@asynccontextmanager
async def running_app(
    database_url: str,
    prompt_cache: Path,
    *,
    clock: FixedClock | None = None,
    speech: SpeechEngine | None = None,
    **overrides: Any,
) -> AsyncIterator[TestServer]:
    """The app on a free local port (PostgreSQL migrated first, as an operator would)."""
    if speech is not None:
        overrides.setdefault("speech_enabled", True)
    settings = settings_for(database_url, prompt_cache, **overrides)
    if not database_url.startswith("sqlite"):
        await upgrade(database_url)
    app = create_app(settings, clock=clock or FixedClock(OPEN_HOURS), speech=speech)
    server = TestServer(app)
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


def app_of(server: TestServer) -> web.Application:
    """The server's application, typed."""
    assert isinstance(server.app, web.Application)
    return server.app


def database_of(server: TestServer) -> str:
    """``sqlite`` or ``postgresql``: the database the server runs on."""
    return app_of(server)[SETTINGS].database_url.partition("+")[0]
