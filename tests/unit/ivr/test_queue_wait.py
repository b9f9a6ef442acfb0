"""Waiting in a queue: joining the line, hold documents, keys in the wait, leaving the line."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from waiting_support import (
    AGENTS,
    AT,
    LINE,
    PLACE,
    RATE,
    bye,
    listening_at,
    message,
    queued,
    rate_listen,
    said,
    waiting_menu,
)

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


def waited(seconds: int, position: int | None = 3, minutes: int | None = 4) -> ev.QueueWaited:
    return ev.QueueWaited(AT, seconds, position, minutes)


def position(where: int, minutes: int, language: str = "ko") -> act.Prompt:
    return message(MessageKey.QUEUE_POSITION, language, position=str(where), minutes=str(minutes))


# --- joining the line -------------------------------------------------------------------------


def test_entering_a_queue_node_says_its_prompt_and_joins_the_line_now() -> None:
    state, actions = step(MENU, listening_at("main", turn=1), ev.DigitsEntered(AT, "0"))

    assert actions == (
        act.NodeEntered("agents", "queue"),
        said(AGENTS),
        act.Enqueue("general", 2, "agents", place=AT),
    )
    assert (state.phase, state.node, state.turn) == (PHASE_QUEUED, "agents", 2)
    assert (state.queued_at, state.queue_exit) == (AT.isoformat(), None)


def test_queue_node_without_a_prompt_joins_the_line_silently() -> None:
    _, actions = step(MENU, listening_at("main", turn=1), ev.DigitsEntered(AT, "2"))

    assert actions == (act.NodeEntered("line", "queue"), act.Enqueue("general", 2, "line", AT))


def test_place_in_line_survives_the_calls_row() -> None:
    state = queued(queue_exit="callback")

    stored = CallState.from_dict(json.loads(json.dumps(state.to_dict())))

    assert stored == state
    assert stored.queued_at == PLACE.isoformat()


# --- hold documents ---------------------------------------------------------------------------


def test_hold_document_says_position_and_expected_wait_then_holds_for_announce_every() -> None:
    state, actions = step(MENU, queued(), waited(30, position=3, minutes=4))

    assert actions == (
        act.Prompt("고객님의 대기 순서는 3번째이며, 예상 대기 시간은 약 4분입니다.", "ko"),
        act.Hold(45),
    )
    assert state == queued()


def test_hold_document_is_said_in_the_call_language() -> None:
    _, actions = step(MENU, queued(language="en"), waited(30, position=2, minutes=7))

    assert actions[0] == act.Prompt(
        "You are number 2 in line. The expected wait is about 7 minutes.", "en"
    )


def test_expected_wait_under_a_minute_is_said_as_one_minute() -> None:
    _, actions = step(MENU, queued(), waited(30, position=1, minutes=0))

    assert actions[0] == position(1, 1)


@pytest.mark.parametrize(
    ("where", "minutes"), [(None, 4), (3, None), (None, None)], ids=["position", "minutes", "both"]
)
def test_hold_document_without_an_estimate_says_the_wait_is_unknown(
    where: int | None, minutes: int | None
) -> None:
    _, actions = step(MENU, queued(), waited(30, where, minutes))

    assert actions == (message(MessageKey.QUEUE_WAIT_UNKNOWN), act.Hold(45))


def test_callback_is_offered_once_the_wait_reaches_offer_callback_after() -> None:
    state, actions = step(MENU, queued(turn=3), waited(60))

    assert actions == (
        position(3, 4),
        message(MessageKey.QUEUE_OFFER_CALLBACK),
        act.Offer(3, 5),
        act.Hold(45),
    )
    assert state == queued(turn=3)


def test_callback_is_not_offered_before_offer_callback_after() -> None:
    _, actions = step(MENU, queued(), waited(59))

    assert not any(isinstance(a, act.Offer) for a in actions)
    assert message(MessageKey.QUEUE_OFFER_CALLBACK) not in actions


def test_callback_is_offered_from_the_first_announcement_when_offer_callback_after_is_zero() -> (
    None
):
    menu = waiting_menu(replace(AGENTS, offer_callback_after=0))

    _, actions = step(menu, queued(), waited(0, None, None))

    assert actions == (
        message(MessageKey.QUEUE_WAIT_UNKNOWN),
        message(MessageKey.QUEUE_OFFER_CALLBACK),
        act.Offer(1, 5),
        act.Hold(45),
    )


def test_queue_without_offer_callback_after_never_offers_a_callback() -> None:
    _, actions = step(MENU, queued("line"), waited(7200))

    assert actions == (position(3, 4), act.Hold(30))


def test_reaching_max_wait_takes_the_caller_out_of_the_line_for_overflow() -> None:
    state, actions = step(MENU, queued(turn=4), waited(900))

    assert actions == (act.Leave(),)
    assert state == queued(turn=4, queue_exit="overflow")


def test_just_below_max_wait_the_wait_goes_on() -> None:
    state, actions = step(MENU, queued(), waited(899))

    assert actions[-1] == act.Hold(45)
    assert state.queue_exit is None


def test_hold_document_after_the_caller_is_leaving_is_empty() -> None:
    leaving = queued(queue_exit="callback")

    assert step(MENU, leaving, waited(120)) == (leaving, ())


@pytest.mark.parametrize(
    "state",
    [
        listening_at("main"),
        replace(queued(), phase=PHASE_WITH_AGENT),
        replace(queued(), phase=PHASE_NEW),
        replace(queued(), phase=PHASE_ENDED),
    ],
    ids=["listening", "with-agent", "new", "ended"],
)
def test_hold_document_for_a_call_not_in_line_is_empty(state: CallState) -> None:
    assert step(MENU, state, waited(120)) == (state, ())


def test_a_long_wait_never_changes_the_turn() -> None:
    state = queued(turn=5)
    for seconds in range(0, 900, 45):
        state, _ = step(MENU, state, waited(seconds))

    assert state == queued(turn=5)


# --- keys in the wait -------------------------------------------------------------------------


def test_key_1_at_the_offer_takes_the_caller_out_of_the_line_for_a_callback() -> None:
    state, actions = step(MENU, queued(turn=3), ev.DigitsEntered(AT, "1"))

    assert actions == (act.Leave(),)
    assert state == queued(turn=3, queue_exit="callback")


@pytest.mark.parametrize("key", ["2", "0", "*", "11"])
def test_another_key_in_the_wait_says_no_match_and_the_wait_goes_on(key: str) -> None:
    state, actions = step(MENU, queued(turn=3), ev.DigitsEntered(AT, key))

    assert actions == (message(MessageKey.NO_MATCH),)
    assert state == queued(turn=3)


def test_key_1_in_a_line_without_a_callback_offer_is_a_no_match() -> None:
    state, actions = step(MENU, queued("line"), ev.DigitsEntered(AT, "1"))

    assert actions == (message(MessageKey.NO_MATCH),)
    assert state.queue_exit is None


def test_a_key_after_the_caller_is_leaving_does_nothing() -> None:
    leaving = queued(queue_exit="overflow")

    assert step(MENU, leaving, ev.DigitsEntered(AT, "1")) == (leaving, ())


@pytest.mark.parametrize(
    "event",
    [ev.SpeechRecognized(AT, "일", 0.99), ev.NoInput(AT), ev.SpeechUnavailable(AT, "full")],
    ids=["speech", "no-input", "speech-unavailable"],
)
def test_answers_meant_for_a_question_do_nothing_in_the_wait(event: ev.Event) -> None:
    assert step(MENU, queued(), event) == (queued(), ())


def test_a_call_in_line_waits_for_no_answer() -> None:
    assert current_listen(MENU, queued()) is None


# --- leaving the line -------------------------------------------------------------------------


def test_leaving_for_overflow_records_it_and_falls_back_to_the_overflow_node() -> None:
    state, actions = step(MENU, queued(queue_exit="overflow"), ev.QueueResult(AT, "leave", 900))

    assert actions[:3] == (
        act.QueueLeft("agents", "general", "overflow", 900),
        act.FellBack("agents", "book", "waited 900s"),
        act.NodeEntered("book", "callback"),
    )
    assert (state.phase, state.node) == (PHASE_LISTENING, "book")


def test_caller_hanging_up_in_line_ends_the_call() -> None:
    state, actions = step(MENU, queued(), ev.QueueResult(AT, "hangup", 37))

    assert actions == (
        act.QueueLeft("agents", "general", "hangup", 37),
        act.Outcome("abandoned", "hangup after 37s"),
        act.Hangup(),
    )
    assert state.phase == PHASE_ENDED


def test_caller_bridged_to_an_agent_goes_on_to_after_agent() -> None:
    state, actions = step(MENU, queued(turn=2), ev.QueueResult(AT, "bridged", 37))

    assert actions == (
        act.QueueLeft("agents", "general", "bridged", 37),
        act.Outcome("answered", "bridged after 37s"),
        act.NodeEntered("rate", "survey"),
        said(RATE),
        rate_listen(3),
    )
    assert (state.phase, state.node) == (PHASE_LISTENING, "rate")


def test_caller_bridged_to_an_agent_without_after_agent_ends_the_call() -> None:
    state, actions = step(MENU, queued("line"), ev.QueueResult(AT, "bridged", 37))

    assert actions == (
        act.QueueLeft("line", "general", "bridged", 37),
        act.Outcome("answered", "bridged after 37s"),
        act.Hangup(),
    )
    assert state.phase == PHASE_ENDED


def test_caller_hanging_up_after_pressing_1_is_recorded_as_a_hang_up() -> None:
    _, actions = step(MENU, queued(queue_exit="callback"), ev.QueueResult(AT, "hangup", 80))

    assert actions == (
        act.QueueLeft("agents", "general", "hangup", 80),
        act.Outcome("abandoned", "hangup after 80s"),
        act.Hangup(),
    )


@pytest.mark.parametrize("result", ["queue-full", "error", "system-error"])
def test_queue_that_cannot_take_the_caller_apologises_and_goes_on_to_next(result: str) -> None:
    state, actions = step(MENU, queued(), ev.QueueResult(AT, result))

    assert actions == (
        act.QueueLeft("agents", "general", result, 0),
        act.FellBack("agents", "bye", f"queue {result}"),
        message(MessageKey.QUEUE_UNAVAILABLE),
        *bye(),
    )
    assert state.phase == PHASE_ENDED


def test_queue_that_cannot_take_the_caller_without_next_says_goodbye() -> None:
    state, actions = step(MENU, queued("line"), ev.QueueResult(AT, "queue-full"))

    assert actions == (
        act.QueueLeft("line", "general", "queue-full", 0),
        act.FellBack("line", None, "queue queue-full"),
        message(MessageKey.QUEUE_UNAVAILABLE),
        message(MessageKey.GOODBYE),
        act.Outcome("failed"),
        act.Hangup(),
    )
    assert state.phase == PHASE_ENDED


def test_queue_failing_after_a_menu_node_leads_there_to_wait_for_input() -> None:
    menu = waiting_menu(replace(LINE, next="main"))

    state, actions = step(menu, queued("line"), ev.QueueResult(AT, "error"))

    assert actions[-1] == act.Listen("main", 2, 5, num_digits=1, finish_on_key="", language="ko")
    assert (state.phase, state.node, state.turn) == (PHASE_LISTENING, "main", 2)


@pytest.mark.parametrize(
    "state",
    [listening_at("main"), replace(queued(), phase=PHASE_WITH_AGENT), queued("main")],
    ids=["listening", "with-agent", "queued-at-a-menu-node"],
)
def test_queue_result_for_a_call_not_in_a_queue_nodes_line_is_ignored(state: CallState) -> None:
    assert step(MENU, state, ev.QueueResult(AT, "hangup", 5)) == (state, ())


def test_overflow_into_a_callback_node_offers_slots_from_the_moment_of_leaving() -> None:
    later = AT + timedelta(minutes=15)  # 10:15 in Seoul: slots from 11:15 on, on the hour

    state, _ = step(MENU, queued(queue_exit="overflow"), ev.QueueResult(later, "leave", 900))

    assert state.offer == (
        "2026-03-02T12:00:00+09:00",
        "2026-03-02T13:00:00+09:00",
        "2026-03-02T14:00:00+09:00",
    )
