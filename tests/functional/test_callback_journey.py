"""Issue 4's journey through the simulator and the REST stand-in, against the real app.

A caller waits, hears their place and the expected wait, presses 1, confirms their number and
hangs up. A later caller waits on. When the agent becomes free, the callback is dialled first
(it kept the first caller's place), the customer answers, talks to the agent in a conference,
and rates the call; then the later caller is taken out of the queue to the agent and rates too.
Every step is in the history.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, AppFactory, app_of
from running_clock import RunningClock
from sqlalchemy import Connection, select

from history.callback_requests import list_requests
from history.models import AgentEvent
from history.records import InteractionDetail
from telephony.simulator import CallerConfig, CallTranscript, place_call
from telephony.simulator.phones import Phone
from telephony.simulator.rest_api import RestStandIn
from telephony.simulator.transcript import GatherPrompt, InputRequest
from web.keys import STORE

# Monday 2026-11-30 10:00 in Seoul: the shipped menu's schedule is open.
OPENING = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
AGENT_PHONE = "+821055550001"
FIRST_CALLER = "+821012340001"  # asks for the callback
LATER_CALLER = "+821012340002"  # keeps waiting
WARM_UP_CALLER = "+821012340003"  # served first, so handle times exist for the expected wait
CALLED = "+8215881234"
# Real seconds per simulated second: 30 s of hold audio passes in 0.3 s, an agent's 20 s of
# talking in 0.2 s.
TIME_SCALE = 0.01
STEP_TIMEOUT = 60.0


class Answers:
    """A caller's keys: the menu's, the wait's (the callback offer) and the rest, in turn."""

    def __init__(self, menu: list[str], in_queue: str) -> None:
        self._menu = list(menu)
        self._in_queue = in_queue
        self.offers = 0

    async def __call__(self, request: InputRequest) -> str | None:
        if isinstance(request, GatherPrompt) and request.in_queue:
            self.offers += 1
            return self._in_queue
        return self._menu.pop(0) if self._menu else None


@pytest.fixture
async def twilio() -> AsyncIterator[RestStandIn]:
    async with RestStandIn(ACCOUNT_SID, AUTH_TOKEN, time_scale=TIME_SCALE) as stand_in:
        stand_in.phones[AGENT_PHONE] = Phone(
            behaviour="answer", mode="follow_twiml", ring_seconds=2, talk_seconds=20
        )
        # The callback customer answers and rates the call 5 at the survey.
        stand_in.phones[FIRST_CALLER] = Phone(
            behaviour="answer", mode="follow_twiml", ring_seconds=3, script=("5",)
        )
        yield stand_in


async def test_a_callback_keeps_its_place_is_dialled_once_bridged_and_rated(
    start_app: AppFactory, twilio: RestStandIn
) -> None:
    server = await start_app(
        clock=RunningClock(OPENING),
        twilio_api_base=twilio.url,
        agent_wrap_up_seconds=3600,  # an agent is free again only when the test says so
    )
    server_url = str(server.make_url("")).rstrip("/")
    twilio.deliver_to(server_url, PUBLIC_URL)
    api = await _api(server)
    agent = await api(
        "POST", "/api/agents", {"name": "김상담", "address": AGENT_PHONE, "queues": ["general"]}
    )
    state = f"/api/agents/{agent['id']}/state"

    # A first caller is served live, so the queue has a handle time to estimate waits from.
    await api("POST", state, {"state": "available"})
    warm_up = await _call(server_url, twilio, WARM_UP_CALLER, Answers(["0", "3"], ""))
    await _agent_in(api, agent["id"], "wrap_up")

    # The first caller waits, hears place and wait, presses 1, confirms the number, hangs up.
    first = await _call(server_url, twilio, FIRST_CALLER, Answers(["0", "1"], in_queue="1"))
    # The later caller waits on, ignoring the offers, until an agent takes them.
    later_sid = "CA" + uuid.uuid4().hex
    later_call = asyncio.create_task(
        _call(server_url, twilio, LATER_CALLER, Answers(["0", "4"], in_queue=""), later_sid)
    )
    await asyncio.wait_for(twilio.network.wait_for_member("general", later_sid), STEP_TIMEOUT)

    # The agent is free: the callback goes first (it kept its place), then the later caller.
    await api("POST", state, {"state": "available"})
    # Busy with the callback, then in wrap-up: polled on the history, which keeps every step
    # (the agent's state alone can pass through busy between two polls on a loaded machine).
    await _contacts_given_are(server, agent["id"], 2)
    await _agent_in(api, agent["id"], "wrap_up")
    await api("POST", state, {"state": "available"})
    later = await asyncio.wait_for(later_call, STEP_TIMEOUT)
    await asyncio.wait_for(twilio.settle(), STEP_TIMEOUT)

    store = app_of(server)[STORE]
    first_call = await _detail(server, first.call_sid)
    said = _said(first_call)
    assert any("1번째" in text and "약 1분" in text for text in said), said
    assert "queue_left" in _types(first_call)
    booked = next(e for e in first_call.events if e.type == "schedule_callback")
    assert (booked.payload["phone"], booked.payload["kind"]) == (FIRST_CALLER, "queued")
    assert first_call.summary.outcome == "callback_requested"

    [callback] = await store.database.read(list_requests, status=None, limit=10)
    assert (callback.status, callback.attempts, callback.phone) == ("dialed", 1, FIRST_CALLER)
    assert len(twilio.record.dials_to(FIRST_CALLER)) == 1
    later_call_history = await _detail(server, later.call_sid)
    assert callback.original_enqueued_at < _enqueued_at(later_call_history)

    callback_history = await store.interaction_detail(callback.interaction_id)
    assert callback_history is not None
    assert callback_history.summary.channel == "callback"
    assert callback_history.summary.parent_id == first_call.summary.id
    steps = _types(callback_history)
    for step in ("callback_requested", "callback_claimed", "callback_dialing", "agent_connected"):
        assert step in steps, steps
    assert _rating(callback_history) == 5
    [text] = [m for m in twilio.record.messages if m.to == FIRST_CALLER]
    assert (text.from_, text.body) == (
        CALLED,
        "상담 전화 요청이 접수되었습니다. 순서가 되면 상담원이 전화드리겠습니다.",
    )
    assert "callback_sms_sent" in steps

    assert "agent_ready" in _types(later_call_history), " ".join(_types(later_call_history))
    assert _rating(later_call_history) == 4
    given = await store.database.read(_contacts_given, agent["id"])
    assert given == [
        f"call:{warm_up.call_sid}",
        f"callback:{callback.id}:1",
        f"call:{later.call_sid}",
    ]


Api = Callable[..., Awaitable[Any]]


async def _api(server: TestServer) -> Api:
    store = app_of(server)[STORE]
    token = await store.create_api_key(role="supervisor", name="test", at=datetime.now(UTC))
    base = str(server.make_url("")).rstrip("/")

    async def request(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            aiohttp.ClientSession() as http,
            http.request(method, base + path, json=body, headers=headers) as response,
        ):
            assert response.status < 300, await response.text()
            return await response.json()

    return request


async def _agent_in(api: Api, agent_id: int, state: str) -> None:
    """Wait until the agent is in ``state`` (the ACD works on its own timer)."""
    async with asyncio.timeout(STEP_TIMEOUT):
        while True:
            agents = (await api("GET", "/api/agents"))["agents"]
            if next(a for a in agents if a["id"] == agent_id)["state"] == state:
                return
            await asyncio.sleep(0.05)


async def _contacts_given_are(server: TestServer, agent_id: int, count: int) -> None:
    """Wait until the agent has been given ``count`` contacts."""
    store = app_of(server)[STORE]
    async with asyncio.timeout(STEP_TIMEOUT):
        while True:
            if len(await store.database.read(_contacts_given, agent_id)) >= count:
                return
            await asyncio.sleep(0.05)


async def _call(
    server_url: str,
    twilio: RestStandIn,
    caller: str,
    answers: Answers,
    call_sid: str | None = None,
) -> CallTranscript:
    config = CallerConfig(
        server_url=server_url,
        public_url=PUBLIC_URL,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        caller=caller,
        called=CALLED,
        call_sid=call_sid or "CA" + uuid.uuid4().hex,
        queue_seconds=3600,
        time_scale=TIME_SCALE,
    )
    return await asyncio.wait_for(
        place_call(config, input_provider=answers, network=twilio.network), STEP_TIMEOUT
    )


async def _detail(server: TestServer, call_sid: str) -> InteractionDetail:
    store = app_of(server)[STORE]
    record = await store.get_call(call_sid)
    assert record is not None
    detail = await store.interaction_detail(record.interaction_id)
    assert detail is not None
    return detail


def _types(detail: InteractionDetail) -> list[str]:
    return [event.type for event in detail.events]


def _said(detail: InteractionDetail) -> list[str]:
    return [str(e.payload["text"]) for e in detail.events if e.type == "prompt"]


def _rating(detail: InteractionDetail) -> int | None:
    rated = [e.payload["rating"] for e in detail.events if e.type == "survey_answered"]
    return int(rated[0]) if len(rated) == 1 else None


def _enqueued_at(detail: InteractionDetail) -> datetime:
    joined = next(e for e in detail.events if e.type == "enqueue")
    return datetime.fromisoformat(str(joined.payload["place"]))


def _contacts_given(conn: Connection, agent_id: int) -> list[str]:
    """What the agent was given, in order (from their state changes to busy)."""
    rows = conn.execute(
        select(AgentEvent.payload)
        .where(AgentEvent.agent_id == agent_id, AgentEvent.type == "agent_state_changed")
        .order_by(AgentEvent.id)
    )
    return [str(p["busy_with"]) for (p,) in rows if p["to"] == "busy"]
