"""What a simulated call produced: its steps and transcript, or the error that stopped it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from telephony.wav import WavInfo

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


@dataclass(frozen=True)
class StreamOpened:
    """A ``<Connect><Stream>`` websocket was opened and ``connected`` and ``start`` sent.

    Attributes:
        url: The public ``wss://`` URL of the ``<Stream>`` (what the handshake was signed with).
        stream_sid: The ``MZ…`` SID of the stream.
        parameters: The ``customParameters`` sent in ``start`` (the ``<Parameter>``s).

    """

    url: str
    stream_sid: str
    parameters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StreamHeard:
    """One prompt played on a stream (a burst of the server's audio), as far as it played.

    Recorded when it ends: played out (nothing left to play for the caller's reaction time),
    cut short by a ``clear``, or ended with the stream.

    Attributes:
        prompt: Its number in the stream, from 1.
        at_ms: When its first audio arrived, in ms since the stream started.
        heard_ms: How much of it played to the caller (20 ms per 160 μ-law bytes).
        cleared: Whether a ``clear`` cut it short.
        ended_ms: When it ended, in ms since the stream started.

    """

    prompt: int
    at_ms: int
    heard_ms: int
    cleared: bool = False
    ended_ms: int = 0


@dataclass(frozen=True)
class MarkEchoed:
    """A ``mark`` went back to the server: the audio before it played, or a clear dropped it.

    Attributes:
        name: The mark's name, as the server sent it.
        at_ms: When it went back, in ms since the stream started.
        cleared: True when sent back because of a ``clear``.

    """

    name: str
    at_ms: int
    cleared: bool = False


@dataclass(frozen=True)
class PlaybackCleared:
    """The server sent ``clear``: audio not played yet was dropped, pending marks sent back.

    Attributes:
        at_ms: When the clear arrived, in ms since the stream started.
        dropped_ms: Audio that was queued and will never play.
        marks: The marks sent back because of it.
        onset_to_clear_ms: Time from the caller's voice onset (the sending of the first
            caller frame with voice in it) to the clear's arrival; None when the caller had
            not started speaking since the previous clear.
        onset_to_clear_frames: Caller frames sent after that onset frame before the clear
            arrived: 0 means the server cleared on the onset frame itself, 1 one frame later.

    """

    at_ms: int
    dropped_ms: int
    marks: tuple[str, ...] = ()
    onset_to_clear_ms: float | None = None
    onset_to_clear_frames: int | None = None


@dataclass(frozen=True)
class CallerSpoke:
    """The caller spoke into a stream: synthesized text or a recording.

    Attributes:
        text: What was said (``say:``), or None.
        path: The WAV file played into the line (``play:``), or None.
        at_ms: Voice onset, in ms since the stream started.
        seconds: Length of the audio sent.
        barge_in: Whether the server's audio was still playing at the onset.

    """

    text: str | None
    path: str | None
    at_ms: int
    seconds: float
    barge_in: bool


@dataclass(frozen=True)
class DtmfSent:
    """The caller pressed keys on a stream; Twilio sends one ``dtmf`` message per key."""

    keys: str
    at_ms: int


@dataclass(frozen=True)
class StreamClosed:
    """The stream ended.

    Attributes:
        by: ``server`` (it closed the websocket: the call goes on with the TwiML) or
            ``caller`` (hung up: ``stop`` was sent, then the websocket closed).
        at_ms: How long the stream lasted.
        reason: Why, for people.

    """

    by: Party
    at_ms: int
    reason: str


StreamStep = (
    StreamOpened
    | StreamHeard
    | MarkEchoed
    | PlaybackCleared
    | CallerSpoke
    | DtmfSent
    | StreamClosed
)
Step = (
    Requested
    | Heard
    | Paused
    | Gathered
    | Dialed
    | Enqueued
    | Noted
    | Rejected
    | HungUp
    | StreamStep
)
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


@dataclass(frozen=True)
class StreamPrompt:
    """A prompt that began playing on a stream, as an interactive input provider sees it.

    Attributes:
        path: The ``<Stream>`` element's path, e.g. ``Response/Connect[1]/Stream[1]``.
        url: The stream's public URL.
        prompt: The prompt's number in the stream, from 1.

    """

    path: str
    url: str
    prompt: int


InputRequest = GatherPrompt | StreamPrompt

InputProvider = Callable[[InputRequest], Awaitable[str | None]]
"""Answers a Gather or a stream prompt with a script entry (``telephony.simulator.script``):
keys, "" or "-" for silence, ``say:TEXT``, ``say@MS:TEXT``, ``play:PATH``; None hangs up."""


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
