"""The ``survey`` node: a rating by key or by voice, the thanks, and never holding a caller back."""

from __future__ import annotations

from dataclasses import replace

import pytest
from waiting_support import (
    AT,
    RATE,
    RATING_PHRASES,
    bye,
    listening_at,
    message,
    rate_listen,
    said,
    waiting_menu,
)

from config.menu import INPUT_DTMF, SpeechThresholds
from config.messages import MessageKey
from ivr import actions as act
from ivr import events as ev
from ivr.engine import current_listen, step
from ivr.state import PHASE_ENDED

MENU = waiting_menu()
THANKS = act.Prompt("평가해 주셔서 감사합니다.", "ko")


@pytest.mark.parametrize("rating", [1, 2, 3, 4, 5])
def test_key_n_records_rating_n_out_of_5_thanks_and_goes_on(rating: int) -> None:
    state, actions = step(MENU, listening_at("rate"), ev.DigitsEntered(AT, str(rating)))

    assert actions == (act.SurveyAnswered("rate", rating, 5), THANKS, *bye())
    assert state.phase == PHASE_ENDED


def test_survey_without_its_own_thanks_says_survey_thanks() -> None:
    menu = waiting_menu(replace(RATE, thanks=None))

    _, actions = step(menu, listening_at("rate"), ev.DigitsEntered(AT, "4"))

    assert actions[:2] == (act.SurveyAnswered("rate", 4, 5), message(MessageKey.SURVEY_THANKS))


def test_thanks_are_said_in_the_call_language() -> None:
    _, actions = step(MENU, listening_at("rate", language="en"), ev.DigitsEntered(AT, "5"))

    assert actions[1] == act.Prompt("Thanks for rating us.", "en")


@pytest.mark.parametrize("key", ["0", "6", "9", "*", "#"])
def test_a_key_off_the_scale_asks_again(key: str) -> None:
    state, actions = step(MENU, listening_at("rate"), ev.DigitsEntered(AT, key))

    assert actions == (
        act.InputRejected("rate", "no_match", 1, key),
        act.Prompt("1부터 5까지 눌러 주세요.", "ko"),
        said(RATE),
        rate_listen(3),
    )
    assert state.attempts == 1


def test_no_answer_asks_again_with_the_no_input_prompt() -> None:
    _, actions = step(MENU, listening_at("rate"), ev.NoInput(AT))

    assert actions[:2] == (
        act.InputRejected("rate", "no_input", 1, None),
        act.Prompt("점수를 눌러 주세요.", "ko"),
    )


@pytest.mark.parametrize(
    "event", [ev.NoInput(AT), ev.DigitsEntered(AT, "7")], ids=["no-input", "wrong-key"]
)
def test_after_its_retries_the_survey_lets_the_caller_go_on_unrated(event: ev.Event) -> None:
    state, actions = step(MENU, listening_at("rate", attempts=1), event)

    reason = "no_input" if isinstance(event, ev.NoInput) else "no_match"
    assert actions == (
        act.InputRejected("rate", reason, 2, getattr(event, "digits", None)),
        act.FellBack("rate", "~unrated", f"{reason} x2"),
        *bye(),
    )
    assert state.phase == PHASE_ENDED


def test_survey_with_no_retries_lets_the_caller_go_at_the_first_miss() -> None:
    menu = waiting_menu(replace(RATE, retries=0))

    _, actions = step(menu, listening_at("rate"), ev.NoInput(AT))

    assert not any(isinstance(a, act.SurveyAnswered) for a in actions)
    assert actions[-4:] == bye()


@pytest.mark.parametrize(
    ("transcript", "language", "rating"),
    [
        ("매우 불만족", "ko", 1),
        ("둘", "ko", 2),
        ("삼 점", "ko", 3),
        ("만족", "ko", 4),
        ("매우 만족", "ko", 5),
        ("다섯", "ko", 5),
        ("very dissatisfied", "en", 1),
        ("Neutral.", "en", 3),
        ("five", "en", 5),
    ],
)
def test_a_sure_spoken_rating_is_taken(transcript: str, language: str, rating: int) -> None:
    at_rate = listening_at("rate", language=language)

    _, actions = step(MENU, at_rate, ev.SpeechRecognized(AT, transcript, 0.9))

    assert actions[0] == act.SurveyAnswered("rate", rating, 5)


def test_a_half_sure_spoken_rating_is_read_back_then_taken_on_yes() -> None:
    asked, actions = step(MENU, listening_at("rate"), ev.SpeechRecognized(AT, "넷", 0.6))

    assert actions[:2] == (
        act.ConfirmationAsked("rate", "사"),
        message(MessageKey.CONFIRM, choice="사"),
    )
    _, taken = step(MENU, asked, ev.DigitsEntered(AT, "1"))

    assert taken[:2] == (act.Confirmed("rate", "사"), act.SurveyAnswered("rate", 4, 5))


def test_a_rating_being_read_back_waits_for_a_yes_or_a_no() -> None:
    asked, actions = step(MENU, listening_at("rate"), ev.SpeechRecognized(AT, "넷", 0.6))

    listen = current_listen(MENU, asked)

    assert listen == actions[-1]
    assert listen is not None and (listen.grammar, listen.turn) == (act.GRAMMAR_YES_NO, 3)


def test_a_no_to_the_read_back_rating_asks_the_survey_again() -> None:
    asked, _ = step(MENU, listening_at("rate"), ev.SpeechRecognized(AT, "넷", 0.6))

    state, actions = step(MENU, asked, ev.SpeechRecognized(AT, "아니요", 0.9))

    assert actions[0] == act.InputRejected("rate", "not_confirmed", 1, "아니요")
    assert state.attempts == 1


def test_survey_speech_thresholds_are_its_own() -> None:
    menu = waiting_menu(replace(RATE, speech=SpeechThresholds(accept=0.95, confirm=0.5)))

    _, half_sure = step(menu, listening_at("rate"), ev.SpeechRecognized(AT, "오", 0.9))
    _, unsure = step(menu, listening_at("rate"), ev.SpeechRecognized(AT, "오", 0.45))

    assert half_sure[0] == act.ConfirmationAsked("rate", "오")
    assert unsure[0] == act.InputRejected("rate", "no_match", 1, "오")


@pytest.mark.parametrize("transcript", ["육", "좋아요", "", "일 이"])
def test_words_that_are_no_rating_are_a_no_match(transcript: str) -> None:
    _, actions = step(MENU, listening_at("rate"), ev.SpeechRecognized(AT, transcript, 0.99))

    assert actions[0] == act.InputRejected("rate", "no_match", 1, transcript)


def test_survey_listens_for_one_key_and_the_spoken_ratings() -> None:
    listen = current_listen(MENU, listening_at("rate", turn=7))

    assert listen is not None
    assert (listen.node, listen.turn, listen.num_digits, listen.finish_on_key) == ("rate", 7, 1, "")
    assert (listen.speech, listen.grammar, listen.language) == (True, "options", "ko")
    assert listen.phrases == RATING_PHRASES


def test_survey_on_the_keypad_only_does_not_listen_to_speech() -> None:
    menu = waiting_menu(replace(RATE, input=(INPUT_DTMF,)))

    listen = current_listen(menu, listening_at("rate"))

    assert listen is not None and not listen.speech


def test_speech_failing_at_a_survey_asks_again_for_the_keypad_only() -> None:
    state, actions = step(MENU, listening_at("rate"), ev.SpeechUnavailable(AT, "capacity"))

    assert actions == (
        act.KeypadFallback("rate", "capacity"),
        said(RATE),
        rate_listen(3, speech=False),
    )
    assert state.attempts == 0
