"""What happens to a call, as the engine sees it: frozen values, no wire formats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CallStarted:
    """A new inbound call reached the menu.

    ``open_callback_id`` and ``open_callback_due`` name a callback the caller already asked
    for and that is still to be made: they are asked whether to keep it.
    """

    at: datetime
    caller: str
    called: str
    open_callback_id: int | None = None
    open_callback_due: datetime | None = None


@dataclass(frozen=True)
class DigitsEntered:
    """The caller pressed keys at the current input node (finish key already stripped)."""

    at: datetime
    digits: str


@dataclass(frozen=True)
class NoInput:
    """The caller said and pressed nothing before the current input node timed out."""

    at: datetime


@dataclass(frozen=True)
class SpeechRecognized:
    """The recogniser's answer at the current input node, with how it was measured.

    Attributes:
        at: When the answer was decided.
        transcript: What the grammar matched: an option phrase as written in the menu, digit
            words, a yes or no word; "" when nothing matched.
        confidence: How sure the recogniser is of ``transcript``, 0 to 1.
        heard: The recogniser's raw text, before matching it to the grammar.
        grammar: The grammar listened with (``actions.GRAMMAR_*``).
        audio_ms: The length of the caller's utterance.
        decision_ms: From the end of the utterance to the recognition result.

    """

    at: datetime
    transcript: str
    confidence: float
    heard: str = ""
    grammar: str = ""
    audio_ms: int = 0
    decision_ms: int = 0


@dataclass(frozen=True)
class SpeechUnavailable:
    """The speech path could not serve the current wait (media stream failed or refused)."""

    at: datetime
    reason: str


@dataclass(frozen=True)
class TransferEnded:
    """A transfer leg ended; ``status`` is Twilio's DialCallStatus (completed, busy, ...)."""

    at: datetime
    status: str
    duration_seconds: int = 0


@dataclass(frozen=True)
class QueueResult:
    """The caller left a queue: bridged, hangup, leave, queue-full, error, system-error."""

    at: datetime
    result: str
    queue_seconds: int = 0


@dataclass(frozen=True)
class QueueWaited:
    """A queued caller's hold document ended (Twilio asks the waitUrl again): what to play next.

    ``position`` is the caller's place in line (1 is next) and ``expected_minutes`` the
    expected wait, each None when unknown.
    """

    at: datetime
    waited_seconds: int
    position: int | None = None
    expected_minutes: int | None = None


@dataclass(frozen=True)
class AgentReady:
    """An agent answered: the waiting caller was taken out of the queue to join ``room``."""

    at: datetime
    room: str


@dataclass(frozen=True)
class AgentCallEnded:
    """The caller's conversation with an agent ended (the agent hung up)."""

    at: datetime
    duration_seconds: int = 0


@dataclass(frozen=True)
class CallbackAnswered:
    """The customer answered our callback call.

    Agent-first, an agent already waits in ``room``; customer-first (``room`` None) the
    customer waits in line at ``place``, their original place.
    """

    at: datetime
    room: str | None
    place: datetime | None = None


@dataclass(frozen=True)
class Failure:
    """Something failed while handling the call; the engine apologises and routes on."""

    at: datetime
    reason: str


@dataclass(frozen=True)
class Outage:
    """The database could not be reached: the call goes to the menu's outage route.

    While the database is down the caller is answered with this step's TwiML, computed without
    the call's stored state; once the database is back the same event is applied to the
    stored call, so the history and the queue line show where the caller went and since when.
    """

    at: datetime
    reason: str


@dataclass(frozen=True)
class CallEnded:
    """The call is over (status callback ``completed``, ``busy``, ``failed``, ...)."""

    at: datetime
    status: str
    duration_seconds: int = 0


Event = (
    CallStarted
    | DigitsEntered
    | NoInput
    | SpeechRecognized
    | SpeechUnavailable
    | TransferEnded
    | QueueResult
    | QueueWaited
    | AgentReady
    | AgentCallEnded
    | CallbackAnswered
    | Failure
    | Outage
    | CallEnded
)
