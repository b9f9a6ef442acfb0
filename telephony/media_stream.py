"""Twilio Media Streams: the JSON messages of a bidirectional ``<Connect><Stream>`` websocket.

Shapes exactly as in Twilio's "Media Streams - WebSocket Messages" reference. Twilio sends
``connected``, ``start``, ``media``, ``dtmf``, ``mark`` and ``stop``; the server sends
``media``, ``mark`` and ``clear``. Audio is 8 kHz mono G.711 μ-law, base64 in ``payload``.
The counters Twilio sends (``sequenceNumber``, ``chunk``, ``timestamp``) are decimal strings;
the ``mediaFormat`` numbers are JSON numbers.

Both directions are here: the server reads what Twilio sends (``parse_inbound``) and writes
with ``media``/``mark``/``clear``; the offline simulator plays Twilio's part with the
``*_message`` builders and ``parse_outbound``. A parser returns None for anything it cannot use
(malformed JSON, unknown events, bad base64, missing or mistyped fields) and never raises.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from config.limits import TWILIO_SID_CHARS
from telephony.fields import whole_number

FRAME_MS: Final = 20
"""Milliseconds of audio in each ``media`` message Twilio sends."""
SAMPLE_RATE: Final = 8000
"""Hz: Media Streams carry 8 kHz audio only."""
FRAME_BYTES: Final = 160
"""μ-law bytes (one per sample) in ``FRAME_MS`` at ``SAMPLE_RATE``."""

PROTOCOL: Final = "Call"
PROTOCOL_VERSION: Final = "1.0.0"
ENCODING: Final = "audio/x-mulaw"
INBOUND_TRACK: Final = "inbound"
DTMF_TRACK: Final = "inbound_track"
"""Twilio names the caller's track ``inbound`` in ``media`` but ``inbound_track`` in ``dtmf``."""
DTMF_DIGITS: Final = frozenset("0123456789*#")

_Json = dict[str, Any]


class _Malformed(Exception):
    """Raised inside this module only, for a message a parser drops."""


# --- Twilio → server ----------------------------------------------------------------------


@dataclass(frozen=True)
class Connected:
    """The first message: which protocol the stream speaks."""

    protocol: str
    version: str


@dataclass(frozen=True)
class Start:
    """The stream's metadata, sent once after ``connected``.

    Attributes:
        stream_sid: The ``MZ…`` SID every later message carries.
        call_sid: The call streamed.
        account_sid: The account the call belongs to.
        tracks: The tracks streamed (``inbound`` for ``<Connect><Stream>``).
        custom_parameters: The ``<Parameter>`` name/value pairs of the TwiML.
        encoding: Always ``audio/x-mulaw``.
        sample_rate: Always 8000.
        channels: Always 1.

    """

    stream_sid: str
    call_sid: str
    account_sid: str
    tracks: tuple[str, ...]
    custom_parameters: Mapping[str, str] = field(default_factory=dict)
    encoding: str = ENCODING
    sample_rate: int = SAMPLE_RATE
    channels: int = 1


@dataclass(frozen=True)
class Media:
    """Caller audio: decoded μ-law bytes, normally one 20 ms frame.

    Attributes:
        stream_sid: The stream.
        payload: The μ-law bytes (base64-decoded).
        track: ``inbound``.
        chunk: Twilio's frame counter, from 1.
        timestamp_ms: Milliseconds since the stream started.

    """

    stream_sid: str
    payload: bytes
    track: str = INBOUND_TRACK
    chunk: int | None = None
    timestamp_ms: int | None = None


@dataclass(frozen=True)
class Dtmf:
    """The caller pressed a key."""

    stream_sid: str
    digit: str


@dataclass(frozen=True)
class Mark:
    """A mark the server sent came back: the audio sent before it has played (or was cleared)."""

    stream_sid: str
    name: str


@dataclass(frozen=True)
class Stop:
    """The stream ended because the call did (the caller hung up)."""

    stream_sid: str
    call_sid: str


InboundMessage = Connected | Start | Media | Dtmf | Mark | Stop


def parse_inbound(text: str | bytes) -> InboundMessage | None:
    """Read one message Twilio sent on the stream.

    Args:
        text: The websocket message.

    Returns:
        The message, or None when it is not a well-formed message of a known event.

    """
    try:
        message = _json_object(text)
        match message.get("event"):
            case "connected":
                return Connected(_text(message, "protocol"), _text(message, "version"))
            case "start":
                return _start(message)
            case "media":
                return _media(message)
            case "dtmf":
                return Dtmf(_stream_sid(message), _digit(_object(message, "dtmf")))
            case "mark":
                return Mark(_stream_sid(message), _text(_object(message, "mark"), "name"))
            case "stop":
                return Stop(_stream_sid(message), _sid(_object(message, "stop"), "callSid"))
    except _Malformed:
        return None
    return None


def _start(message: _Json) -> Start:
    start = _object(message, "start")
    stream_sid = _sid(start, "streamSid")
    # The SID is both in ``start`` and at the top; a message where they disagree is not trusted.
    if message.get("streamSid", stream_sid) != stream_sid:
        raise _Malformed
    media_format = _object(start, "mediaFormat")
    return Start(
        stream_sid=stream_sid,
        call_sid=_sid(start, "callSid"),
        account_sid=_sid(start, "accountSid"),
        tracks=_strings(start.get("tracks")),
        custom_parameters=_string_map(start.get("customParameters", {})),
        encoding=_text(media_format, "encoding"),
        sample_rate=_integer(media_format, "sampleRate"),
        channels=_integer(media_format, "channels"),
    )


def _media(message: _Json) -> Media:
    body = _object(message, "media")
    return Media(
        stream_sid=_stream_sid(message),
        payload=_payload(body),
        track=_text(body, "track") if "track" in body else INBOUND_TRACK,
        chunk=_decimal(body, "chunk"),
        timestamp_ms=_decimal(body, "timestamp"),
    )


def _digit(dtmf: _Json) -> str:
    digit = _text(dtmf, "digit")
    if len(digit) != 1 or digit not in DTMF_DIGITS:
        raise _Malformed
    return digit


# --- server → Twilio ----------------------------------------------------------------------


def media(stream_sid: str, payload: bytes) -> str:
    """Audio for Twilio to play to the caller, queued behind what was sent before.

    Args:
        stream_sid: The stream, from ``Start``.
        payload: 8 kHz μ-law bytes, any length.

    Returns:
        The JSON text to send.

    """
    return _dump({"event": "media", "streamSid": stream_sid, "media": {"payload": _b64(payload)}})


def mark(stream_sid: str, name: str) -> str:
    """Ask Twilio to send ``name`` back once the audio sent before it has played."""
    return _dump({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear(stream_sid: str) -> str:
    """Ask Twilio to drop the audio not played yet; pending marks come back at once."""
    return _dump({"event": "clear", "streamSid": stream_sid})


# --- Twilio's side, for the simulator -----------------------------------------------------


@dataclass(frozen=True)
class OutboundMedia:
    """Audio the server sent for the caller to hear (decoded μ-law bytes)."""

    stream_sid: str
    payload: bytes


@dataclass(frozen=True)
class OutboundMark:
    """A mark the server placed behind the audio it sent."""

    stream_sid: str
    name: str


@dataclass(frozen=True)
class Clear:
    """The server asked to drop the audio not played yet."""

    stream_sid: str


OutboundMessage = OutboundMedia | OutboundMark | Clear


def parse_outbound(text: str | bytes) -> OutboundMessage | None:
    """Read one message the server sent on the stream, as Twilio does.

    Args:
        text: The websocket message.

    Returns:
        The message, or None when it is not a well-formed ``media``, ``mark`` or ``clear``.

    """
    try:
        message = _json_object(text)
        match message.get("event"):
            case "media":
                return OutboundMedia(_stream_sid(message), _payload(_object(message, "media")))
            case "mark":
                name = _text(_object(message, "mark"), "name")
                return OutboundMark(_stream_sid(message), name)
            case "clear":
                return Clear(_stream_sid(message))
    except _Malformed:
        return None
    return None


def connected_message() -> str:
    """The ``connected`` message Twilio sends first."""
    return _dump({"event": "connected", "protocol": PROTOCOL, "version": PROTOCOL_VERSION})


def start_message(
    *,
    stream_sid: str,
    call_sid: str,
    account_sid: str,
    custom_parameters: Mapping[str, str],
    sequence: int,
) -> str:
    """The ``start`` message of a ``<Connect><Stream>``: the inbound track, 8 kHz μ-law."""
    return _dump(
        {
            "event": "start",
            "sequenceNumber": str(sequence),
            "start": {
                "accountSid": account_sid,
                "streamSid": stream_sid,
                "callSid": call_sid,
                "tracks": [INBOUND_TRACK],
                "customParameters": dict(custom_parameters),
                "mediaFormat": {"encoding": ENCODING, "sampleRate": SAMPLE_RATE, "channels": 1},
            },
            "streamSid": stream_sid,
        }
    )


def media_message(
    *, stream_sid: str, payload: bytes, chunk: int, timestamp_ms: int, sequence: int
) -> str:
    """One frame of caller audio."""
    return _dump(
        {
            "event": "media",
            "sequenceNumber": str(sequence),
            "media": {
                "track": INBOUND_TRACK,
                "chunk": str(chunk),
                "timestamp": str(timestamp_ms),
                "payload": _b64(payload),
            },
            "streamSid": stream_sid,
        }
    )


def dtmf_message(*, stream_sid: str, digit: str, sequence: int) -> str:
    """A key the caller pressed."""
    return _dump(
        {
            "event": "dtmf",
            "streamSid": stream_sid,
            "sequenceNumber": str(sequence),
            "dtmf": {"track": DTMF_TRACK, "digit": digit},
        }
    )


def mark_message(*, stream_sid: str, name: str, sequence: int) -> str:
    """A mark coming back to the server."""
    return _dump(
        {
            "event": "mark",
            "sequenceNumber": str(sequence),
            "streamSid": stream_sid,
            "mark": {"name": name},
        }
    )


def stop_message(*, stream_sid: str, call_sid: str, account_sid: str, sequence: int) -> str:
    """The last message of a stream whose call ended."""
    return _dump(
        {
            "event": "stop",
            "sequenceNumber": str(sequence),
            "streamSid": stream_sid,
            "stop": {"accountSid": account_sid, "callSid": call_sid},
        }
    )


# --- reading JSON defensively -----------------------------------------------------------------


def _json_object(text: str | bytes) -> _Json:
    try:
        message = json.loads(text)
    # JSONDecodeError and UnicodeDecodeError are ValueErrors; absurd nesting exhausts recursion.
    except (ValueError, TypeError, RecursionError) as err:
        raise _Malformed from err
    if not isinstance(message, dict):
        raise _Malformed
    return message


def _object(message: _Json, key: str) -> _Json:
    value = message.get(key)
    if not isinstance(value, dict):
        raise _Malformed
    return value


def _text(message: _Json, key: str) -> str:
    """A required, non-empty string field (without NUL: PostgreSQL could not store it)."""
    value = message.get(key)
    if not isinstance(value, str) or not value or "\x00" in value:
        raise _Malformed
    return value


def _stream_sid(message: _Json) -> str:
    return _sid(message, "streamSid")


def _sid(message: _Json, key: str) -> str:
    """A required Twilio SID, bounded: SIDs are stored with the call's events."""
    value = _text(message, key)
    if len(value) > TWILIO_SID_CHARS:
        raise _Malformed
    return value


def _integer(message: _Json, key: str) -> int:
    value = message.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Malformed
    return value


def _decimal(message: _Json, key: str) -> int | None:
    """An optional counter sent as a decimal string (``"42"``)."""
    if key not in message:
        return None
    value = message[key]
    number = whole_number(value) if isinstance(value, str) else None
    if number is None:
        raise _Malformed
    return number


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _Malformed
    return tuple(value)


def _string_map(value: object) -> Mapping[str, str]:
    if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
        raise _Malformed
    return MappingProxyType(dict(value))


def _payload(body: _Json) -> bytes:
    """The base64 ``payload``, decoded; empty audio is no audio."""
    value = body.get("payload")
    if not isinstance(value, str):
        raise _Malformed
    try:
        payload = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as err:
        raise _Malformed from err
    if not payload:
        raise _Malformed
    return payload


def _b64(payload: bytes) -> str:
    return base64.b64encode(payload).decode("ascii")


def _dump(message: _Json) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))
