"""Text holding NUL is refused at the edge with a 4xx, never a failure on PostgreSQL only.

Found by tests/fuzz (issue 10): PostgreSQL cannot store U+0000 in text or JSONB, so a webhook
field, an agent's name or a chat message holding one failed there (an apology TwiML or a 500,
with a traceback) while SQLite stored it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from conftest import AppFactory

from tests.support.staff import Staff, staff
from tests.support.twilio_signing import call_form, new_call_sid, post_signed


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    traced = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert not traced, [r.getMessage() for r in traced]


async def api(server: TestServer, key: str, path: str, body: Any) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(server.make_url(path), json=body, headers=headers) as response,
    ):
        return response.status, await response.json()


async def test_a_webhook_field_with_nul_is_a_400(
    start_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_app()
    base = str(server.make_url("")).rstrip("/")
    async with aiohttp.ClientSession() as http:
        for form in (
            call_form(new_call_sid(), From="+8210\x0012345678"),
            call_form(new_call_sid(), Digits="1\x00"),
            call_form(new_call_sid()) | {"X\x00": "1"},
        ):
            answer = await post_signed(http, base, "/twilio/voice", form)
            assert answer.status == 400 and b"NUL" in answer.body, answer
    no_tracebacks(caplog)


async def test_an_agents_name_or_a_chat_message_with_nul_is_a_400(
    start_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_app()
    team: Staff = await staff(server)
    agent = {"name": "김\x00상담", "address": "+821099998888", "queues": ["general"]}
    status, data = await api(server, team.keys["admin"], "/api/agents", agent)
    assert status == 400 and "NUL" in data["error"], data
    chat = team.chats[0]
    status, _ = await api(server, team.keys["agent"], f"/api/chats/{chat}/take", None)
    assert status == 200
    for message in ({"body": "안녕\x00"}, {"body": "안녕", "client_id": "\x00"}):
        status, data = await api(server, team.keys["agent"], f"/api/chats/{chat}/messages", message)
        assert status == 400 and "NUL" in data["error"], (message, data)
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(server.make_url("/agent/ws")) as ws,
    ):
        await ws.send_json({"type": "auth", "key": team.keys["agent"]})
        await ws.send_json({"type": "send", "chat": chat, "body": "x", "client_id": "\x00"})
        async for frame in ws:
            data = json.loads(frame.data)
            if data["type"] == "result":
                assert data["ok"] is False and "NUL" in data["error"], data
                break
    no_tracebacks(caplog)
