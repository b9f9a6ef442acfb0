"""The IVR engine: ``step(menu, state, event) -> (state, actions)``, pure and deterministic.

The engine never performs I/O and never reads a clock: every event carries its instant. A step
runs automatic nodes (say, goto, hours) until the call needs the caller (menu, collect) or
leaves the menu (transfer, queue, hangup), and returns the actions that get it there.

A spoken answer is taken when its confidence reaches the node's ``accept`` threshold, read back
for a yes or no (`ivr.confirmation`) from ``confirm`` up to it, and is a no-match below.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Final

from config.menu import (
    CallbackNode,
    ChatNode,
    CollectNode,
    GotoNode,
    HangupNode,
    HoursNode,
    InputNode,
    Menu,
    MenuNode,
    QueueNode,
    SayNode,
    SurveyNode,
    TransferNode,
)
from config.menu import Prompt as PromptText
from ivr import actions as act
from ivr import escalation, offers, queueing
from ivr import events as ev
from ivr.choice import Choice, digits_choice, heard_choice, keyed_option, pending_choice
from ivr.confirmation import Answer, answered, ask, is_yes, thresholds
from ivr.hours import is_open, local_time
from ivr.listening import confirmation_listen, question_listen
from ivr.slots import offered_slots
from ivr.state import (
    PHASE_ENDED,
    PHASE_LISTENING,
    PHASE_NEW,
    PHASE_QUEUED,
    PHASE_TRANSFERRING,
    PHASE_WITH_AGENT,
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
        new_state, actions = _goodbye(menu, state, (looped,), outcome="failed")
    return _settled(new_state, actions), actions


def current_listen(menu: Menu, state: CallState) -> act.Listen | None:
    """The ``Listen`` of the call's current wait (same turn), or None when it is not waiting.

    A media-stream session uses it to pick up a wait rendered by an earlier step; while a
    choice is being confirmed, the wait is for a yes or a no.
    """
    node = _waiting_at(menu, state)
    if node is None:
        return None
    if state.confirming is not None:
        return confirmation_listen(node, state)
    return question_listen(node, state)


def _settled(state: CallState, actions: tuple[act.Action, ...]) -> CallState:
    """Note the prompts heard before a new wait; outside a wait, keep no prompts nor choice."""
    listen = next((i for i, a in enumerate(actions) if isinstance(a, act.Listen)), None)
    if listen is not None:
        heard = tuple((a.text, a.language) for a in actions[:listen] if isinstance(a, act.Prompt))
        return replace(state, prompts=heard)
    if state.phase != PHASE_LISTENING and (state.prompts or state.confirming is not None):
        # A read-back of a sensitive value must not outlive the wait it was asked in.
        return replace(state, prompts=(), confirming=None)
    return state


def _dispatch(menu: Menu, state: CallState, event: ev.Event) -> Step:
    match event:
        case ev.CallStarted():
            return _on_call_started(menu, state, event)
        case ev.DigitsEntered():
            return _on_digits(menu, state, event)
        case ev.SpeechRecognized():
            return _on_speech(menu, state, event)
        case ev.NoInput():
            return _on_no_input(menu, state, event)
        case ev.SpeechUnavailable():
            return _on_speech_unavailable(menu, state, event)
        case ev.TransferEnded():
            return _on_transfer_ended(menu, state, event)
        case ev.QueueResult():
            return queueing.left(menu, state, event, _enter, _goodbye_with)
        case ev.QueueWaited():
            return queueing.waited(menu, state, event)
        case ev.AgentReady():
            return queueing.agent_ready(state, event)
        case ev.AgentCallEnded():
            return queueing.agent_call_ended(menu, state, event, _enter, _goodbye_with)
        case ev.CallbackAnswered():
            return queueing.callback_answered(menu, state, event)
        case ev.Failure():
            return _on_failure(menu, state, event)
        case ev.Outage():
            return _on_outage(menu, state, event)
        case ev.CallEnded():
            return _on_call_ended(state, event)


def _on_call_started(menu: Menu, state: CallState, event: ev.CallStarted) -> Step:
    if state.phase != PHASE_NEW:
        return state, ()
    state = replace(state, caller=event.caller, called=event.called)
    if event.open_callback_id is not None:
        return queueing.start_with_open_callback(menu, state, event, _enter)
    return _enter(menu, state, menu.start, (), event.at)


def _waiting_at(menu: Menu, state: CallState) -> InputNode | None:
    """The input node the call waits at (the menu's, adapted or generated), or None."""
    return offers.input_node(menu, state) if state.phase == PHASE_LISTENING else None


def _on_digits(menu: Menu, state: CallState, event: ev.DigitsEntered) -> Step:
    if state.phase == PHASE_QUEUED:
        return queueing.key_pressed(menu, state, event)
    node = _waiting_at(menu, state)
    if node is None:
        return state, ()
    if state.confirming is not None:
        return _on_confirmation(menu, state, node, state.confirming, event)
    if isinstance(node, MenuNode):
        choice = keyed_option(node, event.digits, state.language)
    else:
        choice = digits_choice(node, event.digits)
    if choice is None:
        return _reject(menu, state, node, _mismatch(node), event.digits, event.at)
    return _take(menu, state, choice, (), event.at)


def _on_speech(menu: Menu, state: CallState, event: ev.SpeechRecognized) -> Step:
    node = _waiting_at(menu, state)
    if node is None:
        return state, ()
    if state.confirming is not None:
        return _on_confirmation(menu, state, node, state.confirming, event)
    choice = heard_choice(node, event.transcript, state.language)
    limits = thresholds(menu, node)
    if choice is None or event.confidence < limits.confirm:
        return _reject(menu, state, node, _mismatch(node), event.transcript, event.at)
    if event.confidence >= limits.accept:
        return _take(menu, state, choice, (), event.at)
    return ask(menu, state, node, choice)


def _on_no_input(menu: Menu, state: CallState, event: ev.NoInput) -> Step:
    node = _waiting_at(menu, state)
    if node is None:
        return state, ()
    if state.confirming is not None:
        return _on_confirmation(menu, state, node, state.confirming, event)
    return _reject(menu, state, node, "no_input", None, event.at)


def _on_confirmation(
    menu: Menu, state: CallState, node: InputNode, token: str, answer: Answer
) -> Step:
    """A yes takes the pending choice; anything else is a failed attempt at the node."""
    choice = pending_choice(node, token, state.language)
    state = replace(state, confirming=None)
    if choice is not None and is_yes(answer, state.language, thresholds(menu, node)):
        return _take(menu, state, choice, (act.Confirmed(node.id, choice.recorded),), answer.at)
    return _reject(menu, state, node, "not_confirmed", answered(answer), answer.at)


def _on_speech_unavailable(menu: Menu, state: CallState, event: ev.SpeechUnavailable) -> Step:
    """Ask the node again for the keypad only; the caller spent no attempt."""
    node = _waiting_at(menu, state)
    if node is None:
        return state, ()
    state = replace(state, confirming=None, turn=state.turn + 1)
    return state, (
        act.KeypadFallback(node.id, event.reason),
        *offers.question(menu, node, state, event.at),
        question_listen(node, state, speech=False),
    )


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


def _on_outage(menu: Menu, state: CallState, event: ev.Outage) -> Step:
    sorry = _message(menu, state, "error")
    target = menu.outage_route
    if target is None:
        fell = act.FellBack(state.node or menu.start, None, event.reason)
        return _goodbye(menu, state, (fell, sorry), outcome="failed")
    fell = act.FellBack(state.node or menu.start, target, event.reason)
    return _enter(menu, state, target, (fell, sorry), event.at)


def _on_call_ended(state: CallState, event: ev.CallEnded) -> Step:
    ended = replace(state, phase=PHASE_ENDED)
    if state.phase in (PHASE_NEW, PHASE_LISTENING):
        return ended, (act.Outcome("abandoned", f"{event.status} at {state.node}"),)
    if state.phase == PHASE_WITH_AGENT:
        # The customer hung up on the agent: no AgentCallEnded comes to say they were served.
        return ended, (act.Outcome("answered", f"{event.status} with an agent"),)
    return ended, ()


def _mismatch(node: InputNode) -> str:
    return "no_match" if isinstance(node, MenuNode) else "invalid"


def _take(
    menu: Menu, state: CallState, choice: Choice, before: tuple[act.Action, ...], at: datetime
) -> Step:
    """Go where ``choice`` leads, storing the value it collects (if any)."""
    collected = choice.collected
    if collected is not None:
        state = replace(state, variables={**state.variables, collected.variable: collected.value})
        before = (*before, collected)
    return _enter(menu, state, choice.next, before, at)


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
    state, listen = _listen(node, state)
    return state, (rejected, hint, *offers.question(menu, node, state, at), listen)


def _enter(
    menu: Menu,
    state: CallState,
    node_id: str,
    before: tuple[act.Action, ...],
    at: datetime,
) -> Step:
    """Walk automatic nodes from ``node_id`` until the call waits or leaves the menu."""
    out: list[act.Action] = list(before)
    state = replace(state, confirming=None)
    for _ in range(MAX_AUTOMATIC_HOPS):
        if node_id.startswith(offers.FLOW) and node_id != offers.OPEN_CALLBACK:
            return queueing.target(menu, state, node_id, tuple(out), at, _enter)
        if offers.FLOW in node_id:
            return _ask(menu, replace(state, node=node_id, attempts=0), out, at)
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
            case MenuNode() | CollectNode() | SurveyNode():
                return _ask(menu, state, out, at)
            case CallbackNode():
                slots = _slots(menu, node, state, at)
                if slots:
                    return _ask(menu, replace(state, offer=slots), out, at)
                out.append(_message(menu, state, "callback_no_slots"))
                node_id = node.next
            case TransferNode():
                return _transfer(node, state, out)
            case QueueNode():
                return queueing.enqueue(node, state, out, at)
            case ChatNode():
                escalated = escalation.escalate(menu, node, state, out, at)
                if escalated is not None:
                    return escalated
                out.extend(escalation.unavailable(menu, node, state))
                if node.next is None:
                    return _goodbye(menu, state, tuple(out), outcome="completed")
                node_id = node.next
            case HangupNode():
                return _hang_up(node, state, out)
    return _goodbye(
        menu, state, (*out, act.FellBack(node_id, None, "too many hops")), outcome="failed"
    )


def _ask(menu: Menu, state: CallState, out: list[act.Action], at: datetime) -> Step:
    """Ask the question of the input node the state is at and wait for the answer."""
    node = offers.input_node(menu, replace(state, phase=PHASE_LISTENING))
    if node is None:
        raise ValueError(f"node {state.node!r} takes no input")
    if offers.FLOW in node.id:
        out.append(act.NodeEntered(node.id, "question"))
    out.extend(offers.question(menu, node, state, at))
    state, listen = _listen(node, state)
    return state, (*out, listen)


def _slots(menu: Menu, node: CallbackNode, state: CallState, at: datetime) -> tuple[str, ...]:
    """The slots a callback node offers now (none for a caller who cannot be called back)."""
    if not offers.E164.fullmatch(state.caller):
        return ()
    schedule = menu.schedules[node.schedule]
    return tuple(start.isoformat() for start in offered_slots(node, schedule, at))


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


def _listen(node: InputNode, state: CallState) -> tuple[CallState, act.Listen]:
    """Wait (a new turn) for an answer to ``node``'s prompt."""
    state = replace(
        state, phase=PHASE_LISTENING, node=node.id, turn=state.turn + 1, confirming=None
    )
    return state, question_listen(node, state)


def _transfer(node: TransferNode, state: CallState, out: list[act.Action]) -> Step:
    if node.prompt is not None:
        out.append(_prompt(node.prompt, state))
    state = replace(state, phase=PHASE_TRANSFERRING, turn=state.turn + 1)
    return state, (*out, act.Transfer(node.number, node.timeout, state.turn))


def _hang_up(node: HangupNode, state: CallState, out: list[act.Action]) -> Step:
    if node.prompt is not None:
        out.append(_prompt(node.prompt, state))
    out.append(act.Outcome("completed", node.id))
    return replace(state, phase=PHASE_ENDED), (*out, act.Hangup())


def _goodbye_with(
    menu: Menu, state: CallState, before: tuple[act.Action, ...], outcome: str
) -> Step:
    return _goodbye(menu, state, before, outcome=outcome)


def _goodbye(menu: Menu, state: CallState, before: tuple[act.Action, ...], *, outcome: str) -> Step:
    actions = (*before, _message(menu, state, "goodbye"), act.Outcome(outcome), act.Hangup())
    return replace(state, phase=PHASE_ENDED), actions


def _prompt(text: PromptText, state: CallState) -> act.Prompt:
    return act.Prompt(text[state.language], state.language)


def _message(menu: Menu, state: CallState, key: str) -> act.Prompt:
    return _prompt(menu.messages[key], state)


def _type_name(node: object) -> str:
    return type(node).__name__.removesuffix("Node").lower()
