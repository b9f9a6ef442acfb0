"""Signed webhooks with numbers Twilio would never send answer TwiML or a 400, never a 500.

Issue 10, finding 2: ``str.isdigit()`` accepted ``²``, ``①`` and 5,000-digit numbers, then
``int()`` raised: in the ``turn`` of action URLs, status ``SequenceNumber`` and ``*Duration``,
``QueueTime``, and the agent, callback and attempt ids of the agents' and callbacks' webhooks.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

import aiohttp
import pytest
from conftest import AppFactory

from tests.support.twilio_signing import call_form, new_call_sid, post_signed, twiml

NOT_NUMBERS = ["%C2%B2", "%E2%91%A0", "9" * 5000, "99999999999999999999"]
"""As they appear in a query string: ², ①, 5,000 digits, past 64 bits."""
FORM_NOT_NUMBERS = ["²", "①", "9" * 5000, "١٢٣"]


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    traced = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert not traced, [r.getMessage() for r in traced]


async def test_odd_numbers_in_a_live_calls_webhooks_get_twiml(
    start_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_app()
    base = str(server.make_url("")).rstrip("/")
    async with aiohttp.ClientSession() as http:
        call_sid = new_call_sid()
        twiml(await post_signed(http, base, "/twilio/voice", call_form(call_sid)))
        for raw, field in zip(NOT_NUMBERS, FORM_NOT_NUMBERS, strict=True):
            for path_qs, extra in (
                (f"/twilio/gather?turn={raw}", {"Digits": "9"}),
                (f"/twilio/no-input?turn={raw}", {}),
                ("/twilio/dial?turn=1", {"DialCallStatus": "completed", "DialCallDuration": field}),
                ("/twilio/queue/wait", {"QueueTime": field}),
                ("/twilio/queue?turn=1", {"QueueResult": "hangup", "QueueTime": field}),
            ):
                answer = await post_signed(http, base, path_qs, call_form(call_sid, **extra))
                assert isinstance(twiml(answer), ET.Element), path_qs[:40]
            answer = await post_signed(
                http,
                base,
                "/twilio/status",
                call_form(call_sid, SequenceNumber=field, CallDuration=field),
            )
            assert answer.status == 204, (field[:20], answer)
    no_tracebacks(caplog)


async def test_odd_agent_and_callback_ids_are_a_short_400(
    start_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_app()
    base = str(server.make_url("")).rstrip("/")
    async with aiohttp.ClientSession() as http:
        for raw in NOT_NUMBERS:
            for path_qs in (
                f"/twilio/agents/answer?agent={raw}&contact=call-CA1",
                f"/twilio/agents/status?agent={raw}&contact=call-CA1",
                f"/twilio/callbacks/answer?callback={raw}&attempt=1",
                f"/twilio/callbacks/status?callback=1&attempt={raw}",
            ):
                form = call_form(new_call_sid(), CallStatus="completed")
                answer = await post_signed(http, base, path_qs, form)
                assert answer.status == 400 and len(answer.body) < 200, (path_qs[:50], answer)
    no_tracebacks(caplog)
