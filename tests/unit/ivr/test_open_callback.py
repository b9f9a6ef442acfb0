"""A caller with an open callback is asked to keep or cancel it before the menu."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from waiting_support import AT, CALLER, MAIN, listening_at, message, prompts, said, waiting_menu

from config.messages import MessageKey
from ivr import actions as act
from ivr import events as ev
from ivr.engine import current_listen, new_call, step
from ivr.state import PHASE_LISTENING, CallState

MENU = waiting_menu()
DUE = datetime(2026, 3, 3, 14, 0, tzinfo=ZoneInfo("Asia/Seoul"))  # Tuesday: tomorrow at 2 PM
STARTED = ev.CallStarted(AT, CALLER, "+8215990000", open_callback_id=7, open_callback_due=DUE)
OPEN_QUESTION = act.Prompt(
    "내일 오후 2시에 예약된 상담 전화가 있습니다. "
    "예약을 유지하시려면 1번, 취소하시려면 2번을 눌러 주세요.",
    "ko",
)


def open_listen(turn: int, language: str = "ko") -> act.Listen:
    return act.Listen("~open_callback", turn, 5, num_digits=1, finish_on_key="", language=language)


def main_entered(turn: int) -> tuple[act.Action, ...]:
    return (
        act.NodeEntered("main", "menu"),
        said(MAIN),
        act.Listen("main", turn, 5, num_digits=1, finish_on_key="", language="ko"),
    )


def asked(*, attempts: int = 0) -> CallState:
    return listening_at("~open_callback", turn=1, attempts=attempts, offer=("7", DUE.isoformat()))


def test_caller_with_an_open_callback_is_asked_to_keep_or_cancel_it_first() -> None:
    state, actions = step(MENU, new_call(MENU), STARTED)

    assert actions == (
        act.NodeEntered("~open_callback", "question"),
        OPEN_QUESTION,
        open_listen(1),
    )
    assert (state.phase, state.node, state.caller) == (PHASE_LISTENING, "~open_callback", CALLER)
    assert state.offer == ("7", DUE.isoformat())


def test_open_callback_is_asked_in_the_call_language() -> None:
    english = CallState(menu_id="waiting", language="en")

    _, actions = step(MENU, english, STARTED)

    assert actions[1] == act.Prompt(
        "You already have a callback booked for tomorrow at 2 PM. "
        "To keep it, press 1. To cancel it, press 2.",
        "en",
    )


def test_call_without_an_open_callback_goes_straight_to_the_menu() -> None:
    plain = ev.CallStarted(AT, CALLER, "+8215990000")

    state, actions = step(MENU, new_call(MENU), plain)

    assert actions == main_entered(1)
    assert state.offer == ()


def test_key_1_keeps_the_callback_and_goes_to_the_menu() -> None:
    state, actions = step(MENU, asked(), ev.DigitsEntered(AT, "1"))

    assert actions == (message(MessageKey.CALLBACK_KEPT), *main_entered(2))
    assert state.offer == ()


def test_key_2_cancels_the_callback_and_goes_to_the_menu() -> None:
    state, actions = step(MENU, asked(), ev.DigitsEntered(AT, "2"))

    assert actions == (
        act.CancelCallback(7),
        message(MessageKey.CALLBACK_CANCELLED),
        *main_entered(2),
    )
    assert state.offer == ()


@pytest.mark.parametrize(
    "event", [ev.NoInput(AT), ev.DigitsEntered(AT, "3")], ids=["no-input", "wrong-key"]
)
def test_first_miss_asks_again_with_the_time_said_again(event: ev.Event) -> None:
    state, actions = step(MENU, asked(), event)

    assert actions[1:] == (
        message(MessageKey.NO_INPUT if isinstance(event, ev.NoInput) else MessageKey.NO_MATCH),
        OPEN_QUESTION,
        open_listen(2),
    )
    assert (state.attempts, state.offer) == (1, ("7", DUE.isoformat()))


def test_no_answer_keeps_the_callback() -> None:
    state, actions = step(MENU, asked(attempts=1), ev.NoInput(AT))

    assert actions == (
        act.InputRejected("~open_callback", "no_input", 2, None),
        act.FellBack("~open_callback", "~keep", "no_input x2"),
        message(MessageKey.CALLBACK_KEPT),
        *main_entered(2),
    )
    assert not any(isinstance(a, act.CancelCallback) for a in actions)
    assert state.node == "main"


def test_current_listen_at_the_open_callback_question() -> None:
    state, actions = step(MENU, new_call(MENU), STARTED)

    assert current_listen(MENU, state) == actions[-1] == open_listen(1)


def test_open_callback_time_is_said_on_the_schedules_clock() -> None:
    # The database gives UTC: 02:30 UTC is 11:30 in Seoul, the menu's schedule.
    due = AT.astimezone(UTC) + timedelta(hours=1, minutes=30)
    later = ev.CallStarted(AT, CALLER, "+8215990000", open_callback_id=3, open_callback_due=due)

    _, actions = step(MENU, new_call(MENU), later)

    assert prompts(actions)[0].startswith("오늘 오전 11시 30분에 ")


def test_a_callback_due_in_the_past_is_said_as_due_now() -> None:
    # A queued callback is due from the moment it was asked: it is made as soon as possible.
    due = datetime(2026, 3, 2, 9, 5, tzinfo=ZoneInfo("Asia/Seoul"))
    today = ev.CallStarted(AT, CALLER, "+8215990000", open_callback_id=3, open_callback_due=due)

    _, actions = step(MENU, new_call(MENU), today)

    assert prompts(actions)[0].startswith("오늘 오전 10시에 ")


def test_open_callback_without_a_due_time_is_still_asked_and_cancelled() -> None:
    undated = ev.CallStarted(AT, CALLER, "+8215990000", open_callback_id=9)

    state, actions = step(MENU, new_call(MENU), undated)
    assert actions[-1] == open_listen(1)
    _, cancelled = step(MENU, state, ev.DigitsEntered(AT, "2"))

    assert cancelled[0] == act.CancelCallback(9)
