"""The API's refusals are short JSON; a database outage is a 503 with Retry-After (issue 10).

Finding 5: ``/api/interactions/%C2%B2`` and a 5,000-digit id answered 500 (``int()`` raised
after ``str.isdigit()`` said yes), ``?after=99999999999999999999`` overflowed SQLite's integer,
and during a database outage every API route answered 500.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from conftest import AppFactory

from tests.support.outage import database_unavailable
from tests.support.staff import staff
from web.api_errors import RETRY_AFTER_SECONDS

IMPOSSIBLE_IDS = ("%C2%B2", "%E2%91%A0", "%D9%A1%D9%A2", "9" * 5000, "99999999999999999999", "0")
"""², ①, Arabic-Indic 12, 5,000 digits, past 64 bits, zero: no row can have these ids."""


async def call(
    server: TestServer, method: str, path: str, key: str, body: Any = None
) -> tuple[int, Any, aiohttp.typedefs.LooseHeaders]:
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, server.make_url(path), json=body, headers=headers) as response,
    ):
        assert response.content_type == "application/json", await response.text()
        return response.status, await response.json(), response.headers


async def test_ids_that_no_row_can_have_are_a_json_404(start_app: AppFactory) -> None:
    server = await start_app()
    team = await staff(server)
    for raw in IMPOSSIBLE_IDS:
        for method, path, key in (
            ("GET", f"/api/interactions/{raw}", "supervisor"),
            ("POST", f"/api/agents/{raw}/state", "admin"),
            ("POST", f"/api/callbacks/{raw}/cancel", "admin"),
            ("GET", f"/api/chats/{raw}/messages", "supervisor"),
        ):
            status, data, _ = await call(server, method, path, team.keys[key], {"state": "x"})
            assert status == 404, (path[:60], status, data)
            assert isinstance(data["error"], str) and len(json.dumps(data)) < 200


async def test_a_message_id_past_any_row_is_a_json_400(start_app: AppFactory) -> None:
    server = await start_app()
    team = await staff(server)
    messages = f"/api/chats/{team.chats[0]}/messages"
    for after in ("99999999999999999999", "%C2%B2", "-1", "9" * 5000):
        status, data, _ = await call(server, "GET", f"{messages}?after={after}", team.keys["admin"])
        assert status == 400 and "after" in data["error"], (after[:30], status, data)
    status, data, _ = await call(server, "GET", f"{messages}?after=3", team.keys["admin"])
    assert status == 200 and data == {"messages": []}


async def test_no_such_route_or_method_is_a_json_refusal(start_app: AppFactory) -> None:
    server = await start_app()
    team = await staff(server)
    status, data, _ = await call(server, "GET", "/api/nothing-here", team.keys["admin"])
    assert status == 404 and data == {"error": "Not Found"}
    status, data, headers = await call(server, "DELETE", "/api/agents", team.keys["admin"])
    assert status == 405 and data == {"error": "Method Not Allowed"}
    assert "POST" in headers["Allow"]


async def test_an_unavailable_database_answers_503_with_retry_after(
    start_app: AppFactory, database_url: str
) -> None:
    server = await start_app()
    team = await staff(server)
    path, body = f"/api/agents/{team.agent_id}/state", {"state": "available"}
    async with database_unavailable(database_url):
        status, data, headers = await call(server, "POST", path, team.keys["admin"], body)
    assert status == 503, data
    assert headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert "unavailable" in data["error"] and len(json.dumps(data)) < 200
    status, data, _ = await call(server, "POST", path, team.keys["admin"], body)
    assert status == 200 and data["state"] == "available"
