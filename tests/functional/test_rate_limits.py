"""Rate limits over real sockets: chat messages, chat pages and failed API keys (issue 10).

A customer socket accepted 500 messages in 4 s. Now: too fast → a clear error (429 with
``Retry-After``, or a socket error saying how long to wait), and what was taken stays taken.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from conftest import AppFactory, app_of

from agents import roster
from chat import sessions
from tests.support.chats import open_chat
from web.keys import STORE

STEP_TIMEOUT = 10.0


async def _replies(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[dict[str, Any]]:
    """The next ``count`` messages and errors on a customer socket (chat views skipped)."""
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(STEP_TIMEOUT):
        while len(got) < count:
            data = await ws.receive_json()
            if data["type"] in ("message", "error"):
                got.append(data)
    return got


async def _stored(server: TestServer, chat_id: int) -> list[str]:
    messages = await app_of(server)[STORE].database.read(sessions.messages_after, chat_id, 0)
    return [m.body for m in messages]


async def test_a_customer_socket_over_its_rate_is_told_to_slow_down_and_keeps_what_was_taken(
    start_app: AppFactory,
) -> None:
    server = await start_app(callbacks_enabled=False, chat_socket_messages_per_minute=3)
    chat = await open_chat(app_of(server))
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(server.make_url(f"/chat/{chat.token}/ws")) as ws,
    ):
        await ws.send_json({"type": "hello", "after": 0})
        for n in range(5):
            await ws.send_json({"type": "send", "body": f"m{n}", "client_id": f"c{n}"})
        replies = await _replies(ws, 5)
    errors = [r for r in replies if r["type"] == "error"]
    assert [e["client_id"] for e in errors] == ["c3", "c4"]
    assert all(e["retry_after"] >= 1 and "slow down" in e["error"] for e in errors)
    assert await _stored(server, chat.id) == ["m0", "m1", "m2"]


async def test_a_chat_link_is_limited_over_all_its_sockets(start_app: AppFactory) -> None:
    server = await start_app(
        callbacks_enabled=False,
        chat_socket_messages_per_minute=100,
        chat_link_messages_per_minute=3,
    )
    chat = await open_chat(app_of(server))
    url = server.make_url(f"/chat/{chat.token}/ws")
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(url) as phone,
        http.ws_connect(url) as laptop,
    ):
        for ws in (phone, laptop):
            await ws.send_json({"type": "hello", "after": 0})
        for n in range(2):
            await phone.send_json({"type": "send", "body": f"p{n}", "client_id": f"p{n}"})
        await _replies(phone, 2)
        for n in range(2):
            await laptop.send_json({"type": "send", "body": f"l{n}", "client_id": f"l{n}"})
        # The laptop sees the phone's two messages and its own first, and the refusal.
        replies = await _replies(laptop, 4)
    [error] = [r for r in replies if r["type"] == "error"]
    assert error["client_id"] == "l1"
    assert sorted(await _stored(server, chat.id)) == ["l0", "p0", "p1"]


async def test_chat_pages_are_limited_per_client_address(start_app: AppFactory) -> None:
    server = await start_app(callbacks_enabled=False, chat_page_requests_per_minute=2)
    chat = await open_chat(app_of(server))
    page = server.make_url(f"/chat/{chat.token}")
    async with aiohttp.ClientSession() as http:
        for _ in range(2):
            async with http.get(page) as response:
                assert response.status == 200
        # Without a trusted proxy, X-Forwarded-For is the client's say-so: ignored.
        async with http.get(page, headers={"X-Forwarded-For": "203.0.113.9"}) as response:
            assert response.status == 429
            assert int(response.headers["Retry-After"]) >= 1
            assert "too many" in await response.text()
        async with http.get(server.make_url(f"/chat/{chat.token}/ws")) as response:
            assert response.status == 429
        async with http.get(server.make_url("/chat/not-a-link")) as response:
            assert response.status == 429  # guessing links counts the same


async def test_behind_a_trusted_proxy_the_last_forwarded_address_is_the_client(
    start_app: AppFactory,
) -> None:
    server = await start_app(
        callbacks_enabled=False, chat_page_requests_per_minute=1, trust_forwarded_for=True
    )
    chat = await open_chat(app_of(server))
    page = server.make_url(f"/chat/{chat.token}")
    async with aiohttp.ClientSession() as http:
        for address in ("198.51.100.1", "198.51.100.2"):
            # A client may prepend anything; the proxy appends the address it saw.
            forwarded = {"X-Forwarded-For": f"10.9.9.9, {address}"}
            async with http.get(page, headers=forwarded) as response:
                assert response.status == 200
            async with http.get(page, headers=forwarded) as response:
                assert response.status == 429


async def test_failed_api_keys_are_limited_per_client_address_even_for_a_valid_key_after(
    start_app: AppFactory,
) -> None:
    server = await start_app(callbacks_enabled=False, auth_failures_per_minute=2)
    token = await app_of(server)[STORE].create_api_key(
        role="supervisor", name="t", at=datetime.now(UTC)
    )
    url = server.make_url("/api/agents")
    async with aiohttp.ClientSession() as http:
        async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
            assert response.status == 200  # a valid key costs nothing
        for guess in ("vdk_a", "vdk_b"):
            async with http.get(url, headers={"Authorization": f"Bearer {guess}"}) as response:
                assert response.status == 401
        async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
            assert response.status == 429
            assert int(response.headers["Retry-After"]) >= 1
            assert "too many failed API key checks" in (await response.json())["error"]


async def test_failed_agent_console_logins_count_as_failed_api_keys(
    start_app: AppFactory,
) -> None:
    server = await start_app(callbacks_enabled=False, auth_failures_per_minute=2)
    store = app_of(server)[STORE]
    agent = await store.database.write(
        roster.add_agent,
        name="김상담",
        address="client:kim",
        queues=["general"],
        at=datetime.now(UTC),
    )
    key = await store.create_api_key(
        role="agent", name="kim", at=datetime.now(UTC), agent_id=agent.id
    )
    url = server.make_url("/agent/ws")
    async with aiohttp.ClientSession() as http:
        for guess in ("vdk_a", "vdk_b"):
            async with http.ws_connect(url) as ws:
                await ws.send_json({"type": "auth", "key": guess})
                assert (await ws.receive_json())["type"] == "error"
        async with http.get(url) as refused:  # the handshake itself
            assert refused.status == 429
            assert int(refused.headers["Retry-After"]) >= 1
        async with http.get(
            server.make_url("/api/chats"), headers={"Authorization": f"Bearer {key}"}
        ) as response:
            assert response.status == 429
