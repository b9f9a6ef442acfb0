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

# Often enough that a waiting caller knows the line is alive, rarely enough that the
# announcements do not crowd out the hold music.
DEFAULT_ANNOUNCE_EVERY_SECONDS: Final = 30
# Three slots is what a caller can keep in mind after hearing them once.
DEFAULT_CALLBACK_SLOTS: Final = 3
# An hour per slot: a window the customer can plan around that agents can still keep.
DEFAULT_SLOT_MINUTES: Final = 60
# Earliest slot an hour after the call: time to staff it, and a customer who wanted sooner
# would have waited in the queue.
DEFAULT_LEAD_MINUTES: Final = 60
# A week ahead covers "some day next week" without promising a staffing plan not yet made.
DEFAULT_DAYS_AHEAD: Final = 7
# Calls: the size Twilio documented for a queue <Enqueue> creates on demand (its newer pages say
# 1000) and the one our simulator reports; more callers than that are better told to call later.
DEFAULT_QUEUE_MAX_SIZE: Final = 100
# The top of a survey's rating scale: 1 (worst) to 5 (best), the usual call-center CSAT scale.
SURVEY_SCALE: Final = 5


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
    """Wait for an agent in a named queue; ``next`` (optional) when the caller leaves unserved.

    While waiting the caller hears the position and expected wait every ``announce_every``
    seconds; from ``offer_callback_after`` seconds of waiting on, each announcement offers a
    callback that keeps the caller's place. After ``max_wait`` seconds the caller goes to
    ``overflow``; once an agent hangs up, to ``after_agent`` (e.g. a survey).
    """

    id: str
    queue: str
    prompt: Prompt | None = None
    next: str | None = None
    announce_every: int = DEFAULT_ANNOUNCE_EVERY_SECONDS
    """Seconds between announcements of the position and expected wait."""
    offer_callback_after: int | None = None
    """Seconds of waiting before a callback is offered (0: from the first announcement);
    None: never offered."""
    max_wait: int | None = None
    """Seconds a caller may wait before going to ``overflow``; None: no limit."""
    overflow: str | None = None
    """The node a caller goes to after ``max_wait``; set exactly when ``max_wait`` is."""
    after_agent: str | None = None
    """The node a caller goes to when the agent hangs up; None: goodbye and hang up."""
    callback_sms: bool = True
    """Whether a queued callback request is confirmed by SMS."""
    offer_chat: str | None = None
    """A ``chat`` node offered while waiting (key 2); None: no chat offer."""
    offer_chat_after: int = 0
    """Seconds of waiting before the chat is offered (0: from the first announcement)."""


@dataclass(frozen=True)
class CallbackNode:
    """Book a callback at a later time slot of ``schedule``; ``next`` after booking or declining.

    The caller is offered ``slots`` slots of ``slot_minutes`` minutes each, starting at least
    ``lead_minutes`` after the call and within ``days_ahead`` days, each wholly inside one
    opening window of the schedule and never on its holidays; slot number n answers to key n.
    An agent of ``queue`` makes the call; once the agent hangs up, the customer goes to
    ``after_agent``. After ``retries`` re-prompts without a valid answer: ``fallback``.
    """

    id: str
    queue: str
    schedule: str
    prompt: Prompt
    next: str
    slots: int = DEFAULT_CALLBACK_SLOTS
    slot_minutes: int = DEFAULT_SLOT_MINUTES
    lead_minutes: int = DEFAULT_LEAD_MINUTES
    days_ahead: int = DEFAULT_DAYS_AHEAD
    input: tuple[str, ...] = (INPUT_DTMF,)
    timeout: int = 5
    retries: int = 2
    fallback: str | None = None
    no_input_prompt: Prompt | None = None
    no_match_prompt: Prompt | None = None
    speech: SpeechThresholds | None = None
    """Thresholds for spoken answers here; None takes the menu's."""
    after_agent: str | None = None
    """The node the customer goes to when the agent hangs up; None: goodbye and hang up."""
    sms: bool = True
    """Whether a booking is confirmed by SMS."""


@dataclass(frozen=True)
class SurveyNode:
    """Ask for a rating from 1 to ``scale``, thank the caller, then go on to ``next``.

    A caller who still gives no valid rating after ``retries`` re-prompts goes on to ``next``
    unrated: a survey is a favour the caller does us, so it never holds them back (hence one
    re-prompt by default, and no ``fallback``).
    """

    id: str
    prompt: Prompt
    next: str
    scale: int = SURVEY_SCALE
    input: tuple[str, ...] = (INPUT_DTMF,)
    timeout: int = 5
    retries: int = 1
    no_input_prompt: Prompt | None = None
    no_match_prompt: Prompt | None = None
    speech: SpeechThresholds | None = None
    """Thresholds for spoken ratings here; None takes the menu's."""
    thanks: Prompt | None = None
    """Said after a rating; None says the ``survey_thanks`` message."""


@dataclass(frozen=True)
class ChatNode:
    """Move the caller to a text chat with an agent of ``queue``, then end the call.

    The caller's mobile number gets an SMS with a personal link to the web chat (a reply to the
    SMS joins the same chat); the chat carries what the call learned. A caller whose number
    cannot take a text (withheld, not E.164) hears ``chat_unavailable`` and goes to ``next``
    (or a goodbye).
    """

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
    SayNode
    | MenuNode
    | CollectNode
    | HoursNode
    | TransferNode
    | QueueNode
    | CallbackNode
    | SurveyNode
    | ChatNode
    | HangupNode
    | GotoNode
)
InputNode = MenuNode | CollectNode
"""Nodes whose answers are matched against options or digits (``callback`` and ``survey`` wait
for input too, but answer with slots and ratings)."""


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
    max_size: int = DEFAULT_QUEUE_MAX_SIZE
    """How many callers may wait at once; one more hears ``queue_unavailable``."""


@dataclass(frozen=True)
class Menu:
    """A validated menu: nodes by id, schedules, queues and the system messages per language.

    ``messages`` holds the system prompts the engine needs besides the nodes' own (apology,
    default no-input / no-match, goodbye), already merged with the built-in texts.
    ``fallback`` is where a call goes after an internal failure (a node id, or None to say
    goodbye and hang up). ``outage`` is where a call goes while the database is unreachable
    (a ``queue`` or ``transfer`` node; see :attr:`outage_route`). ``speech`` holds the
    thresholds of nodes that set none of their own.
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
    outage: str | None = None

    @property
    def outage_route(self) -> str | None:
        """The node calls go to while the database is down: ``outage``, else the fallback.

        Only a ``queue`` or ``transfer`` node can take a call with no database (a queue keeps
        its place in Twilio's queue and is written to the line when the database is back);
        None when neither names one: the caller hears the apology and is hung up.
        """
        for node_id in (self.outage, self.fallback):
            node = None if node_id is None else self.nodes.get(node_id)
            if isinstance(node, QueueNode | TransferNode):
                return node_id
        return None

    @property
    def default_language(self) -> str:
        """The first listed language, used until the caller picks another."""
        return self.languages[0]

    def node(self, node_id: str) -> Node:
        """The node named ``node_id`` (a validated menu has every referenced node)."""
        return self.nodes[node_id]
