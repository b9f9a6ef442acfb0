"""Spoken answers in `ivr.step`: thresholds, confirmation turns and the keypad fallback."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from config.menu import (
    INPUT_DTMF,
    CollectNode,
    Menu,
    MenuNode,
    Option,
    SpeechThresholds,
)
from ivr import actions as act
from ivr import events as ev
from ivr.engine import current_listen, new_call, step
from ivr.matching import YES_NO_WORDS
from ivr.state import PHASE_ENDED, PHASE_LISTENING, PHASE_QUEUED, CallState

MenuEditor = Callable[..., Menu]  # the `edit` fixture of conftest.py

AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 10:00 in Seoul: open
KO_YES_NO = (*YES_NO_WORDS["ko"].yes, *YES_NO_WORDS["ko"].no)


def listening(
    node: str,
    *,
    turn: int = 1,
    attempts: int = 0,
    language: str = "ko",
    confirming: str | None = None,
) -> CallState:
    return CallState(
        menu_id="support",
        node=node,
        phase=PHASE_LISTENING,
        language=language,
        attempts=attempts,
        turn=turn,
        confirming=confirming,
    )


def heard(transcript: str, confidence: float) -> ev.SpeechRecognized:
    return ev.SpeechRecognized(AT, transcript, confidence)


def prompt_of(menu: Menu, node_id: str, language: str = "ko") -> act.Prompt:
    node = menu.node(node_id)
    assert isinstance(node, MenuNode | CollectNode)
    return act.Prompt(node.prompt[language], language)


def yes_no_listen(node: str, turn: int) -> act.Listen:
    return act.Listen(
        node,
        turn,
        5,
        num_digits=1,
        finish_on_key="",
        speech=True,
        grammar="yes_no",
        phrases=KO_YES_NO,
        language="ko",
    )


def asked(node: str, token: str, spoken: str) -> CallState:
    """The state right after ``spoken`` (pending as ``token``) was read back at ``node``."""
    return replace(
        listening(node, turn=2, confirming=token), prompts=((f"{spoken}, 맞나요?", "ko"),)
    )


ASKED_BALANCE = asked("main", "option:1", "잔액")
ASKED_ACCOUNT = replace(
    listening("account", turn=2, confirming="digits:12345678"),
    prompts=(
        *((word, "ko") for word in ["일", "이", "삼", "사", "오", "육", "칠", "팔"]),
        ("맞나요?", "ko"),
    ),
)


# --- thresholds at a menu node --------------------------------------------------------------


@pytest.mark.parametrize("confidence", [0.8, 0.99], ids=["at-accept", "above-accept"])
def test_sure_spoken_option_routes_like_a_key_press(menu: Menu, confidence: float) -> None:
    spoken_state, spoken = step(menu, listening("main"), heard("잔액 조회", confidence))
    keyed_state, keyed = step(menu, listening("main"), ev.DigitsEntered(AT, "2"))

    assert spoken == keyed
    assert spoken_state == keyed_state
    assert spoken[0] == act.NodeEntered("account", "collect")


@pytest.mark.parametrize("confidence", [0.45, 0.79], ids=["at-confirm", "below-accept"])
def test_half_sure_spoken_option_is_read_back_for_a_yes_or_no(
    menu: Menu, confidence: float
) -> None:
    state, actions = step(menu, listening("main"), heard("잔액 조회", confidence))

    assert actions == (
        act.ConfirmationAsked("main", "잔액"),
        act.Prompt("잔액, 맞나요?", "ko"),
        yes_no_listen("main", turn=2),
    )
    assert state == ASKED_BALANCE


def test_unsure_spoken_option_is_a_no_match(menu: Menu) -> None:
    state, actions = step(menu, listening("main"), heard("잔액", 0.44))

    assert actions[0] == act.InputRejected("main", "no_match", 1, "잔액")
    assert isinstance(actions[-1], act.Listen) and actions[-1].grammar == "options"
    assert (state.attempts, state.confirming) == (1, None)


def test_nothing_heard_is_a_no_match_whatever_the_confidence(menu: Menu) -> None:
    _, actions = step(menu, listening("main"), heard("", 0.99))

    assert actions[0] == act.InputRejected("main", "no_match", 1, "")


def test_read_back_is_in_the_call_language(menu: Menu) -> None:
    english = listening("main", language="en")

    _, actions = step(menu, english, heard("I lost my card", 0.6))

    assert actions[:2] == (
        act.ConfirmationAsked("main", "lost card"),
        act.Prompt("Did you say lost card?", "en"),
    )
    assert isinstance(actions[2], act.Listen)
    assert actions[2].phrases == ("yes", "yeah", "correct", "no", "nope")
    assert actions[2].language == "en"


def test_confirm_message_is_filled_without_reading_other_braces(edit: MenuEditor) -> None:
    braced = edit(messages={**edit().messages, "confirm": {"ko": "{choice} {맞죠}?", "en": "?"}})

    _, actions = step(braced, listening("main"), heard("잔액", 0.6))

    assert actions[1] == act.Prompt("잔액 {맞죠}?", "ko")


def test_node_thresholds_override_the_menu_ones(edit: MenuEditor, main_node: MenuNode) -> None:
    strict = edit(replace(main_node, speech=SpeechThresholds(accept=0.95, confirm=0.6)))

    _, half_sure = step(strict, listening("main"), heard("잔액", 0.9))
    _, unsure = step(strict, listening("main"), heard("잔액", 0.55))

    assert half_sure[0] == act.ConfirmationAsked("main", "잔액")
    assert unsure[0] == act.InputRejected("main", "no_match", 1, "잔액")


def test_menu_thresholds_apply_to_nodes_without_their_own(edit: MenuEditor) -> None:
    lenient = edit(speech=SpeechThresholds(accept=0.5, confirm=0.2))

    _, sure = step(lenient, listening("main"), heard("잔액", 0.5))
    _, half_sure = step(lenient, listening("main"), heard("잔액", 0.3))

    assert sure[0] == act.NodeEntered("account", "collect")
    assert half_sure[0] == act.ConfirmationAsked("main", "잔액")


def test_asking_for_confirmation_spends_no_attempt(menu: Menu) -> None:
    state, _ = step(menu, listening("main", attempts=2), heard("잔액", 0.6))

    assert state.attempts == 2
    assert state.confirming == "option:1"


# --- answering a confirmation ---------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(heard("예", 0.9), id="ye"),
        pytest.param(heard("네.", 0.45), id="ne-at-confirm"),
        pytest.param(heard("맞습니다", 0.7), id="matseumnida"),
        pytest.param(ev.DigitsEntered(AT, "1"), id="key-1"),
    ],
)
def test_yes_takes_the_read_back_option(menu: Menu, answer: ev.Event) -> None:
    state, actions = step(menu, ASKED_BALANCE, answer)

    assert actions[:2] == (
        act.Confirmed("main", "잔액"),
        act.NodeEntered("account", "collect"),
    )
    assert (state.node, state.confirming, state.attempts, state.turn) == ("account", None, 0, 3)


def test_english_yes_takes_the_option(menu: Menu) -> None:
    waiting = replace(asked("main", "option:0", "lost card"), language="en")

    _, actions = step(menu, waiting, heard("Yeah", 0.8))

    assert actions[:2] == (
        act.Confirmed("main", "lost card"),
        act.NodeEntered("lost_card", "transfer"),
    )


@pytest.mark.parametrize(
    ("answer", "value"),
    [
        pytest.param(heard("아니오", 0.9), "아니오", id="aniyo"),
        pytest.param(heard("아니", 0.5), "아니", id="ani"),
        pytest.param(ev.DigitsEntered(AT, "2"), "2", id="key-2"),
        pytest.param(heard("예", 0.3), "예", id="yes-too-unsure"),
        pytest.param(heard("잔액", 0.95), "잔액", id="something-else"),
        pytest.param(ev.DigitsEntered(AT, "3"), "3", id="another-key"),
        pytest.param(ev.NoInput(AT), None, id="silence"),
    ],
)
def test_anything_but_yes_asks_the_node_again_as_a_failed_attempt(
    menu: Menu, main_node: MenuNode, answer: ev.Event, value: str | None
) -> None:
    state, actions = step(menu, ASKED_BALANCE, answer)

    assert main_node.no_match_prompt is not None
    hint = act.Prompt(main_node.no_match_prompt["ko"], "ko")
    assert actions[:3] == (
        act.InputRejected("main", "not_confirmed", 1, value),
        hint,
        prompt_of(menu, "main"),
    )
    assert isinstance(actions[3], act.Listen) and actions[3].grammar == "options"
    assert (state.confirming, state.attempts, state.turn) == (None, 1, 3)


def test_not_confirmed_after_the_last_retry_falls_back(menu: Menu) -> None:
    last_try = replace(ASKED_BALANCE, attempts=2)

    state, actions = step(menu, last_try, heard("아니요", 0.9))

    assert actions == (
        act.InputRejected("main", "not_confirmed", 3, "아니요"),
        act.FellBack("main", "agents", "not_confirmed x3"),
        act.NodeEntered("agents", "queue"),
        act.Enqueue("general", 3, "agents", AT),
    )
    assert state.phase == PHASE_QUEUED
    assert (state.confirming, state.prompts) == (None, ())


@pytest.mark.parametrize("token", ["option:9", "option:x", "digits:12345678", "option:-1"], ids=str)
def test_a_pending_choice_that_does_not_fit_the_node_is_not_confirmed(
    menu: Menu, token: str
) -> None:
    _, actions = step(menu, listening("main", confirming=token), heard("예", 0.9))

    assert actions[0] == act.InputRejected("main", "not_confirmed", 1, "예")


def test_confirmed_option_without_a_phrase_in_the_call_language_reads_as_its_key(
    edit: MenuEditor, main_node: MenuNode
) -> None:
    english_only = Option(next="lost_card", key="1", phrases={"en": ("lost card",)})
    mixed = edit(replace(main_node, options=(english_only, *main_node.options[1:])))

    _, actions = step(mixed, listening("main", confirming="option:0"), ev.DigitsEntered(AT, "1"))

    assert actions[0] == act.Confirmed("main", "1")


def test_a_whole_confirmation_turn_from_hearing_to_routing(menu: Menu) -> None:
    state, _ = step(menu, listening("main"), heard("카드 분실", 0.5))
    state, actions = step(menu, state, ev.DigitsEntered(AT, "1"))

    assert actions == (
        act.Confirmed("main", "카드 분실"),
        act.NodeEntered("lost_card", "transfer"),
        act.Transfer("+8215880000", 30, 3),
    )
    assert (state.confirming, state.prompts) == (None, ())


# --- spoken digits at a collect node --------------------------------------------------------


def test_sure_spoken_digits_are_collected(menu: Menu) -> None:
    state, actions = step(menu, listening("account"), heard("일 이 삼 사 오 육 칠 팔", 0.8))

    assert actions[0] == act.ValueCollected("account", "account_number", "12345678", True)
    assert state.variables == {"account_number": "12345678"}


def test_half_sure_spoken_digits_are_read_back_one_by_one(
    edit: MenuEditor, account_node: CollectNode
) -> None:
    open_value = edit(replace(account_node, sensitive=False))

    state, actions = step(open_value, listening("account"), heard("일 이 삼 사 오 육 칠 팔", 0.6))

    assert actions == (
        act.ConfirmationAsked("account", "1 2 3 4 5 6 7 8"),
        *(act.Prompt(word, "ko") for word in ["일", "이", "삼", "사", "오", "육", "칠", "팔"]),
        act.Prompt("맞나요?", "ko"),
        yes_no_listen("account", turn=2),
    )
    assert state == ASKED_ACCOUNT
    assert state.variables == {}


def test_confirmed_digits_are_collected_like_keyed_ones(
    edit: MenuEditor, account_node: CollectNode
) -> None:
    open_value = edit(replace(account_node, sensitive=False))
    state, actions = step(open_value, ASKED_ACCOUNT, heard("네", 0.9))
    keyed_state, keyed = step(open_value, listening("account"), ev.DigitsEntered(AT, "12345678"))

    assert actions == (act.Confirmed("account", "1 2 3 4 5 6 7 8"), *keyed)
    assert state.variables == keyed_state.variables == {"account_number": "12345678"}


def test_sensitive_digits_are_read_back_but_recorded_masked(menu: Menu) -> None:
    state, actions = step(menu, listening("account"), heard("일 이 삼 사 오 육 칠 팔", 0.6))

    # Each digit is its own prompt: no prompt text (nor cached audio) holds the whole number.
    assert actions[:10] == (
        act.ConfirmationAsked("account", "********"),
        *(
            act.Prompt(word, "ko", sensitive=True)
            for word in ["일", "이", "삼", "사", "오", "육", "칠", "팔"]
        ),
        act.Prompt("맞나요?", "ko"),
    )
    assert state.confirming == "digits:12345678"

    _, confirmed = step(menu, state, ev.DigitsEntered(AT, "1"))

    assert confirmed[:2] == (
        act.Confirmed("account", "********"),
        act.ValueCollected("account", "account_number", "12345678", True),
    )


@pytest.mark.parametrize(
    ("transcript", "confidence"),
    [
        pytest.param("일 이 삼", 0.6, id="too-few-digits"),
        pytest.param("일 이 삼 사 오 육 칠 빵", 0.9, id="not-all-digits"),
        pytest.param("일 이 삼 사 오 육 칠 팔", 0.3, id="too-unsure"),
    ],
)
def test_spoken_digits_that_are_invalid_or_unsure_are_rejected(
    menu: Menu, transcript: str, confidence: float
) -> None:
    state, actions = step(menu, listening("account"), heard(transcript, confidence))

    assert actions[0] == act.InputRejected("account", "invalid", 1, transcript)
    assert (state.confirming, state.variables) == (None, {})


def test_pending_digits_that_no_longer_fit_the_node_are_not_confirmed(menu: Menu) -> None:
    for token in ("digits:123", "option:1"):
        _, actions = step(menu, listening("account", confirming=token), heard("예", 0.9))
        assert actions[0] == act.InputRejected("account", "not_confirmed", 1, "예")


def test_the_call_ending_during_a_confirmation_forgets_the_pending_value(menu: Menu) -> None:
    state, actions = step(menu, ASKED_ACCOUNT, ev.CallEnded(AT, "completed"))

    assert actions == (act.Outcome("abandoned", "completed at account"),)
    assert state.phase == PHASE_ENDED
    assert (state.confirming, state.prompts) == (None, ())


def test_a_failure_during_a_confirmation_drops_the_pending_choice(menu: Menu) -> None:
    state, _ = step(menu, ASKED_BALANCE, ev.Failure(AT, "tts down"))

    assert state.phase == PHASE_QUEUED
    assert state.confirming is None


# --- keypad fallback ------------------------------------------------------------------------


def test_speech_unavailable_asks_again_for_the_keypad_without_spending_an_attempt(
    menu: Menu,
) -> None:
    state, actions = step(
        menu, listening("main", attempts=1), ev.SpeechUnavailable(AT, "stream refused")
    )

    keypad = current_listen(menu, replace(state, turn=2))
    assert keypad is not None
    assert actions == (
        act.KeypadFallback("main", "stream refused"),
        prompt_of(menu, "main"),
        replace(keypad, speech=False),
    )
    assert (state.attempts, state.turn) == (1, 2)
    assert state.prompts == (("카드 분실은 1번, 잔액 조회는 2번을 누르세요.", "ko"),)


def test_speech_unavailable_during_a_confirmation_asks_the_node_again(menu: Menu) -> None:
    state, actions = step(menu, ASKED_BALANCE, ev.SpeechUnavailable(AT, "capacity race"))

    assert actions[0] == act.KeypadFallback("main", "capacity race")
    assert isinstance(actions[-1], act.Listen)
    assert (actions[-1].grammar, actions[-1].speech) == ("options", False)
    assert (state.confirming, state.attempts) == (None, 0)


@pytest.mark.parametrize(
    "where",
    [
        CallState(menu_id="support"),
        replace(listening("agents", turn=2), phase=PHASE_QUEUED),
        replace(listening("main"), phase=PHASE_ENDED),
    ],
    ids=["new", "queued", "ended"],
)
def test_speech_unavailable_outside_a_wait_is_ignored(menu: Menu, where: CallState) -> None:
    state, actions = step(menu, where, ev.SpeechUnavailable(AT, "stream closed"))

    assert state is where
    assert actions == ()


def test_a_key_press_answers_a_speech_node_as_before(menu: Menu) -> None:
    _, actions = step(menu, listening("main"), ev.DigitsEntered(AT, "0"))

    assert actions == (act.NodeEntered("agents", "queue"), act.Enqueue("general", 2, "agents", AT))


# --- the wait a media-stream session picks up -----------------------------------------------


def test_state_keeps_the_prompts_heard_before_the_wait(menu: Menu) -> None:
    state, actions = step(menu, new_call(menu), ev.CallStarted(AT, "+821012345678", "+8215990000"))

    spoken = tuple((a.text, a.language) for a in actions if isinstance(a, act.Prompt))
    assert len(spoken) == 2
    assert state.prompts == spoken


def test_leaving_the_menu_forgets_the_prompts(menu: Menu) -> None:
    waiting = replace(listening("main"), prompts=(("안내", "ko"),))

    state, _ = step(menu, waiting, ev.DigitsEntered(AT, "1"))

    assert state.prompts == ()


def test_current_listen_is_the_listen_the_wait_began_with(menu: Menu) -> None:
    state, actions = step(menu, new_call(menu), ev.CallStarted(AT, "+821012345678", "+8215990000"))

    assert current_listen(menu, state) == actions[-1]
    assert current_listen(menu, state) == act.Listen(
        "main",
        1,
        5,
        num_digits=1,
        finish_on_key="",
        speech=True,
        grammar="options",
        phrases=("카드 분실", "분실 신고", "잔액", "잔액 조회", "상담원"),
        language="ko",
    )


def test_current_listen_while_confirming_waits_for_yes_or_no(menu: Menu) -> None:
    state, actions = step(menu, listening("account"), heard("일 이 삼 사 오 육 칠 팔", 0.6))

    assert current_listen(menu, state) == actions[-1] == yes_no_listen("account", turn=2)


def test_current_listen_at_a_collect_node_listens_for_digits(menu: Menu) -> None:
    listen = current_listen(menu, listening("account", turn=7, language="en"))

    assert listen == act.Listen(
        "account",
        7,
        5,
        num_digits=8,
        finish_on_key="#",
        speech=True,
        grammar="digits",
        language="en",
    )


def test_current_listen_at_a_keypad_node_does_not_listen_to_speech(
    edit: MenuEditor, main_node: MenuNode
) -> None:
    keypad = edit(replace(main_node, input=(INPUT_DTMF,)))

    listen = current_listen(keypad, listening("main"))

    assert listen is not None and listen.speech is False


def test_confirmation_in_a_language_without_yes_no_words_is_keyed(menu: Menu) -> None:
    listen = current_listen(menu, listening("main", language="fr", confirming="option:1"))

    assert listen is not None
    assert (listen.grammar, listen.phrases, listen.num_digits) == ("yes_no", (), 1)


@pytest.mark.parametrize(
    "where",
    [
        CallState(menu_id="support"),
        replace(listening("agents", turn=2), phase=PHASE_QUEUED),
        replace(listening("main"), phase=PHASE_ENDED),
        listening("welcome"),
    ],
    ids=["new", "queued", "ended", "at-a-say-node"],
)
def test_current_listen_is_none_when_the_call_is_not_waiting(menu: Menu, where: CallState) -> None:
    assert current_listen(menu, where) is None


def test_option_phrases_are_listed_once_each(edit: MenuEditor, main_node: MenuNode) -> None:
    shared = edit(
        replace(
            main_node,
            options=(
                Option(next="lost_card", key="1", phrases={"ko": ("카드", "분실")}),
                Option(next="account", key="2", phrases={"ko": ("카드", "잔액")}),
            ),
        )
    )

    listen = current_listen(shared, listening("main"))

    assert listen is not None and listen.phrases == ("카드", "분실", "잔액")


# --- stored state ---------------------------------------------------------------------------


def test_state_with_prompts_and_a_pending_choice_round_trips_through_json() -> None:
    state = replace(
        listening("account", turn=3, confirming="digits:12345678"),
        prompts=(("1 2 3 4 5 6 7 8, 맞나요?", "ko"),),
    )

    stored = json.loads(json.dumps(state.to_dict()))

    assert CallState.from_dict(stored) == state


def test_state_stored_before_speech_turns_loads_without_them() -> None:
    old_row = {
        "menu_id": "support",
        "node": "main",
        "phase": "listening",
        "language": "ko",
        "attempts": 1,
        "turn": 4,
        "variables": {},
    }

    state = CallState.from_dict(old_row)

    assert (state.prompts, state.confirming) == ((), None)
    assert state == listening("main", turn=4, attempts=1)
