"""The media-stream session: barge-in, DTMF on the stream, capacity fallback, refused streams.

These behaviours do not depend on the database, so they run on embedded SQLite only; the path
of a spoken call on both databases is covered by test_speech_calls.py.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, AppFactory, app_of
from test_call_webhooks import OPEN_HOURS, Clock
from test_speech_calls import ANSWER_AFTER_MS, call, events_of, nodes
from twilio.request_validator import RequestValidator

from speech.endpointing import Endpointer
from speech.listening import SpeechEngine
from telephony import media_stream as ms
from telephony.simulator import DtmfSent, Gathered, PlaybackCleared, StreamOpened
from web.keys import ADMISSION, STORE

ONSET_FRAMES = math.ceil(Endpointer().onset_ms / Endpointer().frame_ms)
"""Voiced frames the endpointer needs before it calls speech an onset (and barges in)."""


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    yield f"sqlite+aiosqlite:///{tmp_path / 'voicedesk.db'}"


async def test_speaking_over_a_prompt_clears_it_within_a_frame_of_onset(
    start_app: AppFactory, speech_engine: SpeechEngine
) -> None:
    server = await start_app(clock=Clock(OPEN_HOURS), speech=speech_engine)
    transcript = await call(server, [f"say@{ANSWER_AFTER_MS}:상담원 연결", "say:예"])

    (cleared, *_) = transcript.of_type(PlaybackCleared)
    assert cleared.onset_to_clear_frames is not None
    # The endpointer needs ONSET_FRAMES voiced frames to call it speech; the clear must then
    # be on the wire before the caller's next frame.
    assert cleared.onset_to_clear_frames <= ONSET_FRAMES + 1
    events = await events_of(server, transcript)
    barge_ins = [p for kind, p in events if kind == "barge_in"]
    assert barge_ins and barge_ins[0]["via"] == "speech" and barge_ins[0]["node"] == "main"
    assert barge_ins[0]["clear_ms"] < 20
    assert 0 < barge_ins[0]["played_ms"] < 9000
    assert "agents" in nodes(events)


async def test_keys_pressed_on_the_stream_answer_the_menu(
    start_app: AppFactory, speech_engine: SpeechEngine
) -> None:
    server = await start_app(clock=Clock(OPEN_HOURS), speech=speech_engine)
    transcript = await call(server, ["2", "12345678#"])

    assert [d.keys for d in transcript.of_type(DtmfSent)] == ["2", "12345678#"]
    assert not transcript.of_type(Gathered), "the keys went over the stream, not a <Gather>"
    events = await events_of(server, transcript)
    assert nodes(events)[-3:] == ["account", "balance_result", "goodbye"]
    collected = [p for kind, p in events if kind == "value_collected"]
    assert collected and collected[0]["value"] != "12345678", "sensitive value stored masked"


async def test_a_caller_at_capacity_gets_the_keypad_version_of_the_node(
    start_app: AppFactory, speech_engine: SpeechEngine
) -> None:
    server = await start_app(clock=Clock(OPEN_HOURS), speech=speech_engine, speech_max_sessions=1)
    # Another caller holds the process's only speech slot.
    assert app_of(server)[ADMISSION].reserve("CA" + "f" * 32)

    transcript = await call(server, ["0"])

    assert not transcript.of_type(StreamOpened)
    assert transcript.of_type(Gathered)[0].digits == "0"
    events = await events_of(server, transcript)
    fallback = [p for kind, p in events if kind == "speech_capacity_fallback"]
    assert fallback and fallback[0]["node"] == "main"
    assert "agents" in nodes(events)


async def test_silence_on_the_stream_is_no_input_and_the_node_is_asked_again(
    start_app: AppFactory, speech_engine: SpeechEngine
) -> None:
    server = await start_app(clock=Clock(OPEN_HOURS), speech=speech_engine)
    # The welcome and main prompts play out (~17 s), then the 6 s timeout: wait that long.
    transcript = await call(
        server, ["-", f"say@{ANSWER_AFTER_MS}:상담원 연결"], stream_patience_seconds=40
    )

    events = await events_of(server, transcript)
    rejected = [p for kind, p in events if kind == "input_rejected"]
    assert rejected and rejected[0]["reason"] == "no_input"
    assert "agents" in nodes(events)


async def test_a_stream_with_a_forged_token_is_closed_and_asked_again_on_the_keypad(
    start_app: AppFactory, speech_engine: SpeechEngine
) -> None:
    server = await start_app(clock=Clock(OPEN_HOURS), speech=speech_engine)
    call_sid = "CA" + uuid.uuid4().hex
    base = str(server.make_url("")).rstrip("/")
    form = {
        "CallSid": call_sid,
        "AccountSid": ACCOUNT_SID,
        "From": "+821011112222",
        "To": "+8215881234",
        "CallStatus": "ringing",
        "Direction": "inbound",
    }
    async with aiohttp.ClientSession() as http:
        first = await _post(http, base, "/twilio/voice", form)
        assert "<Connect" in first and "/twilio/media" in first
        async with http.ws_connect(f"{base}/twilio/media") as ws:
            await ws.send_str(ms.connected_message())
            await ws.send_str(
                ms.start_message(
                    stream_sid="MZ" + uuid.uuid4().hex,
                    call_sid=call_sid,
                    account_sid=ACCOUNT_SID,
                    custom_parameters={"token": f"{call_sid}.1.9999999999.forged"},
                    sequence=1,
                )
            )
            message = await ws.receive(timeout=10)
            assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        turn = first.split("stream-ended?turn=")[1].split('"')[0]
        again = await _post(http, base, f"/twilio/stream-ended?turn={turn}", form)
    assert "<Gather" in again and "<Connect" not in again
    store = app_of(server)[STORE]
    record = await store.get_call(call_sid)
    assert record is not None
    detail = await store.interaction_detail(record.interaction_id)
    assert detail is not None
    kinds = {e.type: e.payload for e in detail.events}
    # An unauthenticated socket writes nothing to the call's history (the log has the refusal).
    assert "media_stream_refused" not in kinds
    assert kinds["keypad_fallback"]["node"] == "main"


async def _post(http: aiohttp.ClientSession, base: str, path: str, form: dict[str, str]) -> str:
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + path, form)
    async with http.post(base + path, data=form, headers={"X-Twilio-Signature": signature}) as r:
        assert r.status == 200
        return await r.text()
