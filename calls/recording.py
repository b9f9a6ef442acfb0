"""Engine events and actions → history events, with sensitive values masked before storage."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, fields, replace
from datetime import datetime
from typing import Any, Final

from config.menu import CollectNode, Menu
from history.store import NewEvent
from ivr import actions as act
from ivr import events as ev
from ivr.state import CallState

MASK: Final = "*"

# What a caller keyed or said, in the payloads of incoming events; masked at sensitive nodes.
_INPUT_FIELDS: Final = ("digits", "transcript", "heard")

# Confidence to three places: finer steps mean nothing for tuning the speech thresholds.
CONFIDENCE_PLACES: Final = 3

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def mask(value: str) -> str:
    """A masked value that keeps only its length, so supervisors see that digits were entered."""
    return MASK * len(value)


def event_type(thing: object) -> str:
    """The history event type of an event or action: ``DigitsEntered`` → ``digits_entered``."""
    return _CAMEL.sub("_", type(thing).__name__).lower()


def is_sensitive_node(menu: Menu, node_id: str) -> bool:
    """Whether input at ``node_id`` must never be stored in clear."""
    node = menu.nodes.get(node_id)
    return isinstance(node, CollectNode) and node.sensitive


def incoming(menu: Menu, node_id: str, event: ev.Event) -> NewEvent:
    """The history event of what happened to the call, masked if it was sensitive input.

    A ``speech_recognized`` payload keeps the recognizer's measurements (``confidence``,
    ``grammar``, ``audio_ms``, ``decision_ms``) for tuning the speech thresholds.
    """
    payload = {f.name: _jsonable(getattr(event, f.name)) for f in fields(event) if f.name != "at"}
    if isinstance(event, ev.SpeechRecognized):
        payload["confidence"] = round(event.confidence, CONFIDENCE_PLACES)
    if isinstance(event, ev.DigitsEntered | ev.SpeechRecognized) and is_sensitive_node(
        menu, node_id
    ):
        for key in _INPUT_FIELDS:
            if key in payload:
                payload[key] = mask(str(payload[key]))
        payload["masked"] = True
    payload["node"] = node_id
    return NewEvent(type=event_type(event), payload=payload, at=event.at)


def outgoing(menu: Menu, actions: Iterable[act.Action], at: datetime) -> list[NewEvent]:
    """History events for what the engine decided, in order."""
    return [NewEvent(type=event_type(a), payload=_action_payload(menu, a), at=at) for a in actions]


def outcome_of(actions: Iterable[act.Action]) -> str | None:
    """The first outcome the engine declared, if any.

    The first one is what happened to the caller (e.g. ``transferred``); a later one in the
    same turn is only how the call was then closed (``completed`` at the goodbye node). The
    store keeps an interaction's first outcome across turns for the same reason.
    """
    return next((a.outcome for a in actions if isinstance(a, act.Outcome)), None)


def scrub(variables: Mapping[str, str], menu: Menu) -> dict[str, str]:
    """Variables with every sensitive collected value masked (for a call that has ended)."""
    sensitive = {
        n.variable for n in menu.nodes.values() if isinstance(n, CollectNode) and n.sensitive
    }
    return {k: mask(v) if k in sensitive else v for k, v in variables.items()}


def ended(state: CallState, menu: Menu) -> CallState:
    """What is kept of a call's state once it has ended: nothing sensitive in clear.

    Sensitive variables are masked; the prompts of the last wait and the choice being
    confirmed are dropped: a read-back of a sensitive value (one prompt per digit, and
    ``digits:<value>``) is among them, and an ended call waits for nothing. Every path that
    ends a call (the menu's hang-up, a status callback, a failure) commits its last turn
    through :class:`calls.service.CallService`, which applies this.
    """
    return replace(state, variables=scrub(state.variables, menu), prompts=(), confirming=None)


def _action_payload(menu: Menu, action: act.Action) -> dict[str, Any]:
    payload = {k: _jsonable(v) for k, v in asdict(action).items()}
    match action:
        case act.ValueCollected() if action.sensitive:
            payload["value"] = mask(action.value)
        case act.InputRejected() if is_sensitive_node(menu, action.node):
            payload["value"] = None if action.value is None else mask(action.value)
        case act.ConfirmationAsked() | act.Confirmed() if is_sensitive_node(menu, action.node):
            # The engine already masks these; masking again keeps the history safe regardless.
            payload["choice"], payload["masked"] = mask(action.choice), True
        case act.Prompt() if action.sensitive:
            # A read-back of a sensitive value: only its length may be kept.
            payload["text"], payload["masked"] = mask(action.text), True
    return payload


def _jsonable(value: object) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_jsonable(item) for item in value]
    return value
