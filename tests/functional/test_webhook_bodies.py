"""Webhook bodies Twilio would never send: a short 4xx, nothing written, no traceback.

Issue 10, finding 3 (invalid UTF-8 answered 500 before the signature was checked), finding 8
(a 1 MB CallSid was stored) and finding 9 (an unknown CallSid logged two tracebacks).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestServer
from conftest import AUTH_TOKEN, PUBLIC_URL, AppFactory, app_of
from test_call_webhooks import EVERY_NODE_MENU, OPEN_HOURS, Clock, make_call, verbs
from twilio.request_validator import RequestValidator

from config.limits import TWILIO_SID_CHARS, WEBHOOK_BODY_BYTES
from history.db import create_engine
from web.keys import SETTINGS

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SHORT: int = 200
"""A refusal says what is wrong in a line, never a page or a trace."""


@pytest.fixture
async def server(start_app: AppFactory) -> TestServer:
    return await start_app(menu=EVERY_NODE_MENU, clock=Clock(OPEN_HOURS), callbacks_enabled=False)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def signed(path: str, params: dict[str, str]) -> dict[str, str]:
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + path, params)
    return {**FORM, "X-Twilio-Signature": signature}


async def rows(server: TestServer) -> dict[str, int]:
    engine = create_engine(app_of(server)[SETTINGS].database_url)
    try:
        async with engine.connect() as conn:
            return {
                table: (await conn.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one()
                for table in ("calls", "interactions", "interaction_events", "customers")
            }
    finally:
        await engine.dispose()


NOTHING = {"calls": 0, "interactions": 0, "interaction_events": 0, "customers": 0}


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.mark.parametrize("raw", [b"CallSid=CA\xff", b"CallSid=CA%FF&From=%2B8210"])
async def test_an_unsigned_body_that_is_not_utf8_is_a_400_and_writes_nothing(
    server: TestServer,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    raw: bytes,
) -> None:
    async with http.post(server.make_url("/twilio/voice"), data=raw, headers=FORM) as response:
        assert response.status == 400
        text = await response.text()
    assert "UTF-8" in text and len(text) < SHORT and "Traceback" not in text
    assert tracebacks(caplog) == []
    assert await rows(server) == NOTHING


async def test_a_webhook_body_over_the_bound_is_a_413_declared_or_chunked(
    server: TestServer, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    body = b"CallSid=CA1&Junk=" + b"x" * WEBHOOK_BODY_BYTES
    url = server.make_url("/twilio/voice")
    async with http.post(url, data=body, headers=FORM) as response:
        assert response.status == 413
        assert len(await response.text()) < SHORT

    async def chunks() -> AsyncIterator[bytes]:
        yield b"CallSid=CA1&Junk="
        for _ in range(WEBHOOK_BODY_BYTES // 1024 + 1):
            yield b"x" * 1024

    async with http.post(url, data=chunks(), headers=FORM) as response:
        assert response.status == 413
    assert tracebacks(caplog) == []
    assert await rows(server) == NOTHING


async def test_a_signed_webhook_with_an_oversized_callsid_is_refused_naming_it(
    server: TestServer, http: aiohttp.ClientSession
) -> None:
    params = {
        "CallSid": "CA" + "0" * (TWILIO_SID_CHARS - 1),
        "From": "+821012345678",
        "To": "+8215881234",
    }
    async with http.post(
        server.make_url("/twilio/voice"),
        data=urlencode(params),
        headers=signed("/twilio/voice", params),
    ) as response:
        assert response.status == 400
        assert f"CallSid holds at most {TWILIO_SID_CHARS} characters" in await response.text()
    assert await rows(server) == NOTHING


async def test_a_real_call_s_webhooks_still_pass_the_bounds(
    server: TestServer, http: aiohttp.ClientSession
) -> None:
    call = await make_call(server, http)
    first = await call.twiml("/twilio/voice", {"CallToken": "t" * 2000}, status="ringing")
    assert "Gather" in verbs(first)
    assert (await rows(server))["calls"] == 1


async def test_a_webhook_for_an_unknown_call_is_one_warning_line_without_a_traceback(
    server: TestServer, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    call = await make_call(server, http)
    with caplog.at_level(logging.INFO):
        answer = await call.twiml("/twilio/gather?turn=3", {"Digits": "1"})
    assert verbs(answer)  # still TwiML the caller hears
    noted = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(noted) == 1, [r.getMessage() for r in noted]
    assert noted[0].levelno == logging.WARNING and noted[0].exc_info is None
    assert call.call_sid in noted[0].getMessage()
