"""The ``callback`` node: offered slots, booking by key or by voice, declining, no slots."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest
from waiting_support import (
    AT,
    BOOK,
    CALLER,
    SEOUL_HOURS,
    bye,
    listening_at,
    message,
    prompts,
    said,
    waiting_menu,
)

from config.menu import INPUT_DTMF, Schedule, TimeRange
from config.messages import MessageKey
from ivr import actions as act
from ivr import events as ev
from ivr.engine import Step, current_listen, step
from ivr.state import PHASE_ENDED, PHASE_LISTENING, CallState

MENU = waiting_menu()
ELEVEN, NOON, ONE = (
    "2026-03-02T11:00:00+09:00",
    "2026-03-02T12:00:00+09:00",
    "2026-03-02T13:00:00+09:00",
)
OFFERED = (ELEVEN, NOON, ONE)  # a call at 10:00 on Monday, an hour's lead
SLOT_PHRASES = (
    *("일", "하나", "일 번", "첫 번째"),
    *("이", "둘", "이 번", "두 번째"),
    *("삼", "셋", "삼 번", "세 번째"),
    *("없어요", "없습니다", "괜찮습니다", "아니요"),  # none of them
)


def book_listen(
    turn: int, language: str = "ko", phrases: tuple[str, ...] = SLOT_PHRASES
) -> act.Listen:
    return act.Listen(
        "book",
        turn,
        5,
        num_digits=1,
        finish_on_key="",
        speech=True,
        grammar=act.GRAMMAR_OPTIONS,
        phrases=phrases,
        language=language,
    )


def at_book(*, attempts: int = 0, language: str = "ko", caller: str = CALLER) -> CallState:
    return listening_at("book", attempts=attempts, language=language, caller=caller, offer=OFFERED)


def choose_book(at: datetime = AT, *, caller: str = CALLER, language: str = "ko") -> Step:
    main = listening_at("main", turn=1, caller=caller, language=language)
    return step(MENU, main, ev.DigitsEntered(at, "1"))


# --- the offer --------------------------------------------------------------------------------


def test_callback_node_offers_its_slots_each_with_its_key_then_a_key_for_none() -> None:
    state, actions = choose_book()

    assert actions == (
        act.NodeEntered("book", "callback"),
        said(BOOK),
        act.Prompt("오늘 오전 11시에 받으시려면 1번.", "ko"),
        act.Prompt("오늘 오후 12시에 받으시려면 2번.", "ko"),
        act.Prompt("오늘 오후 1시에 받으시려면 3번.", "ko"),
        act.Prompt("원하시는 시간이 없으시면 4번을 눌러 주세요.", "ko"),
        book_listen(2),
    )
    assert (state.phase, state.node, state.offer) == (PHASE_LISTENING, "book", OFFERED)


def test_slots_are_offered_in_the_call_language() -> None:
    _, actions = choose_book(language="en")

    assert prompts(actions)[1:] == [
        "For today at 11 AM, press 1.",
        "For today at 12 PM, press 2.",
        "For today at 1 PM, press 3.",
        "If none of these times suits you, press 4.",
    ]
    assert actions[-1] == book_listen(
        2,
        "en",
        (
            *("one", "number one", "the first one"),
            *("two", "number two", "the second one"),
            *("three", "number three", "the third one"),
            *("none", "none of them", "no thanks"),
        ),
    )


def test_an_evening_caller_is_offered_tomorrow_mornings_slots() -> None:
    monday_evening = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # 19:00 in Seoul: closed

    _, actions = choose_book(monday_evening)

    assert prompts(actions)[1:4] == [
        "내일 오전 9시에 받으시려면 1번.",
        "내일 오전 10시에 받으시려면 2번.",
        "내일 오전 11시에 받으시려면 3번.",
    ]


def test_fewer_free_slots_than_the_node_offers_move_the_decline_key_up() -> None:
    saturday_noon = datetime(2026, 3, 7, 3, 0, tzinfo=UTC)  # 12:00; closes at 13:00
    menu = waiting_menu(replace(BOOK, lead_minutes=0, days_ahead=1))

    state, actions = step(menu, listening_at("main", turn=1), ev.DigitsEntered(saturday_noon, "1"))

    assert state.offer == ("2026-03-07T12:00:00+09:00",)
    assert prompts(actions)[1:] == [
        "오늘 오후 12시에 받으시려면 1번.",
        "원하시는 시간이 없으시면 2번을 눌러 주세요.",
    ]


def test_callback_node_without_a_free_slot_says_so_and_goes_on() -> None:
    saturday_after_closing = datetime(2026, 3, 7, 5, 0, tzinfo=UTC)  # 14:00 on Saturday
    menu = waiting_menu(replace(BOOK, days_ahead=1))

    state, actions = step(
        menu, listening_at("main", turn=1), ev.DigitsEntered(saturday_after_closing, "1")
    )

    assert actions == (
        act.NodeEntered("book", "callback"),
        message(MessageKey.CALLBACK_NO_SLOTS),
        *bye(),
    )
    assert state.phase == PHASE_ENDED


@pytest.mark.parametrize("caller", ["", "anonymous", "+0101234"])
def test_caller_who_cannot_be_called_back_is_offered_no_slot(caller: str) -> None:
    state, actions = choose_book(caller=caller)

    assert actions[:2] == (
        act.NodeEntered("book", "callback"),
        message(MessageKey.CALLBACK_NO_SLOTS),
    )
    assert state.offer == ()


# --- choosing ---------------------------------------------------------------------------------


def test_key_n_books_slot_n_for_the_caller_and_goes_on_to_next() -> None:
    state, actions = step(MENU, at_book(), ev.DigitsEntered(AT, "2"))

    noon = datetime.fromisoformat(NOON)
    assert actions == (
        act.ScheduleCallback(
            "scheduled", CALLER, "general", "book", noon, noon, True, "오늘 오후 12시"
        ),
        act.Prompt("오늘 오후 12시에 전화드리겠습니다.", "ko"),
        message(MessageKey.CALLBACK_SMS_NOTE),
        *bye(),
    )
    assert state.offer == ()


def test_booking_without_sms_says_no_sms_note() -> None:
    menu = waiting_menu(replace(BOOK, sms=False))

    _, actions = step(menu, at_book(), ev.DigitsEntered(AT, "1"))

    eleven = datetime.fromisoformat(ELEVEN)
    assert actions[:2] == (
        act.ScheduleCallback(
            "scheduled", CALLER, "general", "book", eleven, eleven, False, "오늘 오전 11시"
        ),
        act.Prompt("오늘 오전 11시에 전화드리겠습니다.", "ko"),
    )
    assert message(MessageKey.CALLBACK_SMS_NOTE) not in actions


def test_booking_is_said_in_the_call_language() -> None:
    _, actions = step(MENU, at_book(language="en"), ev.DigitsEntered(AT, "3"))

    booking = actions[0]
    assert isinstance(booking, act.ScheduleCallback) and booking.slot == "today at 1 PM"
    assert prompts(actions)[:2] == [
        "Your callback is booked for today at 1 PM.",
        "We'll send you a text message to confirm.",
    ]


def test_decline_key_goes_on_to_next_without_booking() -> None:
    state, actions = step(MENU, at_book(), ev.DigitsEntered(AT, "4"))

    assert actions == bye()
    assert state.offer == ()


@pytest.mark.parametrize("key", ["5", "0", "#"])
def test_a_key_beyond_the_offer_asks_again_with_the_same_slots(key: str) -> None:
    later = AT + timedelta(minutes=30)

    state, actions = step(MENU, at_book(), ev.DigitsEntered(later, key))

    assert actions[0] == act.InputRejected("book", "no_match", 1, key)
    assert prompts(actions)[2:5] == [
        "오늘 오전 11시에 받으시려면 1번.",
        "오늘 오후 12시에 받으시려면 2번.",
        "오늘 오후 1시에 받으시려면 3번.",
    ]
    assert (state.attempts, state.offer) == (1, OFFERED)


def test_failing_the_last_attempt_goes_to_the_fallback() -> None:
    state, actions = step(MENU, at_book(attempts=1), ev.NoInput(AT))

    assert actions == (
        act.InputRejected("book", "no_input", 2, None),
        act.FellBack("book", "bye", "no_input x2"),
        *bye(),
    )
    assert state.phase == PHASE_ENDED


@pytest.mark.parametrize(
    ("transcript", "language", "slot"),
    [
        ("두 번째", "ko", NOON),
        ("하나", "ko", ELEVEN),
        ("삼 번", "ko", ONE),
        ("the first one", "en", ELEVEN),
        ("number three", "en", ONE),
    ],
)
def test_a_sure_spoken_slot_books_it(transcript: str, language: str, slot: str) -> None:
    _, actions = step(MENU, at_book(language=language), ev.SpeechRecognized(AT, transcript, 0.9))

    booking = actions[0]
    assert isinstance(booking, act.ScheduleCallback)
    assert booking.due_at == booking.place == datetime.fromisoformat(slot)


def test_a_half_sure_spoken_slot_is_read_back_then_booked_on_yes() -> None:
    asked, actions = step(MENU, at_book(), ev.SpeechRecognized(AT, "둘", 0.6))

    assert actions[:2] == (
        act.ConfirmationAsked("book", "이"),
        message(MessageKey.CONFIRM, choice="이"),
    )
    _, booked = step(MENU, asked, ev.SpeechRecognized(AT, "네", 0.9))

    assert booked[0] == act.Confirmed("book", "이")
    assert isinstance(booked[1], act.ScheduleCallback) and booked[1].slot == "오늘 오후 12시"


def test_a_slot_number_beyond_the_offer_is_a_no_match_by_voice() -> None:
    _, actions = step(MENU, at_book(), ev.SpeechRecognized(AT, "네 번째", 0.99))

    assert actions[0] == act.InputRejected("book", "no_match", 1, "네 번째")


def test_callback_node_on_the_keypad_only_listens_for_keys() -> None:
    menu = waiting_menu(replace(BOOK, input=(INPUT_DTMF,)))

    state, actions = step(menu, listening_at("main", turn=1), ev.DigitsEntered(AT, "1"))

    assert isinstance(actions[-1], act.Listen) and not actions[-1].speech
    assert current_listen(menu, state) == actions[-1]


def test_current_listen_at_a_callback_node_hears_the_offered_slots() -> None:
    assert current_listen(MENU, at_book()) == book_listen(2)


# --- a schedule with clock changes ------------------------------------------------------------

NEW_YORK_HOURS = Schedule(
    id="ny",
    timezone="America/New_York",
    weekly={day: (TimeRange(time(9), time(17)),) for day in range(5)},
)
NEW_YORK_MENU = waiting_menu(
    replace(BOOK, schedule="ny"), schedules={"main": SEOUL_HOURS, "ny": NEW_YORK_HOURS}
)
# Saturday 23:30 in New York (EST), the night the clocks go forward: Monday is two days away.
SPRING_EVE = datetime(2026, 3, 8, 4, 30, tzinfo=UTC)


def test_slots_across_a_clock_change_are_said_on_the_schedules_calendar() -> None:
    caller = listening_at("main", turn=1, caller="+12125551234", language="en")

    state, actions = step(NEW_YORK_MENU, caller, ev.DigitsEntered(SPRING_EVE, "1"))

    assert prompts(actions)[1:4] == [
        "For Monday, March 9 at 9 AM, press 1.",
        "For Monday, March 9 at 10 AM, press 2.",
        "For Monday, March 9 at 11 AM, press 3.",
    ]
    assert state.offer[0] == "2026-03-09T09:00:00-04:00"


def test_slot_booked_across_a_clock_change_is_said_on_the_schedules_calendar() -> None:
    caller = listening_at("main", turn=1, caller="+12125551234", language="en")
    offered, _ = step(NEW_YORK_MENU, caller, ev.DigitsEntered(SPRING_EVE, "1"))

    _, actions = step(NEW_YORK_MENU, offered, ev.DigitsEntered(SPRING_EVE, "1"))

    booking = actions[0]
    assert isinstance(booking, act.ScheduleCallback)
    assert booking.slot == "Monday, March 9 at 9 AM"
    assert booking.due_at == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)
