"""A Twilio webhook's body → its form: UTF-8, URL-encoded, bounded in size and in every field.

Twilio posts ``application/x-www-form-urlencoded`` UTF-8, a few KB. A body that is not (bad
UTF-8, another content type, too many fields, a field longer than any Twilio sends) is refused
here, before the signature is checked, so nothing else ever sees it. Only the fields voicedesk
reads or stores have their own bound; the body's size bounds the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import parse_qsl

from config.limits import (
    ADDRESS_CHARS,
    DIGITS_CHARS,
    STATUS_CHARS,
    TEXT_BODY_CHARS,
    TWILIO_SID_CHARS,
    WEBHOOK_BODY_BYTES,
    WEBHOOK_FIELDS,
)

FORM_CONTENT_TYPES: Final = frozenset({"", "application/x-www-form-urlencoded"})
"""What Twilio sends (an empty type is read as a form, as aiohttp does)."""
SID_SUFFIX: Final = "Sid"
NUL: Final = "\x00"
"""Refused in any field: PostgreSQL cannot store U+0000 in text or JSONB (the webhook would fail
there, and only there), and Twilio never sends it."""
FIELD_CHARS: Final[Mapping[str, int]] = {
    "From": ADDRESS_CHARS,
    "To": ADDRESS_CHARS,
    "Caller": ADDRESS_CHARS,
    "Called": ADDRESS_CHARS,
    "Author": ADDRESS_CHARS,
    "Digits": DIGITS_CHARS,
    "CallStatus": STATUS_CHARS,
    "DialCallStatus": STATUS_CHARS,
    "QueueResult": STATUS_CHARS,
    "EventType": STATUS_CHARS,
    "Source": STATUS_CHARS,
    "Body": TEXT_BODY_CHARS,
}
"""The fields voicedesk reads, besides every ``…Sid`` (``TWILIO_SID_CHARS``)."""


class WebhookBodyError(ValueError):
    """A body Twilio would never send (answered 400); the message says what is wrong."""


class WebhookBodyTooLargeError(WebhookBodyError):
    """A body over ``WEBHOOK_BODY_BYTES`` (answered 413)."""


def check_size(length: int | None) -> None:
    """Refuse a declared ``Content-Length`` over the bound before reading the body.

    Raises:
        WebhookBodyTooLargeError: ``length`` is over ``WEBHOOK_BODY_BYTES``.

    """
    if length is not None and length > WEBHOOK_BODY_BYTES:
        raise WebhookBodyTooLargeError(
            f"a webhook body holds at most {WEBHOOK_BODY_BYTES} bytes, not {length}"
        )


def parse_form(body: bytes, content_type: str) -> dict[str, str]:
    """The form of a webhook body; a repeated field keeps its last value (as aiohttp does).

    Args:
        body: The raw request body.
        content_type: The request's content type, without parameters.

    Returns:
        Field name → value.

    Raises:
        WebhookBodyTooLargeError: The body is over ``WEBHOOK_BODY_BYTES``.
        WebhookBodyError: Not a UTF-8 URL-encoded form, too many fields, or a field over its
            bound (the message names it).

    """
    check_size(len(body))
    if content_type not in FORM_CONTENT_TYPES:
        raise WebhookBodyError("a webhook body must be application/x-www-form-urlencoded")
    try:
        text = body.rstrip().decode("utf-8")
        # strict: a percent-escape that is not UTF-8 is refused too, never replaced.
        pairs = parse_qsl(
            text, keep_blank_values=True, errors="strict", max_num_fields=WEBHOOK_FIELDS
        )
    except UnicodeDecodeError as err:
        raise WebhookBodyError("a webhook body must be UTF-8") from err
    except ValueError as err:  # parse_qsl: more than max_num_fields
        raise WebhookBodyError(f"a webhook form holds at most {WEBHOOK_FIELDS} fields") from err
    form = dict(pairs)
    for name, value in form.items():
        if NUL in name or NUL in value:  # PostgreSQL stores no U+0000; Twilio never sends one
            raise WebhookBodyError(f"{name[:64]!r} holds a NUL character")
        bound = field_bound(name)
        if bound is not None and len(value) > bound:
            raise WebhookBodyError(f"{name[:64]} holds at most {bound} characters")
    return form


def field_bound(name: str) -> int | None:
    """The most characters Twilio's field ``name`` may hold, or None (only the body's bound)."""
    if name.endswith(SID_SUFFIX):
        return TWILIO_SID_CHARS
    return FIELD_CHARS.get(name)
