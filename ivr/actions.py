"""What the engine asks for: prompts, listening, routing, and facts worth recording.

Two families share one vocabulary. *Call actions* (``Prompt``, ``Listen``, ``Transfer``,
``Enqueue``, ``Hangup``) are rendered to the caller by telephony. *Record actions*
(``NodeEntered``, ``ValueCollected``, ``InputRejected``, ``HoursChecked``, ``FellBack``,
``Outcome``) only go into the interaction history; renderers skip them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prompt:
    """Play this text, synthesized in this language."""

    text: str
    language: str


@dataclass(frozen=True)
class Listen:
    """Wait for input at ``node``: the prompts before it may be interrupted by the caller.

    ``turn`` identifies this wait; the answer to it must carry the same turn, so a late or
    replayed webhook is recognised as stale.
    """

    node: str
    turn: int
    timeout_seconds: int
    num_digits: int | None = None
    finish_on_key: str | None = None
    speech: bool = False


@dataclass(frozen=True)
class Transfer:
    """Dial an outside number and bridge the caller to it."""

    number: str
    timeout_seconds: int
    turn: int


@dataclass(frozen=True)
class Enqueue:
    """Put the caller into a named queue."""

    queue: str
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


CallAction = Prompt | Listen | Transfer | Enqueue | Hangup
RecordAction = NodeEntered | ValueCollected | InputRejected | HoursChecked | FellBack | Outcome
Action = CallAction | RecordAction
