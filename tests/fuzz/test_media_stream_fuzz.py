"""Media Streams websocket messages, fuzzed: the socket closes cleanly, nothing logs a trace.

A case opens ``/twilio/media`` and sends a sequence of messages: often first a genuine
``connected`` and ``start`` carrying the signed token of a call just placed (so the stream is
admitted and a speech turn is playing and listening), then Twilio's messages with fuzzed fields
(counters with other scripts' digits or 5,000 digits, bad base64, unknown events, wrong types),
raw text and binary frames. The server may drop any of them, or close the socket with a
1000-range or 4000-range code; it must never log a traceback or stop serving.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from hypothesis import strategies as st

from speech.admission import SpeechAdmission
from speech.listening import SpeechEngine
from telephony import media_stream as ms
from telephony.simulator.rest_api import RestStandIn
from tests.support import twilio_shapes as shapes
from tests.support.fuzzing import LogWatch, LoopBridge, Tally, run_examples
from tests.support.running_app import ACCOUNT_SID, app_of, database_of, running_app
from tests.support.twilio_signing import call_form, new_call_sid, post_signed, twiml
from web.keys import ADMISSION

STREAM_SID: Final = "MZ" + "5" * 32
EVENTS: Final = ("connected", "start", "media", "dtmf", "mark", "stop", "clear", "")
CLEAN_CLOSE: Final = frozenset({1000, 1001, 1009}) | frozenset(range(4000, 5000))
"""Close codes of a socket the server ended on purpose: normal, going away, message too big,
or one of ours; never 1011 (an internal error)."""
SESSION_END_POLLS: Final = 1000
POLL_SECONDS: Final = 0.01
"""A closed stream's session may take 10 s to record its end before the next case starts."""

REMOVED: Final = object()
"""A mutation that deletes the field instead of replacing its value."""
JSON_VALUES: Final = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), shapes.values()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(shapes.any_text(0, 10), inner, max_size=3)
    ),
    max_leaves=5,
)
PAYLOADS: Final = st.one_of(
    st.binary(max_size=400).map(lambda b: base64.b64encode(b).decode()),
    shapes.any_text(),
    st.sampled_from(("", "=", "////", "A" * 70_000)),
)


@dataclass(frozen=True)
class StreamCase:
    """One fuzzed stream: how it starts (``genuine``, ``forged`` token, ``none``), its messages."""

    opening: str
    messages: list[str | bytes]


def twilio_messages() -> st.SearchStrategy[str]:
    """Twilio's message shapes with fuzzed fields, some of them of the wrong type."""
    field = st.one_of(shapes.numbers(), JSON_VALUES)
    body = st.fixed_dictionaries(
        {},
        optional={
            "track": st.sampled_from(("inbound", "inbound_track", "outbound", "")),
            "chunk": field,
            "timestamp": field,
            "payload": PAYLOADS,
            "digit": st.one_of(st.sampled_from(tuple("0123456789*#")), shapes.values()),
            "name": st.one_of(st.just("prompt-1"), shapes.values()),
            "callSid": st.one_of(shapes.sids(), JSON_VALUES),
        },
    )
    message = st.fixed_dictionaries(
        {"event": st.one_of(st.sampled_from(EVENTS), shapes.any_text())},
        optional={
            "streamSid": st.one_of(st.just(STREAM_SID), shapes.sids("MZ"), JSON_VALUES),
            "sequenceNumber": field,
            "media": st.one_of(body, JSON_VALUES),
            "dtmf": st.one_of(body, JSON_VALUES),
            "mark": st.one_of(body, JSON_VALUES),
            "stop": st.one_of(body, JSON_VALUES),
            "start": st.one_of(body, JSON_VALUES),
        },
    )
    return message.map(json.dumps)


def genuine_messages() -> st.SearchStrategy[str]:
    """Messages as Twilio writes them, with Twilio-shaped values."""
    counter = st.integers(min_value=0, max_value=2**31)
    return st.one_of(
        st.builds(
            lambda payload, chunk, sequence: ms.media_message(
                stream_sid=STREAM_SID,
                payload=payload,
                chunk=chunk,
                timestamp_ms=chunk * ms.FRAME_MS,
                sequence=sequence,
            ),
            st.binary(min_size=ms.FRAME_BYTES, max_size=ms.FRAME_BYTES),
            counter,
            counter,
        ),
        st.builds(
            lambda digit: ms.dtmf_message(stream_sid=STREAM_SID, digit=digit, sequence=3),
            st.sampled_from(tuple("0123456789*#")),
        ),
        st.builds(
            lambda name: ms.mark_message(stream_sid=STREAM_SID, name=name, sequence=4),
            shapes.any_text(1, 20),
        ),
    )


def mutated_messages() -> st.SearchStrategy[str]:
    """A genuine message with one field replaced by a fuzzed value, or removed."""

    @st.composite
    def mutated(draw: st.DrawFn) -> str:
        message = json.loads(draw(genuine_messages()))
        paths = list(_leaves(message))
        *parents, key = draw(st.sampled_from(paths))
        node = message
        for parent in parents:
            node = node[parent]
        value = draw(st.one_of(shapes.numbers(), JSON_VALUES, st.just(REMOVED)))
        if value is REMOVED:
            del node[key]
        else:
            node[key] = value
        return json.dumps(message)

    return mutated()


def _leaves(message: dict[str, Any], at: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for key, value in message.items():
        if isinstance(value, dict):
            found.extend(_leaves(value, (*at, key)))
        found.append((*at, key))
    return found


def stream_cases() -> st.SearchStrategy[StreamCase]:
    """A stream admitted or not, then up to eight messages of every kind."""
    one = st.one_of(
        genuine_messages(),
        mutated_messages(),
        twilio_messages(),
        shapes.any_text(max_size=100),
        st.binary(max_size=200),
        st.sampled_from(("{", "[" * 5000 + "]" * 5000, "null", "1e999", "x" * 70_000)),
    )
    stop = ms.stop_message(
        stream_sid=STREAM_SID, call_sid="CA" + "0" * 32, account_sid=ACCOUNT_SID, sequence=99
    )
    messages = st.lists(one, max_size=8).flatmap(
        lambda found: st.sampled_from((found, [*found, stop]))
    )
    return st.builds(StreamCase, st.sampled_from(("genuine", "forged", "none")), messages)


def stream_token(document: ET.Element) -> str | None:
    """The token of the ``<Stream>`` the TwiML connects, if it connects one."""
    for parameter in document.iter("Parameter"):
        if parameter.get("name") == "token":
            return parameter.get("value")
    return None


@pytest.fixture
async def server(
    database_url: str, prompt_cache: Path, twilio: RestStandIn, speech_engine: SpeechEngine
) -> AsyncIterator[TestServer]:
    async with running_app(
        database_url, prompt_cache, speech=speech_engine, twilio_api_base=twilio.url
    ) as app:
        yield app


async def test_media_stream_messages_never_crash_the_socket(
    server: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    base = str(server.make_url("")).rstrip("/")
    tally = Tally("media stream", database_of(server))
    admission = app_of(server)[ADMISSION]
    async with aiohttp.ClientSession() as http:
        bridge, logs = LoopBridge(asyncio.get_running_loop()), LogWatch(caplog.records)

        async def start(opening: str) -> list[str | bytes]:
            call_sid, token = new_call_sid(), "forged"
            if opening == "none":
                return []
            if opening == "genuine":
                answer = await post_signed(http, base, "/twilio/voice", call_form(call_sid))
                token = stream_token(twiml(answer)) or "no stream offered"
            custom = {"token": token}
            return [
                ms.connected_message(),
                ms.start_message(
                    stream_sid=STREAM_SID,
                    call_sid=call_sid,
                    account_sid=ACCOUNT_SID,
                    custom_parameters=custom,
                    sequence=1,
                ),
            ]

        async def stream(case: StreamCase) -> Any:
            prefix = await start(case.opening)
            async with http.ws_connect(f"{base}/twilio/media") as ws:
                try:
                    for message in [*prefix, *case.messages]:
                        if isinstance(message, bytes):
                            await ws.send_bytes(message)
                        else:
                            await ws.send_str(message)
                except ConnectionError:
                    pass  # the server closed the socket first: its close code tells why
                await ws.close()
                code = ws.close_code
            await _sessions_ended(admission)
            return code

        def examples(case: StreamCase) -> None:
            code = bridge(stream(case))
            tally.count(code)
            assert code in CLEAN_CLOSE, (case, code)
            logs.check(case)

        await run_examples(examples, case=stream_cases)
    tally.report()


async def _sessions_ended(admission: SpeechAdmission) -> None:
    """Wait until no stream session is open (so its log lines belong to its own case)."""
    for _ in range(SESSION_END_POLLS):
        if not admission.snapshot().sessions:
            return
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError("a media session outlived its socket")
