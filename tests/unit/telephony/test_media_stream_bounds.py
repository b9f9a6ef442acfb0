"""Media Streams SIDs are bounded: they are stored with the call's events (issue 10, finding 8).

The media socket is open to anyone until its ``start`` message is admitted, and a refused start
is recorded with its ``streamSid``: an unbounded one would be stored as sent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from config.limits import TWILIO_SID_CHARS
from telephony import media_stream as ms

FIXTURES = Path(__file__).parents[2] / "fixtures" / "twilio"


def start() -> dict[str, Any]:
    message: dict[str, Any] = json.loads((FIXTURES / "stream_start.json").read_text("utf-8"))
    return message


def test_twilio_s_start_message_is_read() -> None:
    parsed = ms.parse_inbound(json.dumps(start()))
    assert isinstance(parsed, ms.Start)
    assert len(parsed.stream_sid) == len(parsed.call_sid) == 34


@pytest.mark.parametrize("key", ["streamSid", "callSid", "accountSid"])
def test_a_start_with_a_sid_over_the_bound_is_malformed(key: str) -> None:
    message = start()
    message["start"][key] = "MZ" + "0" * (TWILIO_SID_CHARS - 1)
    if key == "streamSid":
        message["streamSid"] = message["start"]["streamSid"]
    assert ms.parse_inbound(json.dumps(message)) is None


def test_other_messages_with_a_stream_sid_over_the_bound_are_malformed() -> None:
    long_sid = "MZ" + "0" * TWILIO_SID_CHARS
    dtmf = {"event": "dtmf", "streamSid": long_sid, "dtmf": {"digit": "1"}}
    stop = {"event": "stop", "streamSid": "MZ1", "stop": {"callSid": long_sid}}
    assert ms.parse_inbound(json.dumps(dtmf)) is None
    assert ms.parse_inbound(json.dumps(stop)) is None
