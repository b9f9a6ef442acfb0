"""A webhook's body becomes a form only when it is what Twilio sends (issue 10, findings 3, 8)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest

from config.limits import (
    DIGITS_CHARS,
    TEXT_BODY_CHARS,
    TWILIO_SID_CHARS,
    WEBHOOK_BODY_BYTES,
    WEBHOOK_FIELDS,
)
from telephony.webhook_form import (
    WebhookBodyError,
    WebhookBodyTooLargeError,
    check_size,
    parse_form,
)

FORM = "application/x-www-form-urlencoded"
INCOMING = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "twilio" / "incoming_call.json").read_text("utf-8")
)


def body(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode("ascii")


def test_twilio_s_incoming_call_form_is_read_whole() -> None:
    assert parse_form(body(INCOMING), FORM) == INCOMING


def test_korean_text_and_plus_signs_decode_as_twilio_encoded_them() -> None:
    form = parse_form(body({"Body": "안녕하세요 +1", "From": "+821012345678"}), FORM)
    assert form == {"Body": "안녕하세요 +1", "From": "+821012345678"}


@pytest.mark.parametrize("raw", [b"CallSid=CA\xff", b"CallSid=CA%FF", b"Call\xc3Sid=CA1"])
def test_a_body_that_is_not_utf8_is_refused_not_replaced(raw: bytes) -> None:
    with pytest.raises(WebhookBodyError, match="UTF-8"):
        parse_form(raw, FORM)


def test_another_content_type_is_refused() -> None:
    with pytest.raises(WebhookBodyError, match="x-www-form-urlencoded"):
        parse_form(b'{"CallSid": "CA1"}', "application/json")


def test_a_body_over_the_bound_is_too_large_before_it_is_parsed() -> None:
    with pytest.raises(WebhookBodyTooLargeError):
        check_size(WEBHOOK_BODY_BYTES + 1)
    check_size(None)  # chunked: bounded while read
    with pytest.raises(WebhookBodyTooLargeError):
        parse_form(b"Junk=" + b"x" * WEBHOOK_BODY_BYTES, FORM)


def test_more_fields_than_twilio_sends_are_refused() -> None:
    with pytest.raises(WebhookBodyError, match="fields"):
        parse_form(b"&".join(b"F%d=1" % n for n in range(WEBHOOK_FIELDS + 1)), FORM)


@pytest.mark.parametrize(
    ("field", "bound"),
    [
        ("CallSid", TWILIO_SID_CHARS),
        ("MessageSid", TWILIO_SID_CHARS),
        ("ConversationSid", TWILIO_SID_CHARS),
        ("Digits", DIGITS_CHARS),
        ("Body", TEXT_BODY_CHARS),
        ("From", 256),
        ("CallStatus", 64),
    ],
)
def test_a_stored_field_over_its_bound_is_refused_by_name(field: str, bound: int) -> None:
    assert parse_form(body({field: "1" * bound}), FORM) == {field: "1" * bound}
    with pytest.raises(WebhookBodyError, match=f"{field} holds at most {bound}"):
        parse_form(body({field: "1" * (bound + 1)}), FORM)


def test_a_megabyte_callsid_is_refused_whatever_the_body_bound() -> None:
    with pytest.raises(WebhookBodyError):
        parse_form(body({"CallSid": "CA" + "0" * 1_000_000}), FORM)


def test_a_long_field_nobody_stores_is_bounded_only_by_the_body() -> None:
    form = parse_form(body({"AddOns": "x" * 20_000, "CallSid": "CA1"}), FORM)
    assert len(form["AddOns"]) == 20_000
