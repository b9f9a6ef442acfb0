"""The agent console's socket answers every action, however odd, and stays open (issue 10).

Finding 7: ``{"type": "take", "chat": "99999999999999999999"}`` raised OverflowError binding the
id to SQLite's integer, which killed the socket; ids in other scripts' digits raised too.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import WSCloseCode
from aiohttp.test_utils import TestServer
from conftest import AppFactory

from config.limits import CHAT_SOCKET_MESSAGE_BYTES
from tests.support.staff import staff

ANSWER_SECONDS = 10.0
IMPOSSIBLE_CHATS: list[Any] = [
    "99999999999999999999",
    99999999999999999999,
    "9" * 5000,
    "²",
    "①",
    -1,
    1e308,
    True,
    None,
    [1],
]


async def next_of(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(ANSWER_SECONDS):
        async for frame in ws:
            data = json.loads(frame.data)
            if data.get("type") == kind:
                return dict(data)
    raise AssertionError(f"the socket closed ({ws.close_code}) before a {kind!r} message")


@asynccontextmanager
async def console(
    server: TestServer, key: str, after: Any
) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """An agent's console, logged in with ``key`` and resuming after ``after``."""
    async with aiohttp.ClientSession() as http, http.ws_connect(server.make_url("/agent/ws")) as ws:
        await ws.send_json({"type": "auth", "key": key, "after": after})
        await next_of(ws, "ready")
        yield ws


async def test_an_impossible_chat_id_is_an_error_answer_and_the_console_goes_on(
    start_app: AppFactory,
) -> None:
    server = await start_app()
    team = await staff(server)
    async with console(server, team.keys["agent"], None) as ws:
        for chat in IMPOSSIBLE_CHATS:
            await ws.send_json({"type": "take", "chat": chat})
            result = await next_of(ws, "result")
            assert result["ok"] is False and result["error"], (chat, result)
        await ws.send_json({"type": "take", "chat": team.chats[0]})
        assert (await next_of(ws, "result"))["ok"] is True


async def test_resume_points_of_any_shape_are_ignored_not_fatal(start_app: AppFactory) -> None:
    server = await start_app()
    team = await staff(server)
    for after in ({"²": 1, "9" * 5000: 2, "1": "①"}, [1, 2], "x", {"1": 99999999999999999999}):
        async with console(server, team.keys["agent"], after) as ws:
            await ws.send_json({"type": "take", "chat": team.chats[1]})
            assert "ok" in await next_of(ws, "result"), after


async def test_a_console_gone_before_logging_in_ends_without_a_traceback(
    start_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # Found by tests/fuzz: the refusal was sent on a socket the client had already closed (or
    # that aiohttp had closed for an oversized first message), and the handler raised.
    server = await start_app()
    team = await staff(server)
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(server.make_url("/agent/ws")) as ws:
            await ws.send_str(json.dumps({"type": "auth", "key": "k" * CHAT_SOCKET_MESSAGE_BYTES}))
            await ws.receive()
            assert ws.close_code == WSCloseCode.MESSAGE_TOO_BIG
        async with http.ws_connect(server.make_url("/agent/ws")) as ws:
            await ws.close()
    async with console(server, team.keys["agent"], None) as ws:  # the server is still fine
        await ws.send_json({"type": "take", "chat": team.chats[0]})
        assert (await next_of(ws, "result"))["ok"] is True
    traced = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert not traced, [r.getMessage() for r in traced]
