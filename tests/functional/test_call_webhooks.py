"""A call end to end through the signed webhooks, driven by an independent Twilio-style client."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from conftest import AUTH_TOKEN, PUBLIC_URL, AppFactory, app_of
from twilio_style import TwilioStyleCall

from history.store import SqlHistoryStore
from web.keys import STORE

EVERY_NODE_MENU = Path(__file__).parent.parent / "fixtures" / "menus" / "every_node_type.yaml"
# Monday 2026-11-23 10:00 in Seoul: the shipped and fixture schedules are open.
OPEN_HOURS = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
# Sunday 2026-11-22 10:00 in Seoul: closed.
CLOSED_HOURS = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def new_sid() -> str:
    return "CA" + uuid.uuid4().hex


async def start(start_app: AppFactory, at: datetime = OPEN_HOURS) -> TestServer:
    return await start_app(menu=EVERY_NODE_MENU, clock=Clock(at))


def store_of(server: TestServer) -> SqlHistoryStore:
    return app_of(server)[STORE]


def verbs(document: ET.Element) -> list[str]:
    return [child.tag for child in document]


async def plays_are_telephone_audio(call: TwilioStyleCall, document: ET.Element) -> int:
    count = 0
    for play in document.iter("Play"):
        assert play.text is not None and play.text.startswith(PUBLIC_URL + "/prompts/")
        wav = await call.fetch_play(play.text)
        assert (wav.format_tag, wav.channels, wav.sample_rate, wav.bits) == (7, 1, 8000, 8)
        assert wav.data_bytes > 8000 * 0.3  # at least 0.3 s of audio
        count += 1
    return count


def gather_of(document: ET.Element) -> ET.Element:
    gather = document.find("Gather")
    assert gather is not None, ET.tostring(document)
    return gather


async def make_call(
    server: TestServer, session: aiohttp.ClientSession, caller: str = "+821012345678"
) -> TwilioStyleCall:
    """A Twilio-style caller of ``server`` (behind the public URL) with a fresh CallSid."""
    return TwilioStyleCall(
        session,
        str(server.make_url("")).rstrip("/"),
        PUBLIC_URL,
        AUTH_TOKEN,
        new_sid(),
        caller=caller,
    )


async def test_balance_call_walks_say_hours_menu_collect_hangup(start_app: AppFactory) -> None:
    server = await start(start_app)
    async with aiohttp.ClientSession() as session:
        call = await make_call(server, session)
        first = await call.twiml("/twilio/voice", status="ringing")
        assert verbs(first) == ["Gather", "Redirect"]
        gather = gather_of(first)
        assert gather.get("input") == "dtmf" and gather.get("numDigits") == "1"
        assert await plays_are_telephone_audio(call, first) == 2  # welcome + main menu
        assert gather.get("action") is not None
        account = await call.twiml(gather.attrib["action"], {"Digits": "2"})
        collect = gather_of(account)
        assert collect.get("numDigits") == "8" and collect.get("finishOnKey") == "#"
        await plays_are_telephone_audio(call, account)
        done = await call.twiml(
            collect.attrib["action"], {"Digits": "86420135", "FinishedOnKey": "#"}
        )
        assert verbs(done) == ["Play", "Play", "Hangup"]
        await plays_are_telephone_audio(call, done)
        assert await call.status_callback() == 204

    detail = await _interaction(server, call.call_sid)
    types = [e["type"] for e in detail["events"]]
    assert types[0] == "call_started"
    assert [e["seq"] for e in detail["events"]] == list(range(1, len(types) + 1))
    entered = [e["payload"]["node"] for e in detail["events"] if e["type"] == "node_entered"]
    assert entered == ["welcome", "open_check", "main", "account", "balance_result", "goodbye"]
    collected = next(e for e in detail["events"] if e["type"] == "value_collected")
    assert collected["payload"]["value"] == "********"
    assert "86420135" not in str(detail)
    assert detail["outcome"] == "completed" and detail["ended_at"] is not None


async def test_lost_card_transfer_then_goodbye(start_app: AppFactory) -> None:
    server = await start(start_app)
    async with aiohttp.ClientSession() as session:
        call = await make_call(server, session)
        first = await call.twiml("/twilio/voice", status="ringing")
        dialing = await call.twiml(gather_of(first).attrib["action"], {"Digits": "1"})
        dial = dialing.find("Dial")
        assert dial is not None and dial.findtext("Number") == "+8215880000"
        assert dial.get("action") is not None
        after = await call.twiml(
            dial.attrib["action"],
            {
                "DialCallStatus": "completed",
                "DialCallDuration": "61",
                "DialCallSid": "CA" + "2" * 32,
            },
        )
        assert verbs(after)[-1] == "Hangup"
        assert await call.status_callback() == 204
    detail = await _interaction(server, call.call_sid)
    assert detail["outcome"] == "transferred"


async def test_agent_option_enqueues_and_records_queue_result(start_app: AppFactory) -> None:
    server = await start(start_app)
    async with aiohttp.ClientSession() as session:
        call = await make_call(server, session)
        first = await call.twiml("/twilio/voice", status="ringing")
        queued = await call.twiml(gather_of(first).attrib["action"], {"Digits": "0"})
        enqueue = queued.find("Enqueue")
        assert enqueue is not None and enqueue.text == "general"
        await call.twiml(
            enqueue.attrib["action"],
            {"QueueResult": "hangup", "QueueTime": "37", "QueueSid": "QU" + "3" * 32},
        )
        assert await call.status_callback() == 204
    detail = await _interaction(server, call.call_sid)
    result = next(e for e in detail["events"] if e["type"] == "queue_result")
    assert result["payload"]["result"] == "hangup" and result["payload"]["queue_seconds"] == 37
    assert detail["outcome"] == "abandoned"


async def test_goto_repeats_the_menu_and_no_input_reprompts(start_app: AppFactory) -> None:
    server = await start(start_app)
    async with aiohttp.ClientSession() as session:
        call = await make_call(server, session)
        first = await call.twiml("/twilio/voice", status="ringing")
        again = await call.twiml(gather_of(first).attrib["action"], {"Digits": "9"})
        assert verbs(again) == ["Gather", "Redirect"]
        redirect = again.find("Redirect")
        assert redirect is not None and redirect.text is not None
        reprompt = await call.twiml(redirect.text)
        assert len(list(gather_of(reprompt).iter("Play"))) == 2  # "please answer" + menu
    detail = await _interaction(server, call.call_sid)
    types = [e["type"] for e in detail["events"]]
    assert "no_input" in types and "input_rejected" in types
    assert [e["payload"]["node"] for e in detail["events"] if e["type"] == "node_entered"][-2:] == [
        "again",
        "main",
    ]


async def test_closed_hours_say_closed_and_hang_up(start_app: AppFactory) -> None:
    server = await start(start_app, CLOSED_HOURS)
    async with aiohttp.ClientSession() as session:
        call = await make_call(server, session)
        closed = await call.twiml("/twilio/voice", status="ringing")
        assert verbs(closed) == ["Play", "Play", "Play", "Hangup"]
    detail = await _interaction(server, call.call_sid)
    hours = next(e for e in detail["events"] if e["type"] == "hours_checked")
    assert hours["payload"]["open"] is False


async def test_repeated_webhook_gets_the_same_answer_and_is_applied_once(
    start_app: AppFactory,
) -> None:
    server = await start(start_app)
    async with aiohttp.ClientSession() as session:
        call = await make_call(server, session)
        first = await call.twiml("/twilio/voice", status="ringing")
        action = gather_of(first).attrib["action"]
        once = await call.twiml(action, {"Digits": "2"})
        twice = await call.twiml(action, {"Digits": "2"})
        assert ET.tostring(once) == ET.tostring(twice)
        again = await call.twiml("/twilio/voice", status="ringing")
        assert ET.tostring(again) == ET.tostring(first) or verbs(again) == verbs(once)
    detail = await _interaction(server, call.call_sid)
    entered = [e["payload"]["node"] for e in detail["events"] if e["type"] == "node_entered"]
    assert entered.count("account") == 1
    assert any(e["type"] == "webhook_replayed" for e in detail["events"])


async def test_status_callbacks_are_recorded_once(start_app: AppFactory) -> None:
    server = await start(start_app)
    async with aiohttp.ClientSession() as session:
        call = await make_call(server, session)
        await call.twiml("/twilio/voice", status="ringing")
        assert await call.status_callback() == 204
        call.sequence -= 1  # Twilio retrying the same callback
        assert await call.status_callback() == 204
    detail = await _interaction(server, call.call_sid)
    statuses = [e for e in detail["events"] if e["type"] == "call_status"]
    assert len(statuses) == 1 and statuses[0]["payload"]["status"] == "completed"
    assert detail["outcome"] == "abandoned"


@pytest.mark.parametrize("signature", ["", "forged-signature", "wrong-url"])
async def test_unsigned_or_forged_webhooks_are_refused_and_leave_no_trace(
    start_app: AppFactory, signature: str
) -> None:
    server = await start(start_app)
    async with aiohttp.ClientSession() as session:
        call = await make_call(server, session)
        if signature == "wrong-url":
            signature = call.sign("https://attacker.example/twilio/voice", {"CallSid": "x"})
        for path in ("/twilio/voice", "/twilio/gather?turn=1", "/twilio/status"):
            async with await call.post(path, {"Digits": "1"}, signature=signature) as response:
                assert response.status == 403
    store = store_of(server)
    assert await store.get_call(call.call_sid) is None
    assert await store.customer_timeline(call.caller) is None


async def test_signature_over_the_local_url_is_refused(start_app: AppFactory) -> None:
    server = await start(start_app)
    async with aiohttp.ClientSession() as session:
        call = await make_call(server, session)
        call.public_url = call.server_url  # signed for the socket's URL, not the public one
        async with await call.post("/twilio/voice", status="ringing") as response:
            assert response.status == 403


async def _interaction(server: TestServer, call_sid: str) -> dict[str, Any]:
    store = store_of(server)
    record = await store.get_call(call_sid)
    assert record is not None
    detail = await store.interaction_detail(record.interaction_id)
    assert detail is not None
    plain = detail.to_json() if hasattr(detail, "to_json") else detail
    assert isinstance(plain, dict)
    return plain
