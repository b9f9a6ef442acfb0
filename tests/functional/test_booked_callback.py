"""Booking a callback slot after a long wait, the SMS, and keeping or cancelling it next call.

The shipped menu sends a caller who waited ``max_wait`` (15 minutes) to its ``callback`` node,
which offers the next free slots of the business hours. Simulated time runs 1,000 times faster
than real time in the queue, so the quarter of an hour passes in about a second.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestServer
from conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, AppFactory, app_of

from history.callback_requests import CallbackInfo
from telephony.simulator import CallerConfig, CallTranscript, place_call
from telephony.simulator.rest_api import RestStandIn
from telephony.simulator.transcript import GatherPrompt, Heard, InputRequest
from web.keys import STORE

# Monday 2026-11-30 16:30 in Seoul: open until 18:00. Hour-long slots start on the hour from
# 09:00; with an hour's lead, today's last (17:00) is too soon, so they start tomorrow 09:00.
MONDAY_AFTERNOON = datetime(2026, 11, 30, 7, 30, tzinfo=UTC)
CALLER = "+821012349999"
CALLED = "+8215881234"
TIME_SCALE = 0.001
WAIT = 60.0


class FixedClock:
    """Always the same instant: the slots offered do not move while the test runs."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
async def twilio() -> AsyncIterator[RestStandIn]:
    async with RestStandIn(ACCOUNT_SID, AUTH_TOKEN, time_scale=TIME_SCALE) as stand_in:
        yield stand_in


async def test_a_long_wait_books_a_slot_confirmed_by_sms_then_kept_or_cancelled(
    start_app: AppFactory, twilio: RestStandIn
) -> None:
    server = await start_app(clock=FixedClock(MONDAY_AFTERNOON), twilio_api_base=twilio.url)
    twilio.deliver_to(str(server.make_url("")).rstrip("/"), PUBLIC_URL)

    # Agent key 0, silence at every callback offer, then slot 2 at the callback node.
    booking = await _call(server, twilio, menu_keys=["0", "2"])

    heard = [step.text or "" for step in booking.of_type(Heard)]
    assert any("내일 오전 9시에 받으시려면 1번" in text for text in heard), heard[-12:]
    assert any("내일 오전 10시에 받으시려면 2번" in text for text in heard), heard[-12:]
    assert any("내일 오전 10시에 전화드리겠습니다" in text for text in heard), heard[-12:]
    booked = await _open_callback(server)
    assert booked is not None
    assert (booked.kind, booked.status, booked.queue) == ("scheduled", "pending", "general")
    assert booked.due_at == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 10:00 in Seoul
    text = await _text_to(twilio, CALLER)
    assert text == "상담 전화가 예약되었습니다. 내일 오전 10시에 상담원이 전화드리겠습니다."

    # Calling again: asked to keep (1) it; then calling once more and cancelling (2) it.
    kept = await _call(server, twilio, menu_keys=["1"])
    assert any("예약된 상담 전화가 있습니다" in (s.text or "") for s in kept.of_type(Heard))
    assert await _open_callback(server) == booked
    await _call(server, twilio, menu_keys=["2"])
    assert await _open_callback(server) is None
    cancelled = await app_of(server)[STORE].callback(booked.id)
    assert cancelled is not None and cancelled.status == "cancelled"


async def _call(server: TestServer, twilio: RestStandIn, *, menu_keys: list[str]) -> CallTranscript:
    keys = list(menu_keys)

    async def answer(request: InputRequest) -> str | None:
        if isinstance(request, GatherPrompt) and request.in_queue:
            return ""
        return keys.pop(0) if keys else None

    config = CallerConfig(
        server_url=str(server.make_url("")).rstrip("/"),
        public_url=PUBLIC_URL,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        caller=CALLER,
        called=CALLED,
        call_sid="CA" + uuid.uuid4().hex,
        queue_seconds=3600,
        time_scale=TIME_SCALE,
    )
    return await asyncio.wait_for(
        place_call(config, input_provider=answer, network=twilio.network), WAIT
    )


async def _open_callback(server: TestServer) -> CallbackInfo | None:
    return await app_of(server)[STORE].open_callback_for(CALLER)


async def _text_to(twilio: RestStandIn, phone: str) -> str:
    """The one text sent to ``phone`` (the dispatcher's timer sends it within a tick or two)."""
    async with asyncio.timeout(WAIT):
        while True:
            texts = [m.body for m in twilio.record.messages if m.to == phone]
            if texts:
                assert len(texts) == 1, texts
                return texts[0]
            await asyncio.sleep(0.05)
