"""What the engine asks for: prompts, listening, routing, and facts worth recording.

Two families share one vocabulary. *Call actions* (``Prompt``, ``Listen``, ``Transfer``,
``Enqueue``, ``Hold``, ``Offer``, ``Leave``, ``ConnectAgent``, ``Hangup``) are rendered to the
caller by telephony. *Record actions* (``NodeEntered``, ``ValueCollected``, ``InputRejected``,
``HoursChecked``, ``FellBack``, ``Outcome``, ``ConfirmationAsked``, ``Confirmed``,
``KeypadFallback``, ``QueueLeft``, ``ScheduleCallback``, ``CancelCallback``, ``SurveyAnswered``,
``EscalateToChat``) go into the interaction history (the call service also carries out the
queue, callback and chat ones in the same transaction); renderers skip them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

# What a speech recognizer listening for a `Listen` may hear (its `grammar`).
GRAMMAR_OPTIONS: Final = "options"
"""One of the Listen's ``phrases``, exactly as written in the menu."""
GRAMMAR_DIGITS: Final = "digits"
"""Digit words and numerals ("일 이 삼", "one two three")."""
GRAMMAR_YES_NO: Final = "yes_no"
"""A yes or a no word; the Listen's ``phrases`` are the yes words, then the no words."""


@dataclass(frozen=True)
class Prompt:
    """Play this text, synthesized in this language.

    ``sensitive`` marks a text that reads a sensitive value back (a confirmation at a
    ``sensitive`` collect node): it must not be stored or cached in clear.
    """

    text: str
    language: str
    sensitive: bool = False


@dataclass(frozen=True)
class Listen:
    """Wait for input at ``node``: the prompts before it may be interrupted by the caller.

    ``turn`` identifies this wait; the answer to it must carry the same turn, so a late or
    replayed webhook is recognised as stale. With ``speech`` the caller may also answer by
    voice: ``grammar`` (``GRAMMAR_*``) and ``phrases`` say what a recognizer may hear, in
    ``language`` (the call's).
    """

    node: str
    turn: int
    timeout_seconds: int
    num_digits: int | None = None
    finish_on_key: str | None = None
    speech: bool = False
    grammar: str = GRAMMAR_OPTIONS
    phrases: tuple[str, ...] = ()
    language: str = ""


@dataclass(frozen=True)
class Transfer:
    """Dial an outside number and bridge the caller to it."""

    number: str
    timeout_seconds: int
    turn: int


@dataclass(frozen=True)
class Enqueue:
    """Put the caller into a named queue, at ``place`` in line (None: now, at the back)."""

    queue: str
    turn: int
    node: str = ""
    place: datetime | None = None


@dataclass(frozen=True)
class Hold:
    """Hold audio for about ``seconds`` while the caller waits in a queue."""

    seconds: int


@dataclass(frozen=True)
class Offer:
    """In a queue wait: the prompts before it may be answered with one key (``turn``'s wait)."""

    turn: int
    timeout_seconds: int


@dataclass(frozen=True)
class Leave:
    """Take the caller out of the queue; the queue's action then reports ``leave``."""


@dataclass(frozen=True)
class ConnectAgent:
    """Bridge the caller into the agent's conference ``room``; ``turn`` identifies its end."""

    room: str
    turn: int


@dataclass(frozen=True)
class Hangup:
    """End the call (after any prompts before it)."""


@dataclass(frozen=True)
class NodeEntered:
    """The call reached a node."""

    node: str
    type: str


@dataclass(frozen=True)
class ValueCollected:
    """A collected value; ``sensitive`` values are masked before they are stored."""

    node: str
    variable: str
    value: str
    sensitive: bool


@dataclass(frozen=True)
class InputRejected:
    """Input that matched nothing (or nothing at all) at a node; ``attempt`` counts from 1."""

    node: str
    reason: str
    attempt: int
    value: str | None = None


@dataclass(frozen=True)
class HoursChecked:
    """A business-hours decision."""

    node: str
    schedule: str
    open: bool
    local_time: str


@dataclass(frozen=True)
class FellBack:
    """Retries ran out (or something failed) and the call was routed to ``to``."""

    node: str
    to: str | None
    reason: str


@dataclass(frozen=True)
class Outcome:
    """How the call ended up: transferred, queued, completed, abandoned, failed."""

    outcome: str
    detail: str = ""


@dataclass(frozen=True)
class ConfirmationAsked:
    """A spoken answer was heard without enough confidence: the caller is asked yes or no.

    ``choice`` is what is read back (masked at a ``sensitive`` collect node).
    """

    node: str
    choice: str


@dataclass(frozen=True)
class Confirmed:
    """The caller said yes to ``choice`` (masked at a ``sensitive`` collect node)."""

    node: str
    choice: str


@dataclass(frozen=True)
class KeypadFallback:
    """Speech could not serve the wait at ``node``: it was asked again for the keypad only."""

    node: str
    reason: str


@dataclass(frozen=True)
class QueueLeft:
    """The caller left the queue (``result`` as Twilio reports it, or ``callback``)."""

    node: str
    queue: str
    result: str
    waited_seconds: int


@dataclass(frozen=True)
class ScheduleCallback:
    """Record a callback request: ``kind`` ``queued`` (keeps ``place`` in line) or ``scheduled``.

    ``slot`` is how the time is said (for the SMS); ``due_at`` the first moment to dial.
    """

    kind: str
    phone: str
    queue: str
    node: str
    place: datetime
    due_at: datetime
    sms: bool
    slot: str = ""


@dataclass(frozen=True)
class CancelCallback:
    """Cancel the caller's open callback request."""

    callback_id: int


@dataclass(frozen=True)
class SurveyAnswered:
    """The caller rated the call ``rating`` out of ``scale`` at survey ``node``."""

    node: str
    rating: int
    scale: int


@dataclass(frozen=True)
class EscalateToChat:
    """Open a text chat for the caller with an agent of ``queue``; a link goes out by SMS.

    ``waiting_since`` is the caller's place in line: when they joined a queue, or now.
    """

    node: str
    queue: str
    phone: str
    language: str
    waiting_since: datetime


CallAction = Prompt | Listen | Transfer | Enqueue | Hold | Offer | Leave | ConnectAgent | Hangup
RecordAction = (
    NodeEntered
    | ValueCollected
    | InputRejected
    | HoursChecked
    | FellBack
    | Outcome
    | ConfirmationAsked
    | Confirmed
    | KeypadFallback
    | QueueLeft
    | ScheduleCallback
    | CancelCallback
    | SurveyAnswered
    | EscalateToChat
)
Action = CallAction | RecordAction
