"""Checks for TwiML attribute values and texts: each returns why a value is refused, or None.

Allowed values follow Twilio's TwiML voice reference (twilio.com/docs/voice/twiml).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final
from urllib.parse import urlsplit

ValueCheck = Callable[[str], str | None]
"""Returns why a value is refused, or None when it is fine."""

DTMF_KEYS: Final = frozenset("0123456789*#")

DIAL_TIMEOUT_RANGE: Final = (5, 600)
"""Seconds: Twilio's documented bounds for ``<Dial timeout>``."""

QUEUE_NAME_MAX: Final = 64
"""Characters: Twilio refuses longer ``<Enqueue>`` queue names."""


def one_of(*allowed: str) -> ValueCheck:
    """A check accepting exactly the listed values."""

    def check(value: str) -> str | None:
        if value in allowed:
            return None
        return f"{value!r} is not one of {', '.join(allowed)}"

    return check


def words_of(*allowed: str) -> ValueCheck:
    """A check accepting a space-separated list of the listed words (e.g. callback events)."""

    def check(value: str) -> str | None:
        unknown = [word for word in value.split() if word not in allowed]
        if not value.split() or unknown:
            return f"{value!r} is not a space-separated list of {', '.join(allowed)}"
        return None

    return check


def integer(minimum: int, maximum: int | None = None) -> ValueCheck:
    """A check accepting decimal integers in ``[minimum, maximum]``."""

    def check(value: str) -> str | None:
        if not re.fullmatch(r"[0-9]+", value):
            return f"{value!r} is not {_integer_kind(minimum, maximum)}"
        number = int(value)
        if number < minimum or (maximum is not None and number > maximum):
            return f"{value!r} is not {_integer_kind(minimum, maximum)}"
        return None

    return check


def _integer_kind(minimum: int, maximum: int | None) -> str:
    if maximum is not None:
        return f"an integer from {minimum} to {maximum}"
    return "a positive integer" if minimum >= 1 else "a non-negative integer"


def url(*schemes: str) -> ValueCheck:
    """A check accepting absolute URLs with one of ``schemes``, or relative references."""

    def check(value: str) -> str | None:
        if not value or any(char.isspace() for char in value):
            return f"{value!r} is not a URL"
        parts = urlsplit(value)
        if not parts.scheme:
            return None
        if parts.scheme.lower() not in schemes or not parts.netloc:
            return f"{value!r} is not an absolute {'/'.join(schemes)} URL or a relative path"
        return None

    return check


def anything(_value: str) -> str | None:
    """A check accepting any value (names, labels, SIDs Twilio checks itself)."""
    return None


def non_empty(value: str) -> str | None:
    """A check refusing empty or blank values."""
    return None if value.strip() else "must not be empty"


def keys(*, single: bool) -> ValueCheck:
    """A check for ``finishOnKey``: one DTMF key (or none) if ``single``, else any set of keys."""

    def check(value: str) -> str | None:
        if single and len(value) > 1:
            return f"{value!r} is not a single key of 0-9, *, # (or empty)"
        if any(char not in DTMF_KEYS for char in value):
            return f"{value!r} is not made of the keys 0-9, *, #"
        return None

    return check


def queue_name(value: str) -> str | None:
    """A check for queue names: non-empty and at most ``QUEUE_NAME_MAX`` characters."""
    if not value.strip():
        return "a queue name is required"
    if len(value) > QUEUE_NAME_MAX:
        return f"queue name is longer than {QUEUE_NAME_MAX} characters"
    return None


def send_digits(value: str) -> str | None:
    """A check for DTMF to play: keys, plus ``w``/``W`` for half-second/one-second waits."""
    if re.fullmatch(r"[0-9*#wW]+", value):
        return None
    return f"{value!r} is not made of the keys 0-9, *, # and the waits w, W"


def speech_timeout(value: str) -> str | None:
    """A check for ``<Gather speechTimeout>``: seconds, or ``auto``."""
    if value == "auto" or re.fullmatch(r"[0-9]+", value):
        return None
    return f"{value!r} is not a non-negative integer or 'auto'"


def spoken_text(value: str) -> str | None:
    """A check for ``<Say>`` text: something to speak."""
    return None if value.strip() else "Say needs text to speak"


def wait_url_or_silence(value: str) -> str | None:
    """A check for ``<Conference waitUrl>``, where the empty string means silence."""
    return None if value == "" else HTTP_URL(value)


def sip_uri(value: str) -> str | None:
    """A check for ``<Sip>`` bodies: a ``sip:`` or ``sips:`` URI."""
    if re.fullmatch(r"sips?:\S+", value.strip()):
        return None
    return f"{value!r} is not a sip: URI"


HTTP_URL: Final = url("http", "https")
STREAM_URL: Final = url("wss")
METHOD: Final = one_of("GET", "POST")
BOOLEAN: Final = one_of("true", "false")
POSITIVE: Final = integer(1)
NON_NEGATIVE: Final = integer(0)
TRIM: Final = one_of("trim-silence", "do-not-trim")
CALL_EVENTS: Final = words_of("initiated", "ringing", "answered", "completed")
RECORDING_EVENTS: Final = words_of("in-progress", "completed", "absent")
INPUT: Final = one_of("dtmf", "speech", "dtmf speech", "speech dtmf")
