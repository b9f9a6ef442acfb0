"""Whole numbers from outside: Twilio's numeric fields, and ids in our own URLs and messages.

Every number that reaches us as text (a webhook's ``SequenceNumber``, ``CallDuration`` or
``QueueTime``, our ``turn`` query parameter, a Media Streams ``chunk``, an id in an API path, a
chat socket's ``chat``) is read here and nowhere else. Only ASCII digits are a number:
``str.isdigit()`` also accepts ``²`` and ``①``, which ``int()`` then refuses, and ``int()``
itself accepts ``" 7"``, ``"+7"``, ``"7_000"`` and Arabic-Indic digits. The length is bounded
before ``int()`` runs, so a 5,000-digit field costs nothing and raises nothing. Anything else is
None, never an exception: a parser's caller decides whether that is a default, a 400 or a 404.
"""

from __future__ import annotations

import re
from typing import Final

MAX_WHOLE_NUMBER: Final = 2**31 - 1
"""The largest number accepted by default: PostgreSQL's ``INTEGER``, the type of every id,
turn, sequence number and duration column we keep (``history.models.MAX_ID`` is the same bound).
A larger value can name nothing stored, and binding it to a query overflows the driver
(asyncpg refuses it; SQLite's own limit is 2**63 - 1). As seconds it is 68 years, far beyond
Twilio's longest call (24 hours); as Media Streams milliseconds, 24 days."""

MAX_UNIX_SECONDS: Final = 10**10 - 1
"""The largest expiry a signed token may carry (Unix seconds): the year 2286. Expiries are not
stored, and 2**31 - 1 would end in 2038, while a token's lifetime is whatever the operator sets."""

MAX_DIGITS: Final = len(str(MAX_UNIX_SECONDS))
"""Ten: no accepted value has more digits, so a longer string is refused unread. Leading zeros
beyond that (``"00000000007"``) are refused too; Twilio never sends them."""

_DIGITS: Final = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}")


def whole_number(raw: object, maximum: int = MAX_WHOLE_NUMBER) -> int | None:
    """``raw`` as a whole number in ``0..maximum``, or None for anything else.

    Args:
        raw: A field as received: text of ASCII digits (a form, a query, a path, a JSON
            string), or a JSON integer (our own pages send ids as numbers). Booleans, floats,
            signs, spaces and other scripts' digits are not numbers here.
        maximum: The largest value that means something for this field; at most
            :data:`MAX_UNIX_SECONDS`.

    Returns:
        The number, or None when ``raw`` is not one or lies outside ``0..maximum``.

    """
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and _DIGITS.fullmatch(raw):
        value = int(raw)
    else:
        return None
    return value if 0 <= value <= maximum else None
