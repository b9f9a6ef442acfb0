"""Waiting for an agent: hold documents, the callback and chat offers, leaving, the agent's call.

The engine hands these steps here with its ``enter`` (walk to a node) so that this module adds
no import cycle; every function is pure like the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from config.menu import CallbackNode, Menu, QueueNode, SurveyNode
from config.messages import MINUTES_PLACEHOLDER, POSITION_PLACEHOLDER, SLOT_PLACEHOLDER, MessageKey
from ivr import actions as act
from ivr import escalation, offers
from ivr import events as ev
from ivr.slots import spoken_slot, stored_slot
from ivr.state import PHASE_ENDED, PHASE_QUEUED, PHASE_WITH_AGENT, CallState

Step = tuple[CallState, tuple[act.Action, ...]]
Enter = Callable[[Menu, CallState, str, tuple[act.Action, ...], datetime], Step]
"""The engine's walk to a node: ``enter(menu, state, node_id, before, at)``."""
Goodbye = Callable[[Menu, CallState, tuple[act.Action, ...], str], Step]
"""The engine's goodbye: ``goodbye(menu, state, before, outcome)``."""

# QueueResult values after which the caller is no longer on the line with us.
CALLER_GONE: Final = frozenset({"bridged", "hangup"})
REDIRECTED: Final = "redirected"
EXIT_CALLBACK: Final = "callback"
EXIT_OVERFLOW: Final = "overflow"
EXIT_CHAT: Final = escalation.FROM_QUEUE
OFFER_KEY: Final = "1"
CHAT_KEY: Final = "2"
# Seconds the caller has to press the offer's key before the hold audio goes on.
OFFER_TIMEOUT_SECONDS: Final = 5
# Below a minute the estimate is still said as "about one minute": "zero minutes" is a promise.
MIN_ANNOUNCED_MINUTES: Final = 1


def enqueue(node: QueueNode, state: CallState, out: list[act.Action], at: datetime) -> Step:
    """Put the caller in ``node``'s queue at the back of the line (``at``)."""
    if node.prompt is not None:
        out.append(act.Prompt(node.prompt[state.language], state.language))
    return join(state, node.id, node.queue, at, tuple(out))


def join(
    state: CallState, node_id: str, queue: str, place: datetime, before: tuple[act.Action, ...]
) -> Step:
    """Wait in ``queue`` at ``place`` in line (a new turn; the place is kept in the state)."""
    state = replace(
        state,
        node=node_id,
        phase=PHASE_QUEUED,
        turn=state.turn + 1,
        queued_at=place.isoformat(),
        queue_exit=None,
    )
    return state, (*before, act.Enqueue(queue, state.turn, node_id, place))


def waited(menu: Menu, state: CallState, event: ev.QueueWaited) -> Step:
    """The next hold document: position and wait, the callback offer when due, hold audio."""
    node = menu.nodes.get(state.node)
    if state.phase != PHASE_QUEUED or state.queue_exit is not None:
        return state, ()
    language = state.language
    limit = node.max_wait if isinstance(node, QueueNode) else None
    if limit is not None and event.waited_seconds >= limit:
        return replace(state, queue_exit=EXIT_OVERFLOW), (act.Leave(),)
    actions: list[act.Action] = [_announcement(menu, event, language)]
    offers_made = 0
    if isinstance(node, QueueNode) and _offers_callback(node, event.waited_seconds):
        offer = menu.messages[MessageKey.QUEUE_OFFER_CALLBACK][language]
        actions.append(act.Prompt(offer, language))
        offers_made += 1
    if isinstance(node, QueueNode) and _offers_chat(node, state, event.waited_seconds):
        offer = menu.messages[MessageKey.QUEUE_OFFER_CHAT][language]
        actions.append(act.Prompt(offer, language))
        offers_made += 1
    if offers_made:
        actions.append(act.Offer(state.turn, OFFER_TIMEOUT_SECONDS))
    hold = node.announce_every if isinstance(node, QueueNode) else QueueNode.announce_every
    actions.append(act.Hold(hold))
    return state, tuple(actions)


def key_pressed(menu: Menu, state: CallState, event: ev.DigitsEntered) -> Step:
    """A key pressed at an offer while waiting: 1 leaves for a callback, 2 for a chat."""
    node = menu.nodes.get(state.node)
    if state.queue_exit is not None or not isinstance(node, QueueNode):
        return state, ()
    if event.digits == OFFER_KEY and node.offer_callback_after is not None:
        return replace(state, queue_exit=EXIT_CALLBACK), (act.Leave(),)
    if (
        event.digits == CHAT_KEY
        and node.offer_chat is not None
        and offers.E164.fullmatch(state.caller)
    ):
        return replace(state, queue_exit=EXIT_CHAT), (act.Leave(),)
    no_match = menu.messages[MessageKey.NO_MATCH][state.language]
    return state, (act.Prompt(no_match, state.language),)


def left(
    menu: Menu, state: CallState, event: ev.QueueResult, enter: Enter, goodbye: Goodbye
) -> Step:
    """The caller left the queue: for a callback, for overflow, served, or the queue failed."""
    node = menu.nodes.get(state.node)
    # A customer answering a callback booked at a callback node waits in that node's queue.
    if state.phase != PHASE_QUEUED or not isinstance(node, QueueNode | CallbackNode):
        return state, ()
    if event.result == REDIRECTED:
        # Taken out of the line by REST (the ACD, for an agent): Twilio reports it here at
        # once and runs the redirect's own TwiML, which brings the AgentReady.
        return state, ()
    gone = act.QueueLeft(node.id, node.queue, _result(state, event), event.queue_seconds)
    if isinstance(node, QueueNode) and event.result == "leave":
        if state.queue_exit == EXIT_CALLBACK:
            first = "callback" if offers.E164.fullmatch(state.caller) else "number"
            return enter(menu, state, f"{node.id}{offers.FLOW}{first}", (gone,), event.at)
        if state.queue_exit == EXIT_CHAT and node.offer_chat:
            # The chat keeps the caller's place: `queued_at` stays in the state.
            return enter(menu, state, node.offer_chat, (gone,), event.at)
        if state.queue_exit == EXIT_OVERFLOW and node.overflow:
            fell = act.FellBack(node.id, node.overflow, f"waited {event.queue_seconds}s")
            return enter(menu, state, node.overflow, (gone, fell), event.at)
    detail = f"{event.result} after {event.queue_seconds}s"
    if event.result == "bridged" and node.after_agent is not None:
        # Twilio reports a bridge (an agent's <Dial><Queue>) once the agent hangs up, and the
        # caller goes on with this answer: on to the survey.
        answered = act.Outcome("answered", detail)
        return enter(menu, state, node.after_agent, (gone, answered), event.at)
    if event.result in CALLER_GONE:
        outcome = "answered" if event.result == "bridged" else "abandoned"
        ended = replace(state, phase=PHASE_ENDED)
        return ended, (gone, act.Outcome(outcome, detail), act.Hangup())
    sorry = _message(menu, state, MessageKey.QUEUE_UNAVAILABLE)
    # A callback node's `next` follows a booking, not a failed line.
    onward = node.next if isinstance(node, QueueNode) else None
    fell = act.FellBack(node.id, onward, f"queue {event.result}")
    if onward is None:
        return goodbye(menu, state, (gone, fell, sorry), "failed")
    return enter(menu, state, onward, (gone, fell, sorry), event.at)


def agent_ready(state: CallState, event: ev.AgentReady) -> Step:
    """An agent answered: the caller, taken out of the line, joins the agent's room."""
    if state.phase != PHASE_QUEUED:
        return state, ()
    state = replace(state, phase=PHASE_WITH_AGENT, turn=state.turn + 1, queue_exit=None)
    return state, (act.ConnectAgent(event.room, state.turn),)


def callback_answered(menu: Menu, state: CallState, event: ev.CallbackAnswered) -> Step:
    """Our callback call was answered: greet, then join the agent (or wait at the old place)."""
    node = menu.nodes.get(state.node)
    if state.phase not in ("new",) or not isinstance(node, QueueNode | CallbackNode):
        return state, ()
    greeting = act.Prompt(
        menu.messages[MessageKey.CALLBACK_GREETING][state.language], state.language
    )
    entered = act.NodeEntered(node.id, "callback_call")
    if event.room is not None:
        state = replace(state, phase=PHASE_WITH_AGENT, turn=state.turn + 1)
        return state, (entered, greeting, act.ConnectAgent(event.room, state.turn))
    return join(state, node.id, node.queue, event.place or event.at, (entered, greeting))


def agent_call_ended(
    menu: Menu, state: CallState, event: ev.AgentCallEnded, enter: Enter, goodbye: Goodbye
) -> Step:
    """The agent hung up: on to the node's ``after_agent`` (a survey), else goodbye."""
    if state.phase != PHASE_WITH_AGENT:
        return state, ()
    node = menu.nodes.get(state.node)
    served = act.Outcome("answered", f"with an agent for {event.duration_seconds}s")
    after = node.after_agent if isinstance(node, QueueNode | CallbackNode) else None
    if after is None:
        return goodbye(menu, state, (served,), "answered")
    return enter(menu, state, after, (served,), event.at)


def target(
    menu: Menu, state: CallState, name: str, before: tuple[act.Action, ...], at: datetime,
    enter: Enter,
) -> Step:  # fmt: skip
    """Carry out an option's target (`ivr.offers`): book, rejoin, keep, cancel, rate, slot."""
    node = menu.nodes.get(state.node)
    if name.startswith(offers.BOOK):
        queue = menu.nodes[name.removeprefix(offers.BOOK)]
        assert isinstance(queue, QueueNode)
        return _book_queued(menu, state, queue, before, at)
    if name.startswith(offers.REQUEUE):
        queue = menu.nodes[name.removeprefix(offers.REQUEUE)]
        assert isinstance(queue, QueueNode)
        place = datetime.fromisoformat(state.queued_at) if state.queued_at else at
        return join(state, queue.id, queue.queue, place, before)
    if name in (offers.KEEP, offers.CANCEL):
        return _open_callback_answered(menu, state, name, before, at, enter)
    if isinstance(node, SurveyNode):
        return _rated(menu, state, node, name, before, at, enter)
    if isinstance(node, CallbackNode):
        return _slot_chosen(menu, state, node, name, before, at, enter)
    raise ValueError(f"unknown target {name!r} at node {state.node!r}")


def start_with_open_callback(
    menu: Menu, state: CallState, event: ev.CallStarted, enter: Enter
) -> Step:
    """A caller with an open callback is first asked whether to keep it."""
    assert event.open_callback_id is not None
    due = ""
    if event.open_callback_due is not None:
        # Said on the business's clock, and never in the past: a callback keeping its place
        # in line is due from the moment it was asked, and is made as soon as an agent is free.
        when = max(event.open_callback_due, event.at)
        zones = [ZoneInfo(schedule.timezone) for schedule in menu.schedules.values()]
        due = (when.astimezone(zones[0]) if zones else when).isoformat()
    state = replace(state, offer=(str(event.open_callback_id), due))
    return enter(menu, state, offers.OPEN_CALLBACK, (), event.at)


def _announcement(menu: Menu, event: ev.QueueWaited, language: str) -> act.Prompt:
    if event.position is None or event.expected_minutes is None:
        return act.Prompt(menu.messages[MessageKey.QUEUE_WAIT_UNKNOWN][language], language)
    minutes = max(MIN_ANNOUNCED_MINUTES, event.expected_minutes)
    text = menu.messages[MessageKey.QUEUE_POSITION][language]
    text = text.replace(POSITION_PLACEHOLDER, str(event.position))
    return act.Prompt(text.replace(MINUTES_PLACEHOLDER, str(minutes)), language)


def _offers_callback(node: QueueNode, waited_seconds: int) -> bool:
    return node.offer_callback_after is not None and waited_seconds >= node.offer_callback_after


def _offers_chat(node: QueueNode, state: CallState, waited_seconds: int) -> bool:
    # Only a caller whose number can take the link's text is offered a chat.
    return (
        node.offer_chat is not None
        and offers.E164.fullmatch(state.caller) is not None
        and waited_seconds >= node.offer_chat_after
    )


def _result(state: CallState, event: ev.QueueResult) -> str:
    if event.result == "leave" and state.queue_exit is not None:
        return state.queue_exit
    return event.result


def _book_queued(
    menu: Menu, state: CallState, queue: QueueNode, before: tuple[act.Action, ...], at: datetime
) -> Step:
    entered = state.variables.get(offers.CALLBACK_NUMBER)
    # A withheld caller keys a national number: the line they dialled gives its country.
    home = state.caller if offers.E164.fullmatch(state.caller) else state.called
    phone = offers.international(entered, home) if entered else state.caller
    place = datetime.fromisoformat(state.queued_at) if state.queued_at else at
    booked = act.ScheduleCallback(
        "queued", phone, queue.queue, queue.id, place, at, queue.callback_sms
    )
    said = [_message(menu, state, MessageKey.CALLBACK_QUEUED)]
    if queue.callback_sms:
        said.append(_message(menu, state, MessageKey.CALLBACK_SMS_NOTE))
    goodbye = _message(menu, state, MessageKey.GOODBYE)
    done = act.Outcome("callback_requested", "queued")
    ended = replace(state, phase=PHASE_ENDED)
    return ended, (*before, booked, *said, goodbye, done, act.Hangup())


def _open_callback_answered(
    menu: Menu, state: CallState, name: str, before: tuple[act.Action, ...], at: datetime,
    enter: Enter,
) -> Step:  # fmt: skip
    callback_id = int(state.offer[0]) if state.offer and state.offer[0].isdigit() else None
    state = replace(state, offer=())
    said: tuple[act.Action, ...]
    if name == offers.CANCEL and callback_id is not None:
        said = (
            act.CancelCallback(callback_id),
            _message(menu, state, MessageKey.CALLBACK_CANCELLED),
        )
    else:
        said = (_message(menu, state, MessageKey.CALLBACK_KEPT),)
    return enter(menu, state, menu.start, (*before, *said), at)


def _rated(
    menu: Menu, state: CallState, node: SurveyNode, name: str, before: tuple[act.Action, ...],
    at: datetime, enter: Enter,
) -> Step:  # fmt: skip
    if name == offers.UNRATED:
        return enter(menu, state, node.next, before, at)
    rating = int(name.removeprefix(offers.RATE))
    thanks = node.thanks or menu.messages[MessageKey.SURVEY_THANKS]
    said = act.Prompt(thanks[state.language], state.language)
    rated = act.SurveyAnswered(node.id, rating, node.scale)
    return enter(menu, state, node.next, (*before, rated, said), at)


def _slot_chosen(
    menu: Menu, state: CallState, node: CallbackNode, name: str, before: tuple[act.Action, ...],
    at: datetime, enter: Enter,
) -> Step:  # fmt: skip
    offered, state = state.offer, replace(state, offer=())
    if name == offers.DECLINE or not name.startswith(offers.SLOT):
        return enter(menu, state, node.next, before, at)
    schedule = menu.schedules[node.schedule]
    start = stored_slot(offered[int(name.removeprefix(offers.SLOT))], schedule)
    slot = spoken_slot(start, state.language, at)
    booked = act.ScheduleCallback(
        "scheduled", state.caller, node.queue, node.id, start, start, node.sms, slot
    )
    text = menu.messages[MessageKey.CALLBACK_BOOKED][state.language].replace(SLOT_PLACEHOLDER, slot)
    said = [act.Prompt(text, state.language)]
    if node.sms:
        said.append(_message(menu, state, MessageKey.CALLBACK_SMS_NOTE))
    return enter(menu, state, node.next, (*before, booked, *said), at)


def _message(menu: Menu, state: CallState, key: MessageKey) -> act.Prompt:
    return act.Prompt(menu.messages[key][state.language], state.language)
