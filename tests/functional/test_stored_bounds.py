"""Every stored value from outside is bounded: too big is a clear 4xx, and nothing is stored.

Issue 10, finding 8: a 1 MB CallSid, 1 MB event payloads, 10,000 queues or a 100 KB queue name
were stored. The webhooks' side is in test_webhook_bodies.py; here the API and the sockets.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestServer
from conftest import AppFactory, app_of

from agents import roster
from chat import sessions
from config.limits import (
    AGENT_NAME_CHARS,
    AGENT_QUEUES,
    CHAT_CLIENT_ID_CHARS,
    CHAT_MESSAGE_CHARS,
    CHAT_SOCKET_MESSAGE_BYTES,
    QUEUE_ID_CHARS,
    REQUEST_BODY_BYTES,
)
from tests.support.chats import open_chat
from web.keys import STORE

STEP_TIMEOUT = 10.0


@pytest.fixture
async def server(start_app: AppFactory) -> TestServer:
    return await start_app(callbacks_enabled=False)


async def _key(server: TestServer, role: str, agent_id: int | None = None) -> dict[str, str]:
    token = await app_of(server)[STORE].create_api_key(
        role=role, name=role, at=datetime.now(UTC), agent_id=agent_id
    )
    return {"Authorization": f"Bearer {token}"}


async def _post(
    server: TestServer, path: str, headers: dict[str, str], **body: Any
) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(server.make_url(path), headers=headers, **body) as response,
    ):
        return response.status, await response.text()


async def _agents(server: TestServer) -> list[Any]:
    return await app_of(server)[STORE].database.read(roster.list_agents)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "김" * (AGENT_NAME_CHARS + 1)}, "name"),
        ({"address": "client:" + "a" * 65}, "address"),
        ({"queues": [f"q{n}" for n in range(AGENT_QUEUES + 1)]}, "queues"),
        ({"queues": ["general", "q" * (QUEUE_ID_CHARS + 1)]}, "queues"),
        ({"queues": ["a queue\nwith a line break"]}, "queues"),
    ],
)
async def test_an_agent_over_a_bound_is_refused_naming_the_field(
    server: TestServer, change: dict[str, Any], field: str
) -> None:
    agent = {"name": "김상담", "address": "+821055550001", "queues": ["general"]} | change
    status, text = await _post(server, "/api/agents", await _key(server, "admin"), json=agent)
    assert status == 400 and field in text, text
    assert await _agents(server) == []


async def test_an_agent_at_every_bound_is_taken(server: TestServer) -> None:
    agent = {
        "name": "김" * AGENT_NAME_CHARS,
        "address": "client:" + "a" * 64,
        "queues": [f"q{n:0{QUEUE_ID_CHARS - 1}d}" for n in range(AGENT_QUEUES)],
    }
    status, text = await _post(server, "/api/agents", await _key(server, "admin"), json=agent)
    assert status == 201, text


async def test_an_api_body_over_the_bound_is_a_413(server: TestServer) -> None:
    agent = {"name": "x", "address": "+821055550001", "queues": ["q" * REQUEST_BODY_BYTES]}
    status, _ = await _post(server, "/api/agents", await _key(server, "admin"), json=agent)
    assert status == 413
    assert await _agents(server) == []


async def test_an_agent_s_chat_message_or_client_id_over_its_bound_is_a_400(
    server: TestServer,
) -> None:
    app = app_of(server)
    chat = await open_chat(app)
    agent = await app[STORE].database.write(
        roster.add_agent,
        name="김상담",
        address="client:kim",
        queues=["general"],
        at=datetime.now(UTC),
    )
    headers = await _key(server, "agent", agent.id)
    status, _ = await _post(server, f"/api/chats/{chat.id}/take", headers)
    assert status == 200
    path = f"/api/chats/{chat.id}/messages"
    status, text = await _post(
        server, path, headers, json={"body": "가" * (CHAT_MESSAGE_CHARS + 1)}
    )
    assert status == 400 and f"at most {CHAT_MESSAGE_CHARS}" in text
    long_id = "c" * (CHAT_CLIENT_ID_CHARS + 1)
    status, text = await _post(server, path, headers, json={"body": "hi", "client_id": long_id})
    assert status == 400 and "client_id" in text
    assert await app[STORE].database.read(sessions.messages_after, chat.id, 0) == []


async def test_a_customer_socket_refuses_a_message_over_the_bounds(server: TestServer) -> None:
    chat = await open_chat(app_of(server))
    url = server.make_url(f"/chat/{chat.token}/ws")
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url) as ws:
            await ws.send_json({"type": "hello", "after": 0})
            long_body = "가" * (CHAT_MESSAGE_CHARS + 1)
            await ws.send_json({"type": "send", "body": long_body, "client_id": "c1"})
            async with asyncio.timeout(STEP_TIMEOUT):
                while (data := await ws.receive_json())["type"] != "error":
                    pass
            assert f"at most {CHAT_MESSAGE_CHARS}" in data["error"]
        async with http.ws_connect(url) as ws:
            await ws.send_json({"type": "hello", "after": 0})
            await ws.send_str('{"type": "send", "body": "' + "x" * CHAT_SOCKET_MESSAGE_BYTES + '"}')
            async with asyncio.timeout(STEP_TIMEOUT):
                while (await ws.receive()).type not in (WSMsgType.CLOSE, WSMsgType.CLOSED):
                    pass
            assert ws.close_code == 1009  # message too big
    assert await app_of(server)[STORE].database.read(sessions.messages_after, chat.id, 0) == []
