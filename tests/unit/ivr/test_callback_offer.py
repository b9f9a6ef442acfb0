"""The callback offered in the line: the number check, booking at the kept place, rejoining."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from waiting_support import (
    AGENTS,
    AT,
    CALLER,
    CALLER_DIGIT_WORDS,
    PLACE,
    listening_at,
    message,
    prompts,
    queued,
    waiting_menu,
)

from config.messages import MessageKey
from ivr import actions as act
from ivr import events as ev
from ivr import offers
from ivr.engine import current_listen, step
from ivr.state import PHASE_ENDED, PHASE_LISTENING, PHASE_QUEUED

MENU = waiting_menu()
LEFT_FOR_CALLBACK = ev.QueueResult(AT, "leave", 75)
KO_CONFIRM_TAIL = "번호로 전화드릴까요? 맞으면 1번, 다른 번호로 받으시려면 2번을 눌러 주세요."
KEYED = "01099998888"
KEYED_WORDS = ("공", "일", "공", "구", "구", "구", "구", "팔", "팔", "팔", "팔")


def yes_no_listen(node: str, turn: int, language: str = "ko") -> act.Listen:
    return act.Listen(node, turn, 5, num_digits=1, finish_on_key="", language=language)


def number_listen(turn: int) -> act.Listen:
    return act.Listen(
        "agents~number",
        turn,
        10,
        num_digits=15,
        finish_on_key="#",
        grammar=act.GRAMMAR_DIGITS,
        language="ko",
    )


def read_back(words: tuple[str, ...]) -> tuple[act.Prompt, ...]:
    return (*(act.Prompt(word, "ko") for word in words), act.Prompt(KO_CONFIRM_TAIL, "ko"))


def booked(phone: str = CALLER, *, sms: bool = True) -> act.ScheduleCallback:
    return act.ScheduleCallback("queued", phone, "general", "agents", PLACE, AT, sms)


# --- the number check -------------------------------------------------------------------------


def test_leaving_for_a_callback_reads_the_callers_number_back_one_digit_per_prompt() -> None:
    state, actions = step(MENU, queued(turn=3, queue_exit="callback"), LEFT_FOR_CALLBACK)

    assert actions == (
        act.QueueLeft("agents", "general", "callback", 75),
        act.NodeEntered("agents~callback", "question"),
        *read_back(CALLER_DIGIT_WORDS),
        yes_no_listen("agents~callback", 4),
    )
    assert (state.phase, state.node, state.turn, state.attempts) == (
        PHASE_LISTENING,
        "agents~callback",
        4,
        0,
    )
    assert state.queued_at == PLACE.isoformat()


def test_the_callers_number_is_read_back_in_the_call_language() -> None:
    english = queued(queue_exit="callback", language="en")

    _, actions = step(MENU, english, LEFT_FOR_CALLBACK)

    spoken = prompts(actions)
    assert spoken[0] == "Shall we call you at"
    assert spoken[1:12] == [
        *("zero", "one", "zero", "one", "two", "three"),
        *("four", "five", "six", "seven", "eight"),
    ]


def test_no_prompt_holds_the_callers_number() -> None:
    _, actions = step(MENU, queued(queue_exit="callback"), LEFT_FOR_CALLBACK)

    assert not [text for text in prompts(actions) if re.search(r"[0-9]{2}", text)]


@pytest.mark.parametrize(
    "caller", ["", "anonymous", "sip:alice@example.com", "+0101234", "0101234"]
)
def test_caller_without_an_e164_number_is_asked_to_key_one_in(caller: str) -> None:
    state, actions = step(
        MENU, queued(queue_exit="callback", caller=caller, turn=3), LEFT_FOR_CALLBACK
    )

    assert actions == (
        act.QueueLeft("agents", "general", "callback", 75),
        act.NodeEntered("agents~number", "question"),
        message(MessageKey.CALLBACK_NUMBER_ENTER),
        number_listen(4),
    )
    assert (state.phase, state.node) == (PHASE_LISTENING, "agents~number")


def test_key_2_asks_for_another_number() -> None:
    state, actions = step(MENU, listening_at("agents~callback"), ev.DigitsEntered(AT, "2"))

    assert actions == (
        act.NodeEntered("agents~number", "question"),
        message(MessageKey.CALLBACK_NUMBER_ENTER),
        number_listen(3),
    )
    assert state.node == "agents~number"


def test_keyed_number_is_read_back_one_digit_per_prompt() -> None:
    state, actions = step(MENU, listening_at("agents~number"), ev.DigitsEntered(AT, KEYED))

    assert actions == (
        act.ValueCollected("agents~number", "callback_number", KEYED, False),
        act.NodeEntered("agents~number_ok", "question"),
        *read_back(KEYED_WORDS),
        yes_no_listen("agents~number_ok", 3),
    )
    assert state.variables == {"callback_number": KEYED}


def test_key_2_at_the_keyed_number_asks_for_it_again() -> None:
    at_read_back = listening_at("agents~number_ok", variables={"callback_number": KEYED})

    state, actions = step(MENU, at_read_back, ev.DigitsEntered(AT, "2"))

    assert actions[0] == act.NodeEntered("agents~number", "question")
    assert state.node == "agents~number"


@pytest.mark.parametrize(
    "digits", ["01234567", "0123456789012345", "0101234567a"], ids=["8", "16", "not-digits"]
)
def test_a_number_of_the_wrong_length_is_asked_again(digits: str) -> None:
    state, actions = step(MENU, listening_at("agents~number"), ev.DigitsEntered(AT, digits))

    assert actions == (
        act.InputRejected("agents~number", "invalid", 1, digits),
        message(MessageKey.NO_MATCH),
        message(MessageKey.CALLBACK_NUMBER_ENTER),
        number_listen(3),
    )
    assert (state.attempts, state.variables) == (1, {})


@pytest.mark.parametrize("digits", ["021234567", "012345678901234"], ids=["9", "15"])
def test_numbers_of_9_to_15_digits_are_taken(digits: str) -> None:
    state, _ = step(MENU, listening_at("agents~number"), ev.DigitsEntered(AT, digits))

    assert state.node == "agents~number_ok"


# --- booking ----------------------------------------------------------------------------------


def test_key_1_books_a_callback_at_the_original_place_and_ends_the_call() -> None:
    at_question = listening_at("agents~callback", queue_exit="callback")

    state, actions = step(MENU, at_question, ev.DigitsEntered(AT, "1"))

    assert actions == (
        booked(),
        message(MessageKey.CALLBACK_QUEUED),
        message(MessageKey.CALLBACK_SMS_NOTE),
        message(MessageKey.GOODBYE),
        act.Outcome("callback_requested", "queued"),
        act.Hangup(),
    )
    assert state.phase == PHASE_ENDED


def test_callback_without_sms_books_without_the_sms_note() -> None:
    menu = waiting_menu(replace(AGENTS, callback_sms=False))

    _, actions = step(menu, listening_at("agents~callback"), ev.DigitsEntered(AT, "1"))

    assert actions[:3] == (
        booked(sms=False),
        message(MessageKey.CALLBACK_QUEUED),
        message(MessageKey.GOODBYE),
    )
    assert message(MessageKey.CALLBACK_SMS_NOTE) not in actions


def test_booking_is_said_in_the_call_language() -> None:
    english = listening_at("agents~callback", language="en")

    _, actions = step(MENU, english, ev.DigitsEntered(AT, "1"))

    assert prompts(actions) == [
        "Thank you. An agent will call you back when it's your turn.",
        "We'll send you a text message to confirm.",
        "Thank you for calling. Goodbye.",
    ]


def test_confirmed_keyed_number_is_booked_in_e164_with_the_callers_country() -> None:
    at_read_back = listening_at("agents~number_ok", variables={"callback_number": KEYED})

    _, actions = step(MENU, at_read_back, ev.DigitsEntered(AT, "1"))

    assert actions[0] == booked("+821099998888")


@pytest.mark.parametrize(
    ("keyed", "caller", "phone"),
    [
        ("01099998888", "+821012345678", "+821099998888"),
        ("0212345678", "+821012345678", "+82212345678"),
        ("07700900123", "+447700900000", "+447700900123"),
        ("821099998888", "+821012345678", "+821099998888"),
        ("12125551234", "+12125550000", "+12125551234"),
        ("2125551234", "+12125550000", "+12125551234"),
        ("33612345678", "+33699999999", "+33612345678"),
    ],
    ids=["kr-mobile", "kr-seoul", "uk", "kr-with-country", "us-with-1", "us-as-read", "fr"],
)
def test_keyed_number_becomes_e164(keyed: str, caller: str, phone: str) -> None:
    assert offers.international(keyed, caller) == phone


@pytest.mark.parametrize(
    ("caller", "digits"),
    [
        ("+821012345678", "01012345678"),
        ("+12125551234", "2125551234"),
        ("+33612345678", "33612345678"),
    ],
)
def test_callers_number_is_read_back_as_they_would_say_it(caller: str, digits: str) -> None:
    assert offers.national_digits(caller) == digits


def test_a_us_caller_keying_their_number_as_read_back_is_called_there() -> None:
    us_caller = "+12125551234"
    at_read_back = listening_at(
        "agents~number_ok",
        caller=us_caller,
        variables={"callback_number": offers.national_digits(us_caller)},
    )

    _, actions = step(MENU, at_read_back, ev.DigitsEntered(AT, "1"))

    assert actions[0] == booked(us_caller)


def test_withheld_caller_keying_a_national_number_takes_the_dialled_lines_country() -> None:
    at_read_back = listening_at(
        "agents~number_ok", caller="anonymous", variables={"callback_number": KEYED}
    )

    _, actions = step(MENU, at_read_back, ev.DigitsEntered(AT, "1"))

    assert actions[0] == booked("+821099998888")


# --- the retry budget: back in line at the original place -------------------------------------


def test_first_wrong_key_at_the_number_check_reads_the_number_again() -> None:
    state, actions = step(MENU, listening_at("agents~callback"), ev.DigitsEntered(AT, "9"))

    assert actions == (
        act.InputRejected("agents~callback", "no_match", 1, "9"),
        message(MessageKey.NO_MATCH),
        *read_back(CALLER_DIGIT_WORDS),
        yes_no_listen("agents~callback", 3),
    )
    assert state.attempts == 1


def test_second_failure_at_the_number_check_rejoins_the_line_at_the_original_place() -> None:
    failing = listening_at("agents~callback", turn=4, attempts=1, queue_exit="callback")

    state, actions = step(MENU, failing, ev.NoInput(AT))

    assert actions == (
        act.InputRejected("agents~callback", "no_input", 2, None),
        act.FellBack("agents~callback", "~requeue:agents", "no_input x2"),
        act.Enqueue("general", 5, "agents", place=PLACE),
    )
    assert state == replace(queued(turn=5), attempts=1)


@pytest.mark.parametrize(
    "event",
    [ev.NoInput(AT), ev.DigitsEntered(AT, "123")],
    ids=["no-input", "too-short"],
)
def test_second_failure_at_the_number_entry_rejoins_the_line_at_the_original_place(
    event: ev.Event,
) -> None:
    state, actions = step(MENU, listening_at("agents~number", attempts=1), event)

    assert actions[-1] == act.Enqueue("general", 3, "agents", place=PLACE)
    assert (state.phase, state.queued_at, state.queue_exit) == (
        PHASE_QUEUED,
        PLACE.isoformat(),
        None,
    )


def test_second_failure_at_the_keyed_number_read_back_rejoins_the_line() -> None:
    failing = listening_at("agents~number_ok", attempts=1, variables={"callback_number": KEYED})

    _, actions = step(MENU, failing, ev.DigitsEntered(AT, "7"))

    assert actions[-2:] == (
        act.FellBack("agents~number_ok", "~requeue:agents", "no_match x2"),
        act.Enqueue("general", 3, "agents", place=PLACE),
    )


def test_caller_back_in_line_is_offered_the_callback_again() -> None:
    back, _ = step(MENU, listening_at("agents~callback", attempts=1), ev.NoInput(AT))

    _, actions = step(MENU, back, ev.QueueWaited(AT, 60, 2, 3))

    assert act.Offer(back.turn, 5) in actions


# --- picking the wait up ----------------------------------------------------------------------


def test_current_listen_at_the_number_check() -> None:
    state, actions = step(MENU, queued(queue_exit="callback"), LEFT_FOR_CALLBACK)

    assert current_listen(MENU, state) == actions[-1] == yes_no_listen("agents~callback", 2)


def test_current_listen_at_the_number_entry() -> None:
    state, actions = step(
        MENU, queued(queue_exit="callback", caller="anonymous"), LEFT_FOR_CALLBACK
    )

    assert current_listen(MENU, state) == actions[-1] == number_listen(2)


def test_prompts_before_the_number_check_are_kept_for_a_media_stream_session() -> None:
    state, _ = step(MENU, queued(queue_exit="callback"), LEFT_FOR_CALLBACK)

    assert state.prompts == tuple((p.text, p.language) for p in read_back(CALLER_DIGIT_WORDS))


def test_a_generated_question_of_a_node_that_is_no_queue_waits_for_nothing() -> None:
    assert current_listen(MENU, listening_at("main~callback")) is None
    assert current_listen(MENU, listening_at("nowhere~number")) is None
