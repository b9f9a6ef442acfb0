"""Every API route's path and query parameters and bodies, fuzzed with valid keys.

Each case answers 2xx with JSON, or a 4xx whose body is a short JSON error; never a 5xx and
never a traceback in the log. Ids in paths include those of rows that exist (agents, chats,
interactions) so that cases reach the database as well as the parsers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from hypothesis import strategies as st
from yarl import URL

from telephony.simulator.rest_api import RestStandIn
from tests.support import twilio_shapes as shapes
from tests.support.fuzzing import LogWatch, LoopBridge, Tally, run_examples
from tests.support.running_app import app_of, database_of, running_app
from tests.support.staff import CUSTOMERS, Staff, staff
from tests.support.twilio_signing import call_form, new_call_sid, post_signed, query_string

API_ROUTES: Final = frozenset(
    {
        ("GET", "/api/customers/{phone}/interactions"),
        ("GET", "/api/interactions/{id}"),
        ("GET", "/api/agents"),
        ("POST", "/api/agents"),
        ("POST", "/api/agents/{id}/state"),
        ("GET", "/api/callbacks"),
        ("POST", "/api/callbacks/{id}/cancel"),
        ("GET", "/api/chats"),
        ("GET", "/api/chats/{chat_id}/messages"),
        ("POST", "/api/chats/{chat_id}/take"),
        ("POST", "/api/chats/{chat_id}/messages"),
        ("POST", "/api/chats/{chat_id}/close"),
    }
)
"""The API as issue 10 found it; the router must serve at least these."""
QUERY_KEYS: Final = ("after", "status", "limit", "phone")
BODY_KEYS: Final = ("name", "address", "queues", "state", "body", "client_id", "outcome")
PARAMETER: Final = re.compile(r"\{([^}]+)\}")
MAX_TARGET: Final = 7000
"""Characters of a fuzzed path and query: a 5,000-digit id fits, and the request line stays
under aiohttp's 8 KB limit (past it aiohttp refuses the request before any handler runs)."""
SHORT_BODY: Final = 1000
"""Bytes of an error answer: a line saying what was wrong."""
RAISED_LIMITS: Final[dict[str, Any]] = {"auth_failures_per_minute": 10_000}
"""The fuzz sends thousands of requests a minute from one address: rate limits are tested
elsewhere, here they would only turn cases into 429s."""

JSON_VALUES: Final = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        shapes.values().filter(lambda v: len(v) < 3000),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(shapes.any_text(0, 10), inner, max_size=3)
    ),
    max_leaves=6,
)


@dataclass(frozen=True)
class ApiCase:
    """One fuzzed API request."""

    method: str
    path: str
    query: dict[str, str]
    role: str
    body: bytes | None


def api_cases(routes: list[tuple[str, str]], ids: list[str]) -> st.SearchStrategy[ApiCase]:
    """API requests: a route, its path parameters, a query, a role and a body."""
    parameter = st.one_of(st.sampled_from(ids), shapes.values())
    query = st.dictionaries(
        st.one_of(st.sampled_from(QUERY_KEYS), shapes.any_text(1, 10)),
        st.one_of(shapes.numbers(), shapes.values()),
        max_size=3,
    )
    known = st.dictionaries(st.sampled_from(BODY_KEYS), JSON_VALUES, max_size=4)
    body = st.one_of(
        st.none(),
        known.map(lambda d: json.dumps(d).encode()),
        JSON_VALUES.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=200),
        st.sampled_from(
            (b"{", b"\xff\xfe", b"[]", b"null", b"1e999", b'{"state": "' + b"x" * 70_000 + b'"}')
        ),
    )

    @st.composite
    def case(draw: st.DrawFn) -> ApiCase:
        method, template = draw(st.sampled_from(routes))
        path = PARAMETER.sub(lambda _m: quote(draw(parameter), safe=""), template)
        role = draw(st.sampled_from(("admin", "supervisor", "agent")))
        return ApiCase(method, path, draw(query), role, draw(body) if method == "POST" else None)

    return case().filter(lambda c: len(c.path + query_string(c.query)) <= MAX_TARGET)


def api_routes(server: TestServer) -> list[tuple[str, str]]:
    """Every route under ``/api/`` the app serves, as (method, path template)."""
    found = {
        (route.method, route.resource.canonical)
        for route in app_of(server).router.routes()
        if route.resource is not None and route.method in {"GET", "POST", "PUT", "DELETE"}
    }
    return sorted(r for r in found if r[1].startswith("/api/"))


@pytest.fixture
async def server(
    database_url: str, prompt_cache: Path, twilio: RestStandIn
) -> AsyncIterator[TestServer]:
    async with running_app(
        database_url, prompt_cache, twilio_api_base=twilio.url, **RAISED_LIMITS
    ) as app:
        yield app


async def test_api_parameters_answer_json_or_a_short_4xx(
    server: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    base = str(server.make_url("")).rstrip("/")
    routes = api_routes(server)
    assert set(routes) >= API_ROUTES, API_ROUTES - set(routes)
    team = await staff(server)
    tally = Tally("api", database_of(server))
    async with aiohttp.ClientSession() as http:
        await post_signed(http, base, "/twilio/voice", call_form(new_call_sid(), CUSTOMERS[0]))
        ids = ["1", "2", str(team.agent_id), *map(str, team.chats), *CUSTOMERS]
        bridge, logs = LoopBridge(asyncio.get_running_loop()), LogWatch(caplog.records)

        def examples(case: ApiCase) -> None:
            status, body = bridge(request(http, base, team, case))
            tally.count(status)
            check_answer(case, status, body)
            logs.check(case)

        await run_examples(examples, case=lambda: api_cases(routes, ids))
    tally.report()


async def request(
    http: aiohttp.ClientSession, base: str, team: Staff, case: ApiCase
) -> tuple[int, bytes]:
    url = URL(base + case.path + query_string(case.query), encoded=True)
    headers = {"Authorization": f"Bearer {team.keys[case.role]}"}
    if case.body is not None:
        headers["Content-Type"] = "application/json"
    async with http.request(case.method, url, data=case.body, headers=headers) as response:
        return response.status, await response.read()


def check_answer(case: ApiCase, status: int, body: bytes) -> None:
    """JSON for success; a short JSON error for a refusal; never a 5xx."""
    assert status < 500, (case, status, body[:500])
    data: Any = json.loads(body) if body else None
    if status >= 400:
        assert len(body) <= SHORT_BODY, (case, status, body[:200])
        assert isinstance(data, dict) and isinstance(data.get("error"), str), (case, body)
