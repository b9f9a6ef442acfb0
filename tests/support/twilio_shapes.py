"""Hypothesis strategies for what Twilio (or someone posing as a client) may send us.

Values are Twilio-shaped where that finds bugs (SIDs, E.164 numbers, statuses, decimal
counters) and hostile where that does: digits of other scripts (``²``, ``①``, ``١٢٣``),
numbers past 32 and 64 bits, 5,000-digit numbers, huge and empty strings, NULs, signs, spaces.
"""

from __future__ import annotations

import string
from typing import Final

from hypothesis import strategies as st

NUMBER_TRAPS: Final = (
    "0",
    "1",
    "2",
    "3",
    "²",
    "①",
    "١٢٣",
    "１２",
    "-1",
    "+7",
    " 7",
    "7 ",
    "7\n",
    "7.5",
    "1e3",
    "0x10",
    "7_000",
    "NaN",
    "Infinity",
    "2147483647",
    "2147483648",
    "9223372036854775808",
    "99999999999999999999",
    "",
)
"""Numbers Twilio would never send, and the ones a parser gets wrong (issue 10, finding 2)."""
HUGE_NUMBERS: Final = ("9" * 5000, "1" * 4301, "0" * 5000, "9" * 64)
"""Past ``int()``'s 4,300-digit limit (it raises ValueError), and past any integer column."""
NUL_VALUES: Final = ("\x00", "1\x00", "+8210\x0012345678", "CA\x00" + "0" * 30)
"""Text with NUL: PostgreSQL cannot store U+0000 in text or JSONB (SQLite can), so these reach
code paths the SQLite runs never fail on."""
HUGE_VALUES: Final = ("x" * 70_000, "가" * 20_000, "9" * 5000, "%" * 10_000)
"""Past every field bound, some past the webhook body bound (64 KB): a 413 or a refusal."""
CALL_STATUSES: Final = (
    "queued",
    "initiated",
    "ringing",
    "in-progress",
    "completed",
    "busy",
    "failed",
    "no-answer",
    "canceled",
)
QUEUE_RESULTS: Final = ("bridged", "bridging-in-process", "error", "hangup", "leave", "redirected")
DIAL_STATUSES: Final = ("completed", "answered", "busy", "no-answer", "failed", "canceled")
OTHER_WORDS: Final = (
    "onMessageAdded",
    "onConversationAdded",
    "sms",
    "SMS",
    "whatsapp",
    "call-progress-events",
    "client:agent",
    "sip:x@example.com",
    "anonymous",
    "true",
    "false",
    "null",
)

_TEXT_CHARACTERS: Final = st.characters(exclude_categories=("Cs",))
"""Any character a form or JSON can carry as UTF-8 (lone surrogates cannot be encoded)."""


def any_text(min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    """Short text of any script, control characters and NULs included."""
    return st.text(_TEXT_CHARACTERS, min_size=min_size, max_size=max_size)


def numbers() -> st.SearchStrategy[str]:
    """Decimal counters as Twilio sends them, and the traps."""
    return st.one_of(
        st.sampled_from(NUMBER_TRAPS),
        st.sampled_from(HUGE_NUMBERS),
        st.integers(min_value=0, max_value=2**40).map(str),
        st.from_regex(r"\A[0-9]{1,24}\Z"),
    )


def sids(prefix: str = "CA") -> st.SearchStrategy[str]:
    """SIDs of Twilio's shape (two letters, 32 hex digits), and near misses."""
    hex32 = st.text("0123456789abcdef", min_size=32, max_size=32)
    return st.one_of(
        hex32.map(lambda h: prefix + h),
        st.text(string.ascii_letters + string.digits, min_size=1, max_size=40),
    )


def phones() -> st.SearchStrategy[str]:
    """E.164 numbers (Korean mobiles mostly), and what is not one."""
    return st.one_of(
        st.from_regex(r"\A\+8210[0-9]{8}\Z"),
        st.from_regex(r"\A\+?[0-9]{1,20}\Z"),
        st.sampled_from(("client:agent1", "anonymous", "+", "")),
    )


def values() -> st.SearchStrategy[str]:
    """Any value of any field: Twilio-shaped, numeric traps, text of any script, NULs."""
    common = st.one_of(
        numbers(),
        any_text(),
        st.sampled_from(CALL_STATUSES + QUEUE_RESULTS + DIAL_STATUSES + OTHER_WORDS),
        sids(),
        phones(),
    )
    # One value in twenty holds a NUL: any field with one refuses the whole request at the
    # edge, so more would leave few cases for the code behind it.
    nul = st.sampled_from(NUL_VALUES)
    return st.sampled_from((common,) * 19 + (nul,)).flatmap(lambda chosen: chosen)


def sometimes_huge() -> st.SearchStrategy[str | None]:
    """A huge value for a quarter of the cases, None otherwise.

    Drawn once per case rather than per field: a huge value anywhere gets the whole request
    refused at the edge, so more would leave few cases for the handlers behind it.
    """
    return st.sampled_from((None,) * 3 * len(HUGE_VALUES) + HUGE_VALUES)
