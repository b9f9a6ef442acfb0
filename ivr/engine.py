"""The IVR engine: ``step(menu, state, event) -> (state, actions)``, pure and deterministic.

The engine never performs I/O and never reads a clock: every event carries its instant. A step
runs automatic nodes (say, goto, hours) until the call needs the caller (menu, collect) or
leaves the menu (transfer, queue, hangup), and returns the actions that get it there.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import Final

from config.menu import (
    INPUT_SPEECH,
    CollectNode,
    GotoNode,
    HangupNode,
    HoursNode,
    InputNode,
    Menu,
    MenuNode,
    Option,
    QueueNode,
    SayNode,
    TransferNode,
)
from config.menu import Prompt as PromptText
from ivr import actions as act
from ivr import events as ev
from ivr.hours import is_open, local_time
from ivr.matching import match_phrase, spoken_digits
from ivr.state import (
    PHASE_ENDED,
    PHASE_LISTENING,
    PHASE_NEW,
    PHASE_QUEUED,
    PHASE_TRANSFERRING,
    CallState,
)

# A validated menu has no cycle without input; this bound only stops a corrupt menu from
# spinning forever inside one webhook. No real menu chains 64 automatic nodes.
MAX_AUTOMATIC_HOPS: Final = 64

# A caller who has been asked for input this many times is stuck in a loop the format allows
# (e.g. a node whose fallback leads back to it, with a silent line), not in a conversation:
# ending the call bounds what a stuck call costs.
MAX_TURNS_PER_CALL: Final = 200

# Twilio DialCallStatus values that mean the other party was reached.
TRANSFER_CONNECTED: Final = frozenset({"completed", "answered"})

# QueueResult values after which the caller is no longer on the line.
QUEUE_CALLER_GONE: Final = frozenset({"bridged", "hangup", "redirected"})

Step = tuple[CallState, tuple[act.Action, ...]]


def new_call(menu: Menu) -> CallState:
    """The state of a call that has not reached the menu yet."""
    return CallState(menu_id=menu.id, language=menu.default_language)


def step(menu: Menu, state: CallState, event: ev.Event) -> Step:
    """Advance one call by one event.

    Args:
        menu: The validated menu the call is pinned to.
        state: The call's state as stored after the previous step.
        event: What just happened.

    Returns:
        The new state and the actions to render and record, in order.

    """
    if state.phase == PHASE_ENDED:
        return state, ()
    new_state, actions = _dispatch(menu, state, event)
    if new_state.phase == PHASE_LISTENING and new_state.turn > MAX_TURNS_PER_CALL:
        looped = act.FellBack(new_state.node, None, f"more than {MAX_TURNS_PER_CALL} turns")
        return _goodbye(menu, state, (looped,), outcome="failed")
    return new_state, actions


def _dispatch(menu: Menu, state: CallState, event: ev.Event) -> Step:
    match event:
        case ev.CallStarted():
            return _on_call_started(menu, state, event.at)
        case ev.DigitsEntered():
            return _on_input(menu, state, event.digits, event.at, spoken=False)
        case ev.SpeechRecognized():
            return _on_input(menu, state, event.transcript, event.at, spoken=True)
        case ev.NoInput():
            return _on_no_input(menu, state, event.at)
        case ev.TransferEnded():
            return _on_transfer_ended(menu, state, event)
        case ev.QueueResult():
            return _on_queue_result(menu, state, event)
        case ev.Failure():
            return _on_failure(menu, state, event)
        case ev.CallEnded():
            return _on_call_ended(state, event)


def _on_call_started(menu: Menu, state: CallState, at: datetime) -> Step:
    if state.phase != PHASE_NEW:
        return state, ()
    return _enter(menu, state, menu.start, (), at)


def _on_input(menu: Menu, state: CallState, value: str, at: datetime, *, spoken: bool) -> Step:
    node = _listening_node(menu, state)
    if node is None:
        return state, ()
    if isinstance(node, MenuNode):
        option = _choose(node, state.language, value, spoken=spoken)
        if option is None:
            return _reject(menu, state, node, "no_match", value, at)
        return _enter(menu, state, option.next, (), at)
    digits = spoken_digits(value) if spoken else value
    if digits is None or not _digits_valid(node, digits):
        return _reject(menu, state, node, "invalid", value, at)
    collected = act.ValueCollected(node.id, node.variable, digits, node.sensitive)
    state = replace(state, variables={**state.variables, node.variable: digits})
    return _enter(menu, state, node.next, (collected,), at)


def _on_no_input(menu: Menu, state: CallState, at: datetime) -> Step:
    node = _listening_node(menu, state)
    if node is None:
        return state, ()
    return _reject(menu, state, node, "no_input", None, at)


def _on_transfer_ended(menu: Menu, state: CallState, event: ev.TransferEnded) -> Step:
    node = menu.nodes.get(state.node)
    if state.phase != PHASE_TRANSFERRING or not isinstance(node, TransferNode):
        return state, ()
    if event.status in TRANSFER_CONNECTED:
        done = act.Outcome("transferred", f"{node.number} {event.duration_seconds}s")
        return _enter(menu, state, node.next, (done,), event.at)
    failed = act.FellBack(node.id, node.next, f"transfer {event.status}")
    sorry = _message(menu, state, "transfer_failed")
    return _enter(menu, state, node.next, (failed, sorry), event.at)


def _on_queue_result(menu: Menu, state: CallState, event: ev.QueueResult) -> Step:
    node = menu.nodes.get(state.node)
    if state.phase != PHASE_QUEUED or not isinstance(node, QueueNode):
        return state, ()
    if event.result in QUEUE_CALLER_GONE:
        outcome = "answered" if event.result == "bridged" else "abandoned"
        ended = replace(state, phase=PHASE_ENDED)
        return ended, (
            act.Outcome(outcome, f"{event.result} after {event.queue_seconds}s"),
            act.Hangup(),
        )
    sorry = _message(menu, state, "queue_unavailable")
    fell = act.FellBack(node.id, node.next, f"queue {event.result}")
    if node.next is None:
        return _goodbye(menu, state, (fell, sorry), outcome="failed")
    return _enter(menu, state, node.next, (fell, sorry), event.at)


def _on_failure(menu: Menu, state: CallState, event: ev.Failure) -> Step:
    sorry = _message(menu, state, "error")
    target = menu.fallback
    if target is None or target == state.node:
        # Failing at the fallback itself: routing there again could loop, so end politely.
        return _goodbye(
            menu, state, (act.FellBack(state.node, None, event.reason), sorry), outcome="failed"
        )
    fell = act.FellBack(state.node or menu.start, target, event.reason)
    return _enter(menu, state, target, (fell, sorry), event.at)


def _on_call_ended(state: CallState, event: ev.CallEnded) -> Step:
    ended = replace(state, phase=PHASE_ENDED)
    if state.phase in (PHASE_NEW, PHASE_LISTENING):
        return ended, (act.Outcome("abandoned", f"{event.status} at {state.node}"),)
    return ended, ()


def _listening_node(menu: Menu, state: CallState) -> InputNode | None:
    if state.phase != PHASE_LISTENING:
        return None
    node = menu.nodes.get(state.node)
    return node if isinstance(node, MenuNode | CollectNode) else None


def _choose(node: MenuNode, language: str, value: str, *, spoken: bool) -> Option | None:
    if spoken:
        return match_phrase(node.options, language, value)
    return next((o for o in node.options if o.key is not None and o.key == value), None)


def _digits_valid(node: CollectNode, digits: str) -> bool:
    # str.isdigit() alone also accepts other scripts' digits (e.g. Arabic-Indic, superscripts).
    ascii_digits = digits.isascii() and digits.isdigit()
    if not ascii_digits or not node.digits.min <= len(digits) <= node.digits.max:
        return False
    if node.pattern is None:
        return True
    return re.fullmatch(node.pattern, digits) is not None


def _reject(
    menu: Menu, state: CallState, node: InputNode, reason: str, value: str | None, at: datetime
) -> Step:
    attempt = state.attempts + 1
    rejected = act.InputRejected(node.id, reason, attempt, value)
    if attempt > node.retries:
        fell = act.FellBack(node.id, node.fallback, f"{reason} x{attempt}")
        if node.fallback is None:
            return _goodbye(menu, state, (rejected, fell), outcome="failed")
        return _enter(menu, state, node.fallback, (rejected, fell), at)
    custom = node.no_input_prompt if reason == "no_input" else node.no_match_prompt
    hint = (
        _prompt(custom, state)
        if custom is not None
        else _message(menu, state, "no_input" if reason == "no_input" else "no_match")
    )
    state = replace(state, attempts=attempt)
    state, listen = _listen(node, state, new_turn=True)
    return state, (rejected, hint, _prompt(node.prompt, state), listen)


def _enter(
    menu: Menu,
    state: CallState,
    node_id: str,
    before: tuple[act.Action, ...],
    at: datetime,
) -> Step:
    """Walk automatic nodes from ``node_id`` until the call waits or leaves the menu."""
    out: list[act.Action] = list(before)
    for _ in range(MAX_AUTOMATIC_HOPS):
        node = menu.node(node_id)
        out.append(act.NodeEntered(node.id, _type_name(node)))
        state = replace(state, node=node.id, attempts=0)
        match node:
            case SayNode():
                out.append(_prompt(node.prompt, state))
                node_id = node.next
            case GotoNode():
                node_id = node.next
            case HoursNode():
                node_id = _branch_on_hours(menu, node, state, out, at)
            case MenuNode() | CollectNode():
                out.append(_prompt(node.prompt, state))
                state, listen = _listen(node, state, new_turn=True)
                return state, (*out, listen)
            case TransferNode():
                return _transfer(node, state, out)
            case QueueNode():
                return _queue(node, state, out)
            case HangupNode():
                return _hang_up(node, state, out)
    return _goodbye(
        menu, state, (*out, act.FellBack(node_id, None, "too many hops")), outcome="failed"
    )


def _branch_on_hours(
    menu: Menu, node: HoursNode, state: CallState, out: list[act.Action], at: datetime
) -> str:
    schedule = menu.schedules[node.schedule]
    opened = is_open(schedule, at)
    out.append(
        act.HoursChecked(
            node.id, node.schedule, opened, local_time(schedule, at).isoformat(timespec="minutes")
        )
    )
    return node.open if opened else node.closed


def _listen(node: InputNode, state: CallState, *, new_turn: bool) -> tuple[CallState, act.Listen]:
    turn = state.turn + 1 if new_turn else state.turn
    state = replace(state, phase=PHASE_LISTENING, node=node.id, turn=turn)
    if isinstance(node, MenuNode):
        listen = act.Listen(
            node.id,
            turn,
            node.timeout,
            num_digits=1,
            finish_on_key="",
            speech=INPUT_SPEECH in node.input,
        )
    else:
        listen = act.Listen(
            node.id,
            turn,
            node.timeout,
            num_digits=node.digits.max,
            finish_on_key=node.finish_on_key,
            speech=INPUT_SPEECH in node.input,
        )
    return state, listen


def _transfer(node: TransferNode, state: CallState, out: list[act.Action]) -> Step:
    if node.prompt is not None:
        out.append(_prompt(node.prompt, state))
    state = replace(state, phase=PHASE_TRANSFERRING, turn=state.turn + 1)
    return state, (*out, act.Transfer(node.number, node.timeout, state.turn))


def _queue(node: QueueNode, state: CallState, out: list[act.Action]) -> Step:
    if node.prompt is not None:
        out.append(_prompt(node.prompt, state))
    state = replace(state, phase=PHASE_QUEUED, turn=state.turn + 1)
    return state, (*out, act.Enqueue(node.queue, state.turn))


def _hang_up(node: HangupNode, state: CallState, out: list[act.Action]) -> Step:
    if node.prompt is not None:
        out.append(_prompt(node.prompt, state))
    out.append(act.Outcome("completed", node.id))
    return replace(state, phase=PHASE_ENDED), (*out, act.Hangup())


def _goodbye(menu: Menu, state: CallState, before: tuple[act.Action, ...], *, outcome: str) -> Step:
    actions = (*before, _message(menu, state, "goodbye"), act.Outcome(outcome), act.Hangup())
    return replace(state, phase=PHASE_ENDED), actions


def _prompt(text: PromptText, state: CallState) -> act.Prompt:
    return act.Prompt(text[state.language], state.language)


def _message(menu: Menu, state: CallState, key: str) -> act.Prompt:
    return _prompt(menu.messages[key], state)


def _type_name(node: object) -> str:
    return type(node).__name__.removesuffix("Node").lower()
