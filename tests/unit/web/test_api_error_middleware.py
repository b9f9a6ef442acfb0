"""The ``/api/`` error middleware: 503 with Retry-After for an outage, a bare JSON 500 for a bug."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from history.db import HistoryUnavailableError
from web.api_errors import INTERNAL, RETRY_AFTER_SECONDS, api_errors

ClientFactory = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]


async def unavailable(_request: web.Request) -> web.Response:
    raise HistoryUnavailableError("history database unavailable: connection refused")


async def broken(_request: web.Request) -> web.Response:
    raise RuntimeError("a bug with a secret detail")


async def refused(_request: web.Request) -> web.Response:
    raise web.HTTPConflict(text='{"error": "busy agent"}', content_type="application/json")


def application() -> web.Application:
    app = web.Application(middlewares=[api_errors])
    app.add_routes(
        [
            web.get("/api/unavailable", unavailable),
            web.get("/api/broken", broken),
            web.get("/api/refused", refused),
            web.get("/elsewhere/broken", broken),
        ]
    )
    return app


async def test_an_unavailable_database_is_503_with_retry_after_and_no_traceback(
    aiohttp_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = await aiohttp_client(application())
    response = await client.get("/api/unavailable")
    assert response.status == 503
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert "unavailable" in (await response.json())["error"]
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_bug_is_a_bare_json_500_logged_once_with_its_traceback(
    aiohttp_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = await aiohttp_client(application())
    response = await client.get("/api/broken")
    assert response.status == 500
    assert await response.json() == {"error": INTERNAL}
    traced = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert len(traced) == 1 and traced[0].name == "web.api_errors"


async def test_refusals_pass_through_and_other_paths_are_not_touched(
    aiohttp_client: ClientFactory,
) -> None:
    client = await aiohttp_client(application())
    response = await client.get("/api/refused")
    assert response.status == 409 and await response.json() == {"error": "busy agent"}
    response = await client.get("/api/nowhere")
    assert response.status == 404 and await response.json() == {"error": "Not Found"}
    response = await client.get("/elsewhere/broken")
    assert response.status == 500 and response.content_type == "text/plain"
