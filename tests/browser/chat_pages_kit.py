"""What the chat page tests share: the app's settings, Chromium's launch, and page watching.

Imported by ``tests/browser/conftest.py`` and the test modules under this unique name: test
directories have no ``__init__.py``, so the top-level name ``conftest`` means whichever
directory's conftest pytest loaded last (``pytest tests/browser tests/functional`` loads the
functional one after this one), and a test module cannot rely on it.

The settings are ``tests.support.running_app``'s, as the functional suite's are; its
``start_app`` is copied here, not imported from ``tests/functional/conftest.py``, for the same
reason: that module is reachable only under that ambiguous name, and loading it under another
one would register its fixtures twice.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import ConsoleMessage, Page

from config.settings import SHIPPED_MENU
from tests.support.running_app import (  # noqa: F401 - names the tests import from here
    ACCOUNT_SID,
    AUTH_TOKEN,
    PUBLIC_URL,
    settings_for,
)

# The same account, token and public URL as the functional tests (tests/functional/conftest.py).

CHROMIUM: Final = os.environ.get("VOICEDESK_TEST_CHROMIUM", "/usr/bin/chromium")
"""Debian's Chromium (``apt-get install chromium``): never a browser build Playwright downloads."""
CHROMIUM_ARGS: Final = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
ARTIFACTS: Final = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
"""Screenshots of the pages at key steps (test-artifacts/ is not committed)."""

# Console errors a page may log without anything being wrong: Chromium reports each failed
# websocket handshake while a test keeps the customer offline.
EXPECTED_CONSOLE: Final = (re.compile(r"WebSocket connection to .* failed"),)

AppFactory = Callable[..., Awaitable[TestServer]]


make_settings = settings_for


def app_of(server: TestServer) -> web.Application:
    assert isinstance(server.app, web.Application)
    return server.app


def write_chat_menu(directory: Path) -> Path:
    """The shipped menu, moved on to chat: the balance enquiry ends in a ``chat`` node.

    The caller picks 잔액 (2), enters the account number (a sensitive collected value), and
    the call becomes a chat of the ``general`` queue; waiting in that queue offers the chat
    too (key 2). The opening-hours check (and the nodes only it reached) is dropped, so the
    app runs on the real clock, the one the browser has.
    """
    menu = yaml.safe_load(SHIPPED_MENU.read_text(encoding="utf-8"))
    nodes = menu["nodes"]
    nodes["welcome"]["next"] = "main"
    del nodes["open_check"], nodes["closed_message"], nodes["balance_result"]
    nodes["account"]["next"] = "to_chat"
    nodes["agents"]["offer_chat"] = "to_chat"
    nodes["to_chat"] = {"type": "chat", "queue": "general", "next": "goodbye"}
    path = directory / "chat-menu.yaml"
    path.write_text(yaml.safe_dump(menu, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@dataclass
class PageProblems:
    """What went wrong inside pages: script errors, CSP refusals, failed loads."""

    entries: list[str] = field(default_factory=list)

    def watch(self, page: Page, name: str) -> None:
        """Record ``page``'s uncaught errors and console errors (CSP violations are these)."""
        page.on("pageerror", lambda error: self.entries.append(f"{name}: {error}"))

        def console(message: ConsoleMessage) -> None:
            if message.type != "error":
                return
            if any(pattern.search(message.text) for pattern in EXPECTED_CONSOLE):
                return
            self.entries.append(f"{name}: console: {message.text}")

        page.on("console", console)
