"""Every signed Twilio webhook, fuzzed: valid TwiML or a short 4xx, never a 5xx or a traceback.

The forms and query strings are signed with twilio's RequestValidator exactly as Twilio signs
them, so each case gets past the signature check and reaches the handler. CallSids are those
of calls live in the app (at the main menu, in a queue, collecting an account number) as well
as random ones. Bodies that are not even UTF-8 cannot be signed: they are sent unsigned
(``test_raw_webhook_bodies_never_answer_5xx``).
"""

from __future__ import annotations

import asyncio
import logging
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from hypothesis import strategies as st
from yarl import URL

from telephony.simulator.rest_api import RestStandIn
from tests.support import twilio_shapes as shapes
from tests.support.fuzzing import LogWatch, LoopBridge, Tally, run_examples
from tests.support.running_app import app_of, database_of, running_app
from tests.support.twilio_signing import (
    Answer,
    call_form,
    local_path,
    new_call_sid,
    post_signed,
    query_string,
    twiml,
)

WEBHOOKS: Final = frozenset(
    {
        "/twilio/voice",
        "/twilio/gather",
        "/twilio/no-input",
        "/twilio/dial",
        "/twilio/queue",
        "/twilio/queue/wait",
        "/twilio/queue/connect",
        "/twilio/agent-ended",
        "/twilio/stream-ended",
        "/twilio/status",
        "/twilio/agents/answer",
        "/twilio/agents/status",
        "/twilio/callbacks/answer",
        "/twilio/callbacks/status",
        "/twilio/sms",
        "/twilio/conversations",
    }
)
"""The webhooks Twilio is configured with (issue 10); the router must serve at least these."""
FIELDS: Final = (
    "AccountSid",
    "CallStatus",
    "From",
    "To",
    "Caller",
    "Called",
    "Digits",
    "SpeechResult",
    "Confidence",
    "SequenceNumber",
    "CallDuration",
    "Duration",
    "Timestamp",
    "DialCallStatus",
    "DialCallDuration",
    "DialCallSid",
    "QueueResult",
    "QueueTime",
    "QueueSid",
    "QueuePosition",
    "CurrentQueueSize",
    "AvgQueueTime",
    "MessageSid",
    "SmsSid",
    "Body",
    "NumMedia",
    "EventType",
    "ConversationSid",
    "Author",
    "ParticipantSid",
    "Source",
)
"""Fields Twilio posts to voice, messaging and Conversations webhooks."""
QUERY_KEYS: Final = ("turn", "agent", "contact", "callback", "attempt", "room", "lang")
"""Query parameters our TwiML puts in its action URLs."""
MAX_QUERY: Final = 7000
"""Characters of a fuzzed query string: a 5,000-digit number fits, and the request line stays
under aiohttp's 8 KB limit (past it aiohttp refuses the request before any handler runs)."""
SHORT_BODY: Final = 1000
"""Bytes: a refusal says what was wrong in a line, never a page or a trace."""
REFUSED_SHARE: Final = 0.2
"""At most this share of cases may be refused as unsigned (403): more means the test signs
wrongly and fuzzes the signature check instead of the handlers."""


@dataclass(frozen=True)
class WebhookCase:
    """One fuzzed webhook request."""

    path: str
    form: dict[str, str]
    query: dict[str, str]

    @property
    def path_qs(self) -> str:
        return self.path + query_string(self.query)


def webhook_cases(paths: list[str], live: list[str]) -> st.SearchStrategy[WebhookCase]:
    """Webhook requests: a route, a CallSid (live or random), fuzzed fields and query."""
    call_sid = st.one_of(st.sampled_from(live), shapes.sids(), shapes.values())
    fields = st.dictionaries(st.sampled_from(FIELDS), shapes.values(), max_size=8)
    extra = st.dictionaries(shapes.any_text(1, 20), shapes.values(), max_size=2)
    query = st.dictionaries(
        st.one_of(st.sampled_from(QUERY_KEYS), shapes.any_text(1, 10)),
        st.one_of(shapes.numbers(), shapes.values()),
        max_size=4,
    ).filter(lambda q: len(query_string(q)) <= MAX_QUERY)

    @st.composite
    def case(draw: st.DrawFn) -> WebhookCase:
        form = call_form(draw(call_sid)) | draw(fields) | draw(extra)
        if draw(st.booleans()):
            form.pop("CallSid")
        huge = draw(shapes.sometimes_huge())
        if huge is not None:
            form[draw(st.sampled_from(FIELDS))] = huge
        return WebhookCase(draw(st.sampled_from(paths)), form, draw(query))

    return case()


def check_answer(case: WebhookCase, answer: Answer) -> None:
    """Valid TwiML (or an empty 2xx), or a short 4xx; never a 5xx."""
    assert answer.status < 500, (case, answer.status, answer.body[:500])
    if answer.status >= 400:
        assert len(answer.body) <= SHORT_BODY, (case, answer.status, len(answer.body))
    elif answer.body:
        root = ET.fromstring(answer.body)
        assert root.tag == "Response", (case, answer.body[:300])


def webhook_paths(server: TestServer) -> list[str]:
    """Every POST route under ``/twilio/`` the app serves."""
    paths = {
        route.resource.canonical
        for route in app_of(server).router.routes()
        if route.method == "POST" and route.resource is not None
    }
    return sorted(p for p in paths if p.startswith("/twilio/"))


async def live_calls(http: aiohttp.ClientSession, base: str) -> list[str]:
    """Calls left at different places of the shipped menu: main menu, queue, account number."""
    live = []
    for keys in ((), ("0",), ("2",), ("3",), ("0", "1"), ("9",)):
        call_sid = new_call_sid()
        document = twiml(await post_signed(http, base, "/twilio/voice", call_form(call_sid)))
        for key in keys:
            action = _next_action(document)
            if action is None:
                break
            answer = await post_signed(http, base, action, call_form(call_sid, Digits=key))
            document = twiml(answer)
        live.append(call_sid)
    return live


def _next_action(document: ET.Element) -> str | None:
    for element in document.iter():
        action = element.get("action") if element.tag == "Gather" else None
        if element.tag == "Redirect" and element.text:
            action = element.text
        if element.tag == "Enqueue" and element.get("waitUrl"):
            action = element.get("waitUrl")
        if action:
            return local_path(action)
    return None


@pytest.fixture
async def server(
    database_url: str, prompt_cache: Path, twilio: RestStandIn
) -> AsyncIterator[TestServer]:
    async with running_app(database_url, prompt_cache, twilio_api_base=twilio.url) as app:
        twilio.deliver_to(str(app.make_url("")).rstrip("/"))
        yield app


async def test_signed_webhooks_answer_twiml_or_a_short_4xx(
    server: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    base = str(server.make_url("")).rstrip("/")
    paths = webhook_paths(server)
    assert set(paths) >= WEBHOOKS, WEBHOOKS - set(paths)
    tally = Tally("webhooks", database_of(server))
    async with aiohttp.ClientSession() as http:
        live = await live_calls(http, base)
        bridge, logs = LoopBridge(asyncio.get_running_loop()), LogWatch(caplog.records)

        def examples(case: WebhookCase) -> None:
            answer = bridge(post_signed(http, base, case.path_qs, case.form))
            tally.count(answer.status)
            check_answer(case, answer)
            logs.check(case)

        await run_examples(examples, case=lambda: webhook_cases(paths, live))
    tally.report()
    refused = tally.answers["403"] / max(1, sum(tally.answers.values()))
    assert refused <= REFUSED_SHARE, tally.answers


RAW_BODIES: Final = (
    b"CallSid=CA\xff",
    b"CallSid=CA%FF%FE",
    b"CallSid=%C2",
    b"\xff\xfe\x00\x00",
    b"CallSid=CA1&CallSid=CA2",
    b"=&=&&==",
    b"%",
)
CONTENT_TYPES: Final = (
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=latin-1",
    "multipart/form-data; boundary=x",
    "text/plain",
    "",
)


async def test_raw_webhook_bodies_never_answer_5xx(
    server: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    base = str(server.make_url("")).rstrip("/")
    paths = webhook_paths(server)
    tally = Tally("raw webhook bodies", database_of(server))
    async with aiohttp.ClientSession() as http:
        bridge, logs = LoopBridge(asyncio.get_running_loop()), LogWatch(caplog.records)

        async def post(path: str, body: bytes, content_type: str, signature: str) -> Answer:
            headers = {"X-Twilio-Signature": signature}
            if content_type:
                headers["Content-Type"] = content_type
            url = URL(base + path, encoded=True)
            async with http.post(url, data=body, headers=headers) as response:
                return Answer(response.status, response.content_type, await response.read())

        def examples(path: str, body: bytes, content_type: str, signature: str) -> None:
            answer = bridge(post(path, body, content_type, signature.encode().hex()))
            tally.count(answer.status)
            case = (path, body[:100], content_type)
            assert answer.status < 500, (case, answer.status, answer.body[:300])
            assert answer.status >= 400 and len(answer.body) <= SHORT_BODY, (case, answer)
            logs.check(case)

        await run_examples(
            examples,
            path=lambda: st.sampled_from(paths),
            body=lambda: st.one_of(st.sampled_from(RAW_BODIES), st.binary(max_size=300)),
            content_type=lambda: st.sampled_from(CONTENT_TYPES),
            signature=lambda: st.one_of(st.just(""), shapes.any_text(1, 30)),
        )
    tally.report()
