"""The shipped menu called through voicedesk's own simulator, against the real app."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from aiohttp.test_utils import TestServer
from conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, AppFactory, app_of
from test_call_webhooks import OPEN_HOURS, Clock

from telephony.simulator import (
    CallerConfig,
    CallTranscript,
    Dialed,
    Enqueued,
    Gathered,
    Heard,
    HungUp,
    place_call,
)
from web.keys import STORE

# Saturday 2026-11-28 14:00 in Seoul: after the Saturday window (09:00-13:00) of the shipped menu.
SATURDAY_AFTERNOON = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)


async def call(server: TestServer, digits: list[str], **scenario: object) -> CallTranscript:
    config = CallerConfig(
        server_url=str(server.make_url("")).rstrip("/"),
        public_url=PUBLIC_URL,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        caller="+821077778888",
        called="+8215881234",
        digits=tuple(digits),
        call_sid="CA" + uuid.uuid4().hex,
        **scenario,  # type: ignore[arg-type]
    )
    return await place_call(config)


async def nodes_of(server: TestServer, transcript: CallTranscript) -> list[str]:
    store = app_of(server)[STORE]
    record = await store.get_call(transcript.call_sid)
    assert record is not None
    detail = await store.interaction_detail(record.interaction_id)
    assert detail is not None
    return [e.payload["node"] for e in detail.events if e.type == "node_entered"]


async def test_shipped_menu_balance_by_keypad(start_app: AppFactory) -> None:
    server = await start_app(clock=Clock(OPEN_HOURS))
    transcript = await call(server, ["2", "12345678#"])
    heard = transcript.of_type(Heard)
    assert heard and all(h.audio is not None and h.audio.sample_rate == 8000 for h in heard)
    # The server tells the simulator what each prompt says (Korean, the menu's first language).
    assert heard[0].text == "안녕하세요. 보이스데스크 카드 고객센터입니다."
    assert isinstance(transcript.ending, HungUp) and transcript.ending.by == "server"
    assert transcript.final_status == "completed"
    nodes = await nodes_of(server, transcript)
    assert nodes[:3] == ["welcome", "open_check", "main"]
    assert "account" in nodes and nodes[-1] == "goodbye"


async def test_shipped_menu_lost_card_transfer_busy_then_goodbye(start_app: AppFactory) -> None:
    server = await start_app(clock=Clock(OPEN_HOURS))
    transcript = await call(server, ["1"], dial_status="busy")
    [dialed] = transcript.of_type(Dialed)
    assert dialed.status == "busy"
    nodes = await nodes_of(server, transcript)
    assert "lost_card" in nodes and nodes[-1] == "goodbye"


async def test_shipped_menu_agent_queue(start_app: AppFactory) -> None:
    server = await start_app(clock=Clock(OPEN_HOURS))
    # Keys: the menu's 0, silence at the callback offer, 5 at the survey after the agent.
    transcript = await call(server, ["0", "-", "5"], queue_result="bridged")
    [queued] = transcript.of_type(Enqueued)
    assert queued.queue == "general" and queued.result == "bridged"
    nodes = await nodes_of(server, transcript)
    assert nodes[-3:] == ["agents", "satisfaction", "goodbye"]


async def test_shipped_menu_silent_caller_is_reprompted_then_sent_to_agents(
    start_app: AppFactory,
) -> None:
    server = await start_app(clock=Clock(OPEN_HOURS))
    transcript = await call(server, ["-", "-", "-"], queue_result="hangup")
    gathers = transcript.of_type(Gathered)
    assert [g.timed_out for g in gathers] == [True, True, True]
    assert transcript.of_type(Enqueued)  # retries ran out: the menu's fallback is the queue


async def test_shipped_menu_wrong_account_number_is_retried(start_app: AppFactory) -> None:
    server = await start_app(clock=Clock(OPEN_HOURS))
    transcript = await call(server, ["2", "123#", "12345678#"])
    nodes = await nodes_of(server, transcript)
    assert nodes[-3:] == ["account", "balance_result", "goodbye"]
    assert [g.digits for g in transcript.of_type(Gathered)] == ["2", "123", "12345678"]


async def test_shipped_menu_after_saturday_hours_is_closed(start_app: AppFactory) -> None:
    server = await start_app(clock=Clock(SATURDAY_AFTERNOON))
    transcript = await call(server, [])
    assert not transcript.of_type(Gathered)
    nodes = await nodes_of(server, transcript)
    assert "closed_message" in nodes and nodes[-1] == "goodbye"
