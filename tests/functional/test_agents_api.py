"""The agents and callbacks API over real HTTP to the real app, on both databases.

Managers (admin, supervisor) add and list agents, set any agent's state and manage callbacks;
an ``agent`` key sets only its own agent's state; without a valid key nothing is answered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from conftest import AppFactory, app_of

from agents import roster
from callbacks import claim
from history.callback_requests import CallbackRequest, open_request
from web.keys import STORE

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


class Api:
    """Requests to the app as one API key (or none)."""

    def __init__(self, server: TestServer, session: aiohttp.ClientSession, token: str | None):
        self._server = server
        self._session = session
        self._headers = {} if token is None else {"Authorization": f"Bearer {token}"}

    async def __call__(
        self, method: str, path: str, body: Any = None, *, raw: bytes | None = None
    ) -> tuple[int, Any]:
        url = self._server.make_url(path)
        options: dict[str, Any] = {"data": raw} if raw is not None else {"json": body}
        async with self._session.request(method, url, headers=self._headers, **options) as response:
            payload = await response.json() if response.content_type.endswith("json") else None
            return response.status, payload


@pytest.fixture
async def server(start_app: AppFactory) -> TestServer:
    # No dispatcher or dialer: nothing but the API changes agents and callbacks here.
    return await start_app(callbacks_enabled=False)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


async def api_as(
    server: TestServer, session: aiohttp.ClientSession, role: str, agent_id: int | None = None
) -> Api:
    token = await app_of(server)[STORE].create_api_key(
        role=role, name=f"test {role}", at=datetime.now(UTC), agent_id=agent_id
    )
    return Api(server, session, token)


@pytest.fixture
async def supervisor(server: TestServer, session: aiohttp.ClientSession) -> Api:
    return await api_as(server, session, "supervisor")


async def new_agent(api: Api, name: str, address: str, queues: list[str] | None = None) -> Any:
    status, agent = await api(
        "POST", "/api/agents", {"name": name, "address": address, "queues": queues or ["general"]}
    )
    assert status == 201, agent
    return agent


async def callback_for(server: TestServer, phone: str, minutes: int = 0) -> int:
    request = CallbackRequest(
        phone=phone,
        from_number="+8215880000",
        kind="queued",
        queue="general",
        menu_checksum="menu-checksum",
        node="agents",
        language="ko",
        requested_at=T0,
        original_enqueued_at=T0 + timedelta(minutes=minutes),
        due_at=T0,
        max_attempts=3,
    )
    info, created = await app_of(server)[STORE].database.write(open_request, request)
    assert created
    return info.id


# --- keys and roles --------------------------------------------------------------------------

EVERY_ROUTE = [
    ("GET", "/api/agents"),
    ("POST", "/api/agents"),
    ("POST", "/api/agents/1/state"),
    ("GET", "/api/callbacks"),
    ("POST", "/api/callbacks/1/cancel"),
]


@pytest.mark.parametrize(("method", "path"), EVERY_ROUTE)
async def test_without_a_valid_key_nothing_is_answered(
    server: TestServer, session: aiohttp.ClientSession, method: str, path: str
) -> None:
    for token in (None, "not-a-key"):
        async with session.request(
            method,
            server.make_url(path),
            json={"state": "available"},
            headers={} if token is None else {"Authorization": f"Bearer {token}"},
        ) as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert (await response.json())["error"] == "a valid API key is required"


async def test_an_agent_key_may_not_manage_agents_or_callbacks(
    server: TestServer, session: aiohttp.ClientSession, supervisor: Api
) -> None:
    agent = await new_agent(supervisor, "김상담", "+821055550001")
    callback_id = await callback_for(server, "+821012340001")
    own = await api_as(server, session, "agent", agent["id"])

    for method, path, body in [
        ("GET", "/api/agents", None),
        ("POST", "/api/agents", {"name": "x", "address": "+821055550002", "queues": []}),
        ("GET", "/api/callbacks", None),
        ("POST", f"/api/callbacks/{callback_id}/cancel", None),
    ]:
        status, answer = await own(method, path, body)
        assert (status, answer) == (403, {"error": "this API key's role may not do this"})


# --- agents ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "supervisor"])
async def test_a_manager_adds_agents_offline_and_lists_them(
    server: TestServer, session: aiohttp.ClientSession, role: str
) -> None:
    api = await api_as(server, session, role)

    first = await new_agent(api, " 김상담 ", "+821055550001", ["general", "sales"])
    second = await new_agent(api, "Softphone", "client:desk-7")

    assert first["name"] == "김상담"
    assert (first["address"], first["queues"]) == ("+821055550001", ["general", "sales"])
    assert (first["state"], first["busy_with"]) == ("offline", None)
    assert datetime.fromisoformat(first["state_since"]).tzinfo is not None
    assert await api("GET", "/api/agents") == (200, {"agents": [first, second]})


@pytest.mark.parametrize(
    "body",
    [
        {"address": "+821055550001", "queues": ["general"]},
        {"name": "  ", "address": "+821055550001", "queues": ["general"]},
        {"name": "x" * 201, "address": "+821055550001", "queues": ["general"]},
        {"name": "a", "address": "01055550001", "queues": ["general"]},
        {"name": "a", "address": "+0105555000", "queues": ["general"]},
        {"name": "a", "address": "client:", "queues": ["general"]},
        {"name": "a", "address": "sip:agent@example.com", "queues": ["general"]},
        {"name": "a", "address": "+821055550001", "queues": "general"},
        {"name": "a", "address": "+821055550001", "queues": ["general", ""]},
        {"name": "a", "address": "+821055550001", "queues": [3]},
        {"name": "a", "address": "+821055550001"},
        ["not", "an", "object"],
    ],
)
async def test_a_bad_agent_is_refused(supervisor: Api, body: Any) -> None:
    status, answer = await supervisor("POST", "/api/agents", body)

    assert status == 400, answer
    assert await supervisor("GET", "/api/agents") == (200, {"agents": []})


async def test_a_body_that_is_not_json_is_refused(supervisor: Api) -> None:
    status, answer = await supervisor("POST", "/api/agents", raw=b"{name: nope")

    assert (status, answer) == (400, {"error": "the body must be a JSON object"})


async def test_a_second_agent_at_the_same_address_is_a_conflict(supervisor: Api) -> None:
    first = await new_agent(supervisor, "first", "+821055550001")

    status, answer = await supervisor(
        "POST", "/api/agents", {"name": "second", "address": "+821055550001", "queues": []}
    )

    assert status == 409
    assert "+821055550001" in answer["error"]
    assert await supervisor("GET", "/api/agents") == (200, {"agents": [first]})


@pytest.mark.parametrize("state", ["available", "wrap_up", "offline"])
async def test_a_manager_sets_any_agents_state(supervisor: Api, state: str) -> None:
    agent = await new_agent(supervisor, "agent", "+821055550001")
    await supervisor("POST", f"/api/agents/{agent['id']}/state", {"state": "available"})

    status, changed = await supervisor("POST", f"/api/agents/{agent['id']}/state", {"state": state})

    assert status == 200
    assert (changed["id"], changed["state"]) == (agent["id"], state)
    _, listed = await supervisor("GET", "/api/agents")
    assert listed["agents"] == [changed]


async def test_an_agent_key_sets_its_own_state_only(
    server: TestServer, session: aiohttp.ClientSession, supervisor: Api
) -> None:
    mine = await new_agent(supervisor, "mine", "+821055550001")
    other = await new_agent(supervisor, "other", "+821055550002")
    own = await api_as(server, session, "agent", mine["id"])

    logged_in = await own("POST", f"/api/agents/{mine['id']}/state", {"state": "available"})
    refused = await own("POST", f"/api/agents/{other['id']}/state", {"state": "available"})

    assert logged_in[0] == 200 and logged_in[1]["state"] == "available"
    assert refused == (403, {"error": "an agent key may set only its own agent's state"})
    _, listed = await supervisor("GET", "/api/agents")
    assert [a["state"] for a in listed["agents"]] == ["available", "offline"]


async def test_an_agent_key_without_an_agent_sets_nobodys_state(
    server: TestServer, session: aiohttp.ClientSession, supervisor: Api
) -> None:
    agent = await new_agent(supervisor, "agent", "+821055550001")
    keyless = await api_as(server, session, "agent")

    status, _ = await keyless("POST", f"/api/agents/{agent['id']}/state", {"state": "available"})

    assert status == 403


async def test_busy_is_the_dispatchers_to_set_never_a_keys(
    server: TestServer, session: aiohttp.ClientSession, supervisor: Api
) -> None:
    agent = await new_agent(supervisor, "agent", "+821055550001")
    own = await api_as(server, session, "agent", agent["id"])

    for api in (own, supervisor):
        status, answer = await api("POST", f"/api/agents/{agent['id']}/state", {"state": "busy"})
        assert status == 409, answer  # as docs/QUEUES.md promises
        assert "available, offline, wrap_up" in answer["error"]
    _, listed = await supervisor("GET", "/api/agents")
    assert listed["agents"][0]["state"] == "offline"


@pytest.mark.parametrize("state", ["lunch", "", "BUSY"])
async def test_a_state_that_does_not_exist_is_a_bad_request(supervisor: Api, state: str) -> None:
    agent = await new_agent(supervisor, "agent", "+821055550001")

    status, answer = await supervisor("POST", f"/api/agents/{agent['id']}/state", {"state": state})

    assert status == 400, answer
    assert "available, offline, wrap_up" in answer["error"]
    _, listed = await supervisor("GET", "/api/agents")
    assert listed["agents"][0]["state"] == "offline"


@pytest.mark.parametrize("body", [{}, {"state": 3}, {"state": None}])
async def test_a_state_change_without_a_state_is_a_bad_request(supervisor: Api, body: Any) -> None:
    agent = await new_agent(supervisor, "agent", "+821055550001")

    status, answer = await supervisor("POST", f"/api/agents/{agent['id']}/state", body)

    assert (status, answer) == (400, {"error": "state is required"})


async def test_a_busy_agent_cannot_be_logged_out_until_the_contact_ends(
    server: TestServer, supervisor: Api
) -> None:
    agent = await new_agent(supervisor, "agent", "+821055550001")

    def make_busy(conn: Any) -> None:
        found = roster.get_agent(conn, agent["id"])
        assert found is not None
        roster.transition(conn, found, roster.BUSY, at=T0, reason="test", busy_with="call:CA1")

    await app_of(server)[STORE].database.write(make_busy)

    status, answer = await supervisor(
        "POST", f"/api/agents/{agent['id']}/state", {"state": "offline"}
    )

    assert status == 409
    assert "busy with call:CA1" in answer["error"]


@pytest.mark.parametrize("agent_id", ["999", "0", "2147483648"])
async def test_the_state_of_an_unknown_agent_is_not_found(supervisor: Api, agent_id: str) -> None:
    status, _ = await supervisor("POST", f"/api/agents/{agent_id}/state", {"state": "available"})

    assert status == 404


# --- callbacks -------------------------------------------------------------------------------


async def test_a_supervisor_lists_callbacks_oldest_place_first_by_status(
    server: TestServer, supervisor: Api
) -> None:
    later = await callback_for(server, "+821012340002", minutes=5)
    first = await callback_for(server, "+821012340001", minutes=1)
    dialling = await callback_for(server, "+821012340003", minutes=0)
    store = app_of(server)[STORE]
    await store.database.write(claim.claim_due, now=T0, instance="test", limit=1)

    _, everything = await supervisor("GET", "/api/callbacks")
    _, pending = await supervisor("GET", "/api/callbacks?status=pending")
    _, being_dialled = await supervisor("GET", "/api/callbacks?status=dialing")
    _, none = await supervisor("GET", "/api/callbacks?status=failed")

    assert [c["id"] for c in everything["callbacks"]] == [dialling, first, later]
    assert [c["id"] for c in pending["callbacks"]] == [first, later]
    assert [(c["id"], c["attempts"]) for c in being_dialled["callbacks"]] == [(dialling, 1)]
    assert none == {"callbacks": []}
    shown = pending["callbacks"][0]
    assert (shown["phone"], shown["kind"], shown["queue"]) == ("+821012340001", "queued", "general")
    assert datetime.fromisoformat(shown["original_enqueued_at"]) == T0 + timedelta(minutes=1)


async def test_an_unknown_callback_status_is_a_bad_request(supervisor: Api) -> None:
    status, answer = await supervisor("GET", "/api/callbacks?status=lost")

    assert status == 400
    assert "cancelled, dialed, dialing, failed, pending, unknown" in answer["error"]


async def test_a_supervisor_cancels_a_pending_callback_once(
    server: TestServer, supervisor: Api
) -> None:
    callback_id = await callback_for(server, "+821012340001")

    cancelled = await supervisor("POST", f"/api/callbacks/{callback_id}/cancel")
    again = await supervisor("POST", f"/api/callbacks/{callback_id}/cancel")

    assert cancelled == (200, {"id": callback_id, "status": "cancelled"})
    assert again[0] == 409
    _, listed = await supervisor("GET", "/api/callbacks?status=cancelled")
    [shown] = listed["callbacks"]
    assert (shown["id"], shown["last_result"]) == (callback_id, "cancelled by supervisor")


async def test_cancelling_a_callback_that_does_not_exist_is_not_found(
    server: TestServer, supervisor: Api
) -> None:
    status, answer = await supervisor("POST", "/api/callbacks/4242/cancel")

    assert (status, answer) == (404, {"error": "no such callback"})


async def test_a_callback_being_dialled_cannot_be_cancelled(
    server: TestServer, supervisor: Api
) -> None:
    callback_id = await callback_for(server, "+821012340001")
    await app_of(server)[STORE].database.write(claim.claim_due, now=T0, instance="t", limit=5)

    status, answer = await supervisor("POST", f"/api/callbacks/{callback_id}/cancel")

    assert status == 409
    assert answer == {"error": "no pending callback with this id (dialling or closed)"}
    _, listed = await supervisor("GET", "/api/callbacks?status=dialing")
    assert [c["id"] for c in listed["callbacks"]] == [callback_id]
