"""Fixtures of the fuzz tests: the Hypothesis profile, the prompt cache, Twilio's REST stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from speech.listening import SpeechEngine
from speech.recognition import SpeechModel
from telephony.simulator.rest_api import RestStandIn
from tests.support.fuzzing import REPORTS, load_profile
from tests.support.running_app import ACCOUNT_SID, AUTH_TOKEN

PROFILE = load_profile()


@pytest.fixture(scope="session")
def prompt_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One prompt cache for the session: prompts are content-addressed, so sharing is safe."""
    return tmp_path_factory.mktemp("fuzz-prompt-cache")


@pytest.fixture(scope="session")
def speech_engine() -> Iterator[SpeechEngine]:
    """The real Vosk model, loaded once for the session (the media stream fuzz needs it)."""
    engine = SpeechEngine(SpeechModel.load(None))
    yield engine
    engine.shutdown()


@pytest.fixture
async def twilio() -> AsyncIterator[RestStandIn]:
    """Twilio's REST API stand-in: the app's texts and outbound calls land there."""
    async with RestStandIn(ACCOUNT_SID, AUTH_TOKEN) as stand_in:
        yield stand_in


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print how many cases each fuzz family ran, and what they were answered."""
    if REPORTS:
        terminalreporter.section(f"fuzz cases (profile {PROFILE!r})")
        for line in REPORTS:
            terminalreporter.write_line(line)
