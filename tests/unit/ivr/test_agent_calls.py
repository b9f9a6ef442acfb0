"""An agent takes the call: the conference, what follows the agent, and our callback calls."""

from __future__ import annotations

from dataclasses import replace

import pytest
from waiting_support import (
    AT,
    BOOK,
    CALLER,
    PLACE,
    RATE,
    listening_at,
    message,
    queued,
    rate_listen,
    said,
    waiting_menu,
)

from config.menu import QueueNode
from config.messages import MessageKey
from ivr import actions as act
from ivr import events as ev
from ivr.engine import current_listen, step
from ivr.state import (
    PHASE_ENDED,
    PHASE_LISTENING,
    PHASE_NEW,
    PHASE_QUEUED,
    PHASE_WITH_AGENT,
    CallState,
)

MENU = waiting_menu()
RATE_LISTEN_TURN_5 = rate_listen(5)


def with_agent(node: str = "agents", *, turn: int = 4) -> CallState:
    return replace(queued(node, turn=turn), phase=PHASE_WITH_AGENT)


def callback_call(node: str = "agents", language: str = "ko") -> CallState:
    """Our outbound call to a customer, before they answer."""
    return CallState(
        menu_id="waiting", node=node, phase=PHASE_NEW, caller=CALLER, language=language
    )


# --- the agent --------------------------------------------------------------------------------


def test_agent_ready_joins_the_waiting_caller_to_the_agents_room_in_a_new_turn() -> None:
    state, actions = step(MENU, queued(turn=3), ev.AgentReady(AT, "room-7"))

    assert actions == (act.ConnectAgent("room-7", 4),)
    assert state == with_agent(turn=4)


def test_agent_ready_while_the_caller_is_leaving_for_a_callback_still_connects_them() -> None:
    state, actions = step(MENU, queued(turn=3, queue_exit="callback"), ev.AgentReady(AT, "r"))

    assert actions == (act.ConnectAgent("r", 4),)
    assert (state.phase, state.queue_exit) == (PHASE_WITH_AGENT, None)


@pytest.mark.parametrize(
    "state",
    [listening_at("main"), with_agent(), callback_call(), replace(queued(), phase=PHASE_ENDED)],
    ids=["listening", "with-agent", "new", "ended"],
)
def test_agent_ready_for_a_call_not_in_line_is_ignored(state: CallState) -> None:
    assert step(MENU, state, ev.AgentReady(AT, "room-7")) == (state, ())


def test_agent_hanging_up_leads_the_caller_to_the_after_agent_survey() -> None:
    state, actions = step(MENU, with_agent(turn=4), ev.AgentCallEnded(AT, 300))

    assert actions == (
        act.Outcome("answered", "with an agent for 300s"),
        act.NodeEntered("rate", "survey"),
        said(RATE),
        RATE_LISTEN_TURN_5,
    )
    assert (state.phase, state.node, state.turn) == (PHASE_LISTENING, "rate", 5)
    assert current_listen(MENU, state) == RATE_LISTEN_TURN_5


def test_agent_hanging_up_without_after_agent_says_goodbye() -> None:
    state, actions = step(MENU, with_agent("line"), ev.AgentCallEnded(AT, 42))

    assert actions[0] == act.Outcome("answered", "with an agent for 42s")
    assert actions[-2:] == (act.Outcome("answered"), act.Hangup())
    assert message(MessageKey.GOODBYE) in actions
    assert state.phase == PHASE_ENDED


@pytest.mark.parametrize(
    "state",
    [queued(), listening_at("rate"), callback_call()],
    ids=["queued", "listening", "new"],
)
def test_agent_call_ended_for_a_call_not_with_an_agent_is_ignored(state: CallState) -> None:
    assert step(MENU, state, ev.AgentCallEnded(AT, 300)) == (state, ())


@pytest.mark.parametrize(
    "event",
    [
        ev.DigitsEntered(AT, "1"),
        ev.NoInput(AT),
        ev.QueueWaited(AT, 60, 1, 1),
        ev.QueueResult(AT, "redirected", 60),
        ev.CallbackAnswered(AT, "room-2"),
    ],
    ids=["digits", "no-input", "hold-document", "queue-result", "callback-answered"],
)
def test_events_of_other_phases_do_nothing_while_the_caller_talks_to_an_agent(
    event: ev.Event,
) -> None:
    assert step(MENU, with_agent(), event) == (with_agent(), ())
    assert current_listen(MENU, with_agent()) is None


def test_customer_hanging_up_on_the_agent_was_answered() -> None:
    state, actions = step(MENU, with_agent(), ev.CallEnded(AT, "completed", 310))

    assert actions == (act.Outcome("answered", "completed with an agent"),)
    assert state.phase == PHASE_ENDED


def test_a_whole_wait_from_the_queue_to_the_rating() -> None:
    state, _ = step(MENU, listening_at("main", turn=1), ev.DigitsEntered(AT, "0"))
    state, _ = step(MENU, state, ev.QueueWaited(AT, 30, 2, 1))
    state, _ = step(MENU, state, ev.AgentReady(AT, "room-1"))
    state, _ = step(MENU, state, ev.AgentCallEnded(AT, 120))
    state, actions = step(MENU, state, ev.DigitsEntered(AT, "5"))

    assert act.SurveyAnswered("rate", 5, 5) in actions
    assert state.phase == PHASE_ENDED


# --- our callback calls -----------------------------------------------------------------------


def test_answered_agent_first_callback_greets_then_joins_the_agents_room() -> None:
    state, actions = step(MENU, callback_call(), ev.CallbackAnswered(AT, "room-9"))

    assert actions == (
        act.NodeEntered("agents", "callback_call"),
        message(MessageKey.CALLBACK_GREETING),
        act.ConnectAgent("room-9", 1),
    )
    assert (state.phase, state.turn) == (PHASE_WITH_AGENT, 1)


def test_answered_customer_first_callback_waits_at_the_original_place() -> None:
    state, actions = step(MENU, callback_call(), ev.CallbackAnswered(AT, None, PLACE))

    assert actions == (
        act.NodeEntered("agents", "callback_call"),
        message(MessageKey.CALLBACK_GREETING),
        act.Enqueue("general", 1, "agents", place=PLACE),
    )
    assert (state.phase, state.queued_at) == (PHASE_QUEUED, PLACE.isoformat())


def test_customer_first_callback_without_a_place_joins_the_line_now() -> None:
    _, actions = step(MENU, callback_call(), ev.CallbackAnswered(AT, None))

    assert actions[-1] == act.Enqueue("general", 1, "agents", place=AT)


def test_greeting_is_said_in_the_customers_language() -> None:
    _, actions = step(MENU, callback_call(language="en"), ev.CallbackAnswered(AT, "room-9"))

    assert actions[1] == act.Prompt(
        "Hello, this is the call back you asked for. Please hold for an agent.", "en"
    )


def test_callback_booked_at_a_callback_node_waits_in_that_nodes_queue() -> None:
    menu = waiting_menu(replace(BOOK, queue="vip"))

    _, actions = step(menu, callback_call("book"), ev.CallbackAnswered(AT, None, PLACE))

    assert actions[0] == act.NodeEntered("book", "callback_call")
    assert actions[-1] == act.Enqueue("vip", 1, "book", place=PLACE)


def test_agent_hanging_up_on_a_booked_callback_follows_the_callback_nodes_after_agent() -> None:
    state, _ = step(MENU, callback_call("book"), ev.CallbackAnswered(AT, "room-3"))

    state, actions = step(MENU, state, ev.AgentCallEnded(AT, 90))

    assert actions[:2] == (
        act.Outcome("answered", "with an agent for 90s"),
        act.NodeEntered("rate", "survey"),
    )
    assert state.node == "rate"


def test_agent_hanging_up_on_a_booked_callback_without_after_agent_says_goodbye() -> None:
    menu = waiting_menu(replace(BOOK, after_agent=None))
    state, _ = step(menu, callback_call("book"), ev.CallbackAnswered(AT, "room-3"))

    state, actions = step(menu, state, ev.AgentCallEnded(AT, 90))

    assert actions[-1] == act.Hangup()
    assert state.phase == PHASE_ENDED


def test_customer_hanging_up_in_the_line_of_a_booked_callback_ends_the_call() -> None:
    waiting, _ = step(MENU, callback_call("book"), ev.CallbackAnswered(AT, None, PLACE))

    state, actions = step(MENU, waiting, ev.QueueResult(AT, "hangup", 12))

    assert actions == (
        act.QueueLeft("book", "general", "hangup", 12),
        act.Outcome("abandoned", "hangup after 12s"),
        act.Hangup(),
    )
    assert state.phase == PHASE_ENDED


def test_customer_bridged_from_the_line_of_a_booked_callback_goes_on_to_after_agent() -> None:
    waiting, _ = step(MENU, callback_call("book"), ev.CallbackAnswered(AT, None, PLACE))

    state, actions = step(MENU, waiting, ev.QueueResult(AT, "bridged", 12))

    assert actions[:3] == (
        act.QueueLeft("book", "general", "bridged", 12),
        act.Outcome("answered", "bridged after 12s"),
        act.NodeEntered("rate", "survey"),
    )
    assert state.node == "rate"


def test_line_of_a_booked_callback_that_fails_apologises_and_says_goodbye() -> None:
    waiting, _ = step(MENU, callback_call("book"), ev.CallbackAnswered(AT, None, PLACE))

    state, actions = step(MENU, waiting, ev.QueueResult(AT, "queue-full"))

    assert actions == (
        act.QueueLeft("book", "general", "queue-full", 0),
        act.FellBack("book", None, "queue queue-full"),
        message(MessageKey.QUEUE_UNAVAILABLE),
        message(MessageKey.GOODBYE),
        act.Outcome("failed"),
        act.Hangup(),
    )
    assert state.phase == PHASE_ENDED


def test_customer_waiting_for_a_booked_callback_hears_hold_documents() -> None:
    waiting, _ = step(MENU, callback_call("book"), ev.CallbackAnswered(AT, None, PLACE))

    _, actions = step(MENU, waiting, ev.QueueWaited(AT, 30, 1, 2))

    assert actions == (
        message(MessageKey.QUEUE_POSITION, position="1", minutes="2"),
        act.Hold(QueueNode.announce_every),
    )


@pytest.mark.parametrize(
    "state",
    [queued(), with_agent(), listening_at("main"), replace(callback_call(), node="main")],
    ids=["queued", "with-agent", "listening", "new-at-a-menu-node"],
)
def test_callback_answered_twice_or_at_a_node_that_takes_no_call_is_ignored(
    state: CallState,
) -> None:
    assert step(MENU, state, ev.CallbackAnswered(AT, "room-9", PLACE)) == (state, ())
