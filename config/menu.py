"""The menu model: frozen, validated values an admin's YAML turns into (see MENU_FORMAT.md).

The model lives in `config/` (not `ivr/`) because `config` loads and validates menus and must not
import the layer above it; `ivr` imports these types and nothing else from the outside world.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from typing import Final

Prompt = Mapping[str, str]
"""A prompt text per language code, e.g. ``{"ko": "...", "en": "..."}``."""

INPUT_DTMF = "dtmf"
INPUT_SPEECH = "speech"

# Recognition confidence (0..1) of a grammar-restricted answer. At or above `accept` the answer
# is taken like a key press; from `confirm` up to it the caller is asked "did you say ...?";
# below it the answer is a no-match. Starting points to be tuned from the measured
# `speech_recognized` history: a wrong route costs the caller more than one yes/no question.
DEFAULT_SPEECH_ACCEPT: Final = 0.8
DEFAULT_SPEECH_CONFIRM: Final = 0.45


@dataclass(frozen=True)
class SpeechThresholds:
    """How sure recognition must be: take at ``accept``, ask to confirm from ``confirm``."""

    accept: float = DEFAULT_SPEECH_ACCEPT
    confirm: float = DEFAULT_SPEECH_CONFIRM


@dataclass(frozen=True)
class Option:
    """One choice of a ``menu`` node: a key, spoken phrases, or both."""

    next: str
    key: str | None = None
    phrases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class SayNode:
    """Speak a prompt, then go on to ``next``."""

    id: str
    prompt: Prompt
    next: str


@dataclass(frozen=True)
class MenuNode:
    """Offer options by keypad and/or by voice; retry, then fall back."""

    id: str
    prompt: Prompt
    options: tuple[Option, ...]
    input: tuple[str, ...] = (INPUT_DTMF,)
    timeout: int = 5
    retries: int = 2
    no_input_prompt: Prompt | None = None
    no_match_prompt: Prompt | None = None
    fallback: str | None = None
    speech: SpeechThresholds | None = None
    """Thresholds for spoken answers here; None takes the menu's."""


@dataclass(frozen=True)
class DigitsRange:
    """How many digits a ``collect`` node accepts."""

    min: int
    max: int


@dataclass(frozen=True)
class CollectNode:
    """Collect digits into a variable."""

    id: str
    prompt: Prompt
    variable: str
    digits: DigitsRange
    next: str
    finish_on_key: str = "#"
    sensitive: bool = False
    pattern: str | None = None
    retries: int = 2
    fallback: str | None = None
    input: tuple[str, ...] = (INPUT_DTMF,)
    timeout: int = 5
    no_input_prompt: Prompt | None = None
    no_match_prompt: Prompt | None = None
    speech: SpeechThresholds | None = None
    """Thresholds for spoken digits here; None takes the menu's."""


@dataclass(frozen=True)
class HoursNode:
    """Branch on a schedule's business hours and holidays."""

    id: str
    schedule: str
    open: str
    closed: str


@dataclass(frozen=True)
class TransferNode:
    """Connect the caller to an outside number; ``next`` when the transfer fails or ends."""

    id: str
    number: str
    next: str
    timeout: int = 30
    prompt: Prompt | None = None


@dataclass(frozen=True)
class QueueNode:
    """Wait for an agent in a named queue; ``next`` (optional) when the caller leaves unserved."""

    id: str
    queue: str
    prompt: Prompt | None = None
    next: str | None = None


@dataclass(frozen=True)
class HangupNode:
    """Say an optional goodbye and end the call."""

    id: str
    prompt: Prompt | None = None


@dataclass(frozen=True)
class GotoNode:
    """Jump to another node."""

    id: str
    next: str


Node = (
    SayNode | MenuNode | CollectNode | HoursNode | TransferNode | QueueNode | HangupNode | GotoNode
)
InputNode = MenuNode | CollectNode


@dataclass(frozen=True)
class TimeRange:
    """An opening window within one day, start inclusive, end exclusive."""

    start: time
    end: time


@dataclass(frozen=True)
class Schedule:
    """Business hours: weekly windows (0 = Monday) in a timezone, and closed dates."""

    id: str
    timezone: str
    weekly: Mapping[int, tuple[TimeRange, ...]]
    holidays: frozenset[date] = frozenset()


@dataclass(frozen=True)
class Queue:
    """A queue callers wait in."""

    id: str
    service_level_seconds: int = 20


@dataclass(frozen=True)
class Menu:
    """A validated menu: nodes by id, schedules, queues and the system messages per language.

    ``messages`` holds the system prompts the engine needs besides the nodes' own (apology,
    default no-input / no-match, goodbye), already merged with the built-in texts.
    ``fallback`` is where a call goes after an internal failure (a node id, or None to say
    goodbye and hang up). ``speech`` holds the thresholds of nodes that set none of their own.
    """

    id: str
    languages: tuple[str, ...]
    start: str
    nodes: Mapping[str, Node]
    schedules: Mapping[str, Schedule]
    queues: Mapping[str, Queue]
    messages: Mapping[str, Prompt]
    fallback: str | None = None
    checksum: str = ""
    speech: SpeechThresholds = SpeechThresholds()

    @property
    def default_language(self) -> str:
        """The first listed language, used until the caller picks another."""
        return self.languages[0]

    def node(self, node_id: str) -> Node:
        """The node named ``node_id`` (a validated menu has every referenced node)."""
        return self.nodes[node_id]
