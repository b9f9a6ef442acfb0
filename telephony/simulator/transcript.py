"""What a simulated call produced: its steps and transcript, or the error that stopped it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from speech.audio import WavInfo

Party = Literal["server", "caller"]
T = TypeVar("T")


@dataclass(frozen=True)
class Requested:
    """The simulator made an HTTP request, as Twilio would have.

    Attributes:
        method: ``GET`` or ``POST``.
        url: The public URL requested (what was signed), query included.
        status: The HTTP status of the answer.
        purpose: Why, e.g. ``incoming call``, ``gather action``, ``status callback``.

    """

    method: str
    url: str
    status: int
    purpose: str


@dataclass(frozen=True)
class Heard:
    """The caller heard something: a played file, spoken text, or DTMF tones.

    Attributes:
        url: The file played (public URL), for ``<Play>``.
        text: The text spoken, for ``<Say>``.
        digits: The tones played, for ``<Play digits>``.
        audio: What the played file's WAV header says.
        loops: How many times it was to be repeated (0: until something else happens).
        seconds: Simulated time it took.

    """

    url: str | None = None
    text: str | None = None
    digits: str | None = None
    audio: WavInfo | None = None
    loops: int = 1
    seconds: float = 0.0


@dataclass(frozen=True)
class Paused:
    """Silence from a ``<Pause>`` (not slept: simulated time)."""

    seconds: int


@dataclass(frozen=True)
class Gathered:
    """How the caller answered a ``<Gather>``.

    Attributes:
        digits: What Twilio submits as ``Digits``; None when the caller stayed silent.
        finished_on_key: The finish key the caller pressed, or "".
        timeout_seconds: The Gather's timeout, waited out (in simulated time) when no key
            or ``numDigits`` ended it.
        timed_out: Whether the timeout ended it.
        submitted: Whether the action URL was requested.

    """

    digits: str | None
    finished_on_key: str
    timeout_seconds: int
    timed_out: bool
    submitted: bool


@dataclass(frozen=True)
class Dialed:
    """A ``<Dial>`` leg and how it ended (per the scenario)."""

    target: str
    status: str
    duration_seconds: int


@dataclass(frozen=True)
class Enqueued:
    """A wait in an ``<Enqueue>`` queue and how it ended (``QueueResult``)."""

    queue: str
    result: str
    seconds: int


@dataclass(frozen=True)
class Noted:
    """A verb that changed nothing the caller hears (``<Record>`` of silence, ``<Start>``)."""

    verb: str
    note: str


@dataclass(frozen=True)
class Rejected:
    """The call was refused with ``<Reject>``."""

    reason: str


@dataclass(frozen=True)
class HungUp:
    """The call ended: who hung up, and why."""

    by: Party
    reason: str


Step = Requested | Heard | Paused | Gathered | Dialed | Enqueued | Noted | Rejected | HungUp
StepListener = Callable[[Step], None]


@dataclass(frozen=True)
class GatherPrompt:
    """A ``<Gather>`` waiting for the caller, as an interactive input provider sees it.

    Attributes:
        path: The Gather's element path, e.g. ``Response/Gather[1]``.
        action_url: Where the digits would be submitted (public URL).
        num_digits: How many digits end it at once, if set.
        finish_on_key: The key that ends it, or "" for none.
        timeout_seconds: How long Twilio waits for a key.
        accepts_dtmf: False for speech-only Gathers, where keys are ignored.
        in_queue: Whether it comes from an ``<Enqueue waitUrl>`` document.
        prompts: What the caller heard inside the Gather.

    """

    path: str
    action_url: str
    num_digits: int | None
    finish_on_key: str
    timeout_seconds: int
    accepts_dtmf: bool
    in_queue: bool
    prompts: tuple[Step, ...]


InputProvider = Callable[[GatherPrompt], Awaitable[str | None]]
"""Answers a Gather: keys to press, "" or "-" to stay silent, None to hang up."""


@dataclass(frozen=True)
class SeenDocument:
    """A TwiML document the server returned, and the public URL it came from."""

    url: str
    xml: str


@dataclass(frozen=True)
class CallTranscript:
    """Everything a simulated call did, in order.

    Attributes:
        call_sid: The call's SID.
        steps: What happened, in order.
        final_status: The ``CallStatus`` of the status callback (completed, busy, no-answer).
        duration_seconds: Simulated length of the answered call.
        documents: Every TwiML document seen, raw, in order.

    """

    call_sid: str
    steps: tuple[Step, ...]
    final_status: str
    duration_seconds: int
    documents: tuple[SeenDocument, ...]

    @property
    def ending(self) -> HungUp | Rejected | None:
        """How the call ended."""
        for step in reversed(self.steps):
            if isinstance(step, HungUp | Rejected):
                return step
        return None

    def of_type(self, kind: type[T]) -> list[T]:
        """The steps of one kind, in order (e.g. ``transcript.of_type(Heard)``)."""
        return [step for step in self.steps if isinstance(step, kind)]


class SimulationError(Exception):
    """The call could not go on as Twilio would run it; ``reason`` says why.

    Attributes:
        reason: What went wrong, naming the URL or element.
        steps: What happened before it went wrong.

    """

    def __init__(self, reason: str, steps: tuple[Step, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.steps = steps
