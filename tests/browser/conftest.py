"""Browser fixtures: the real app on a real port, the REST stand-in, and Debian's Chromium.

The pages are driven by Playwright's async API in the test's own event loop, next to the app
under test (an aiohttp ``TestServer``) and the simulator, so one loop runs everything and a
failing step fails the test at once. Shared constants and helpers live in
``chat_pages_kit.py`` (see there why not in this module).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Final

import pytest
from aiohttp.test_utils import TestServer
from blockbuster import BlockBuster
from chat_pages_kit import (
    ACCOUNT_SID,
    ARTIFACTS,
    AUTH_TOKEN,
    CHROMIUM,
    CHROMIUM_ARGS,
    PUBLIC_URL,
    AppFactory,
    PageProblems,
    app_of,
    make_settings,
    write_chat_menu,
)
from playwright.async_api import Browser, async_playwright

from history.migrate import upgrade
from telephony.simulator.rest_api import RestStandIn
from web.app import create_app

# Re-exported under the functional suite's names: a run given several test directories
# (``pytest tests/functional tests/browser``) leaves this module as the top-level `conftest`
# the functional modules import these from.
__all__ = ["ACCOUNT_SID", "AUTH_TOKEN", "PUBLIC_URL", "AppFactory", "app_of"]

# Blocking calls Playwright's driver start makes on the loop, as (file, function) on the
# stack: it locates the bundled Node driver with ``Path.is_file`` (``os.stat``) before
# spawning it through asyncio's subprocess support. Test scaffolding, tolerated there only:
# every page interaction, and the app serving it, stays under the guard.
PLAYWRIGHT_BLOCKING: Final = (("playwright/_impl/_driver.py", "compute_driver_executable"),)


@pytest.fixture(scope="session")
def browser_prompt_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One prompt cache for the session: prompts are content-addressed, so sharing is safe."""
    return tmp_path_factory.mktemp("browser-prompt-cache")


@pytest.fixture
def chat_menu(tmp_path: Path) -> Path:
    """The shipped menu with a ``chat`` node (:func:`chat_pages_kit.write_chat_menu`)."""
    return write_chat_menu(tmp_path)


@pytest.fixture
async def start_app(database_url: str, browser_prompt_cache: Path) -> AsyncIterator[AppFactory]:
    """Start the real app on a real port (both databases); returns the running server."""
    servers: list[TestServer] = []

    async def start(**overrides: Any) -> TestServer:
        settings = make_settings(database_url, browser_prompt_cache, **overrides)
        if not database_url.startswith("sqlite"):
            await upgrade(database_url)
        server = TestServer(create_app(settings))
        await server.start_server()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
async def twilio() -> AsyncIterator[RestStandIn]:
    """Twilio's REST API on a local port: it records the texts the app sends."""
    async with RestStandIn(ACCOUNT_SID, AUTH_TOKEN) as stand_in:
        yield stand_in


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium executable; the tests fail (not skip) without it."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"the browser tests need Chromium: {CHROMIUM} is missing")
    return CHROMIUM


@pytest.fixture
async def browser(chromium: str, blockbuster: BlockBuster) -> AsyncIterator[Browser]:
    """A headless Chromium for one test (Playwright's objects live in the test's loop)."""
    for function in blockbuster.functions.values():
        for filename, name in PLAYWRIGHT_BLOCKING:
            function.can_block_in(filename, name)
    playwright = await async_playwright().start()
    try:
        launched = await playwright.chromium.launch(
            executable_path=chromium, args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()
    finally:
        await playwright.stop()


@pytest.fixture
def page_problems() -> PageProblems:
    """Collects errors of the pages a test watches; the test asserts it stayed empty."""
    return PageProblems()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """``artifacts("step")``: a screenshot path under test-artifacts/browser/ for this test."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    def path(step: str) -> Path:
        return ARTIFACTS / f"{test_name}-{step}.png"

    return path
