"""Media Streams messages: recorded Twilio payloads, round trips, and every malformed case."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from telephony import media_stream as ms

FIXTURES = Path(__file__).parents[2] / "fixtures" / "twilio"
STREAM = "MZ18ad3ab5a668481ce02b83e7395059f0"
CALL = "CA0123456789abcdef0123456789abcdef"
ACCOUNT = "AC11111111111111111111111111111111"
FRAME = bytes(range(96, 256))


def recorded(name: str) -> dict[str, Any]:
    data = json.loads((FIXTURES / f"stream_{name}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def text(message: dict[str, Any]) -> str:
    return json.dumps(message)


# --- recorded payloads ------------------------------------------------------------------------


def test_connected_names_the_protocol() -> None:
    assert ms.parse_inbound(text(recorded("connected"))) == ms.Connected("Call", "1.0.0")


def test_start_carries_the_call_the_format_and_the_custom_parameters() -> None:
    start = ms.parse_inbound(text(recorded("start")))
    assert start == ms.Start(
        stream_sid=STREAM,
        call_sid=CALL,
        account_sid=ACCOUNT,
        tracks=("inbound",),
        custom_parameters={"token": "v1.3.9f2c41d07be8a65e"},
        encoding="audio/x-mulaw",
        sample_rate=8000,
        channels=1,
    )


def test_media_is_one_decoded_frame_with_its_counters() -> None:
    media = ms.parse_inbound(text(recorded("media")))
    assert isinstance(media, ms.Media)
    assert (media.stream_sid, media.track, media.chunk, media.timestamp_ms) == (
        STREAM,
        "inbound",
        37,
        740,
    )
    assert len(media.payload) == ms.FRAME_BYTES


def test_dtmf_is_the_key_pressed() -> None:
    assert ms.parse_inbound(text(recorded("dtmf"))) == ms.Dtmf(STREAM, "1")


def test_mark_comes_back_with_its_name() -> None:
    assert ms.parse_inbound(text(recorded("mark"))) == ms.Mark(STREAM, "prompt-3")


def test_stop_names_the_call() -> None:
    assert ms.parse_inbound(text(recorded("stop"))) == ms.Stop(STREAM, CALL)


def test_a_message_may_arrive_as_utf8_bytes() -> None:
    assert ms.parse_inbound(text(recorded("dtmf")).encode()) == ms.Dtmf(STREAM, "1")


def test_frame_is_20_ms_of_8_khz_mulaw() -> None:
    assert ms.FRAME_BYTES == ms.SAMPLE_RATE * ms.FRAME_MS // 1000 == 160


# --- Twilio's side, as the simulator writes it ------------------------------------------------


def test_builders_write_the_shapes_of_the_recorded_payloads() -> None:
    start = ms.start_message(
        stream_sid=STREAM,
        call_sid=CALL,
        account_sid=ACCOUNT,
        custom_parameters={"token": "v1.3.9f2c41d07be8a65e"},
        sequence=1,
    )
    media = recorded("media")
    frame = base64.b64decode(media["media"]["payload"])
    built = {
        "connected": ms.connected_message(),
        "start": start,
        "media": ms.media_message(
            stream_sid=STREAM, payload=frame, chunk=37, timestamp_ms=740, sequence=38
        ),
        "dtmf": ms.dtmf_message(stream_sid=STREAM, digit="1", sequence=52),
        "mark": ms.mark_message(stream_sid=STREAM, name="prompt-3", sequence=61),
        "stop": ms.stop_message(stream_sid=STREAM, call_sid=CALL, account_sid=ACCOUNT, sequence=95),
    }
    for name, message in built.items():
        assert json.loads(message) == recorded(name), name


def test_counters_are_decimal_strings_as_twilio_sends_them() -> None:
    message = json.loads(
        ms.media_message(stream_sid=STREAM, payload=FRAME, chunk=1, timestamp_ms=0, sequence=3)
    )
    assert message["sequenceNumber"] == "3"
    assert (message["media"]["chunk"], message["media"]["timestamp"]) == ("1", "0")


def test_inbound_round_trip() -> None:
    start = ms.start_message(
        stream_sid=STREAM,
        call_sid=CALL,
        account_sid=ACCOUNT,
        custom_parameters={"token": "t", "lang": "한국어"},
        sequence=1,
    )
    parsed = ms.parse_inbound(start)
    assert isinstance(parsed, ms.Start)
    assert dict(parsed.custom_parameters) == {"token": "t", "lang": "한국어"}
    media = ms.media_message(
        stream_sid=STREAM, payload=FRAME, chunk=9, timestamp_ms=160, sequence=10
    )
    assert ms.parse_inbound(media) == ms.Media(STREAM, FRAME, "inbound", 9, 160)
    for digit in "0123456789*#":
        dtmf = ms.dtmf_message(stream_sid=STREAM, digit=digit, sequence=4)
        assert ms.parse_inbound(dtmf) == ms.Dtmf(STREAM, digit)


# --- the server's side ------------------------------------------------------------------------


def test_server_messages_have_twilios_documented_shapes() -> None:
    payload = base64.b64encode(FRAME).decode()
    assert json.loads(ms.media(STREAM, FRAME)) == {
        "event": "media",
        "streamSid": STREAM,
        "media": {"payload": payload},
    }
    assert json.loads(ms.mark(STREAM, "prompt-3")) == {
        "event": "mark",
        "streamSid": STREAM,
        "mark": {"name": "prompt-3"},
    }
    assert json.loads(ms.clear(STREAM)) == {"event": "clear", "streamSid": STREAM}


def test_outbound_round_trip() -> None:
    assert ms.parse_outbound(ms.media(STREAM, FRAME)) == ms.OutboundMedia(STREAM, FRAME)
    assert ms.parse_outbound(ms.mark(STREAM, "p1")) == ms.OutboundMark(STREAM, "p1")
    assert ms.parse_outbound(ms.clear(STREAM).encode()) == ms.Clear(STREAM)


# --- what a parser drops ----------------------------------------------------------------------


def _edit(name: str, path: tuple[str, ...], value: object) -> str:
    """A recorded payload with one field replaced (``...`` deletes it)."""
    message = recorded(name)
    target = message
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return text(message)


MALFORMED_INBOUND = {
    "not JSON": "{event: media}",
    "truncated JSON": text(recorded("media"))[:-2],
    "a JSON array": '["media"]',
    "a JSON string": '"media"',
    "invalid UTF-8": b'{"event": "\xff"}',
    "absurd nesting": "[" * 100_000 + "]" * 100_000,
    "no event": _edit("mark", ("event",), ...),
    "unknown event": _edit("mark", ("event",), "marker"),
    "event not a string": _edit("mark", ("event",), 3),
    "server-only event": text({"event": "clear", "streamSid": STREAM}),
    "connected without version": _edit("connected", ("version",), ...),
    "start without callSid": _edit("start", ("start", "callSid"), ...),
    "start without accountSid": _edit("start", ("start", "accountSid"), ...),
    "start without streamSid": _edit("start", ("start", "streamSid"), ...),
    "start with two streamSids": _edit("start", ("streamSid",), "MZother"),
    "start body not an object": _edit("start", ("start",), "start"),
    "start tracks not a list": _edit("start", ("start", "tracks"), "inbound"),
    "start parameter not text": _edit("start", ("start", "customParameters", "token"), 7),
    "start sampleRate as text": _edit("start", ("start", "mediaFormat", "sampleRate"), "8000"),
    "start channels as boolean": _edit("start", ("start", "mediaFormat", "channels"), True),
    "start without mediaFormat": _edit("start", ("start", "mediaFormat"), ...),
    "media without streamSid": _edit("media", ("streamSid",), ...),
    "media with empty streamSid": _edit("media", ("streamSid",), ""),
    "media without payload": _edit("media", ("media", "payload"), ...),
    "media with empty payload": _edit("media", ("media", "payload"), ""),
    "media with bad base64": _edit("media", ("media", "payload"), "not base64!"),
    "media with unpadded base64": _edit("media", ("media", "payload"), "/8S7u8DF"[:-1]),
    "media payload not text": _edit("media", ("media", "payload"), [255, 255]),
    "media chunk as number": _edit("media", ("media", "chunk"), 37),
    "media chunk negative": _edit("media", ("media", "chunk"), "-1"),
    "media timestamp fractional": _edit("media", ("media", "timestamp"), "740.5"),
    "media timestamp in other digits": _edit("media", ("media", "timestamp"), "٧٤٠"),
    # Issue 10, finding 2: int() raised on these instead of the message being dropped.
    "media chunk of 5,000 digits": _edit("media", ("media", "chunk"), "9" * 5000),
    "media timestamp past 32 bits": _edit("media", ("media", "timestamp"), "9" * 20),
    # Found by tests/fuzz: PostgreSQL cannot store NUL, and the stream's ids are recorded.
    "media streamSid with NUL": _edit("media", ("streamSid",), "MZ\x00"),
    "mark name with NUL": _edit("mark", ("mark", "name"), "\x00"),
    "media body missing": _edit("media", ("media",), ...),
    "dtmf of two keys": _edit("dtmf", ("dtmf", "digit"), "12"),
    "dtmf of a letter": _edit("dtmf", ("dtmf", "digit"), "A"),
    "dtmf empty": _edit("dtmf", ("dtmf", "digit"), ""),
    "dtmf digit as number": _edit("dtmf", ("dtmf", "digit"), 1),
    "dtmf without body": _edit("dtmf", ("dtmf",), ...),
    "mark without name": _edit("mark", ("mark", "name"), ...),
    "mark with empty name": _edit("mark", ("mark", "name"), ""),
    "stop without callSid": _edit("stop", ("stop", "callSid"), ...),
    "stop without streamSid": _edit("stop", ("streamSid",), ...),
}


@pytest.mark.parametrize("message", MALFORMED_INBOUND.values(), ids=MALFORMED_INBOUND.keys())
def test_malformed_inbound_message_is_dropped(message: str | bytes) -> None:
    assert ms.parse_inbound(message) is None


MALFORMED_OUTBOUND = {
    "not JSON": "media",
    "no event": text({"streamSid": STREAM, "media": {"payload": "AAAA"}}),
    "Twilio-only event": text(recorded("dtmf")),
    "media without streamSid": text({"event": "media", "media": {"payload": "AAAA"}}),
    "media with bad base64": text(
        {"event": "media", "streamSid": STREAM, "media": {"payload": "%"}}
    ),
    "media without body": text({"event": "media", "streamSid": STREAM}),
    "mark without name": text({"event": "mark", "streamSid": STREAM, "mark": {}}),
    "mark name not text": text({"event": "mark", "streamSid": STREAM, "mark": {"name": 1}}),
    "clear without streamSid": text({"event": "clear"}),
}


@pytest.mark.parametrize("message", MALFORMED_OUTBOUND.values(), ids=MALFORMED_OUTBOUND.keys())
def test_malformed_outbound_message_is_dropped(message: str) -> None:
    assert ms.parse_outbound(message) is None
