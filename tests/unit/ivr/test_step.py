"""Every flow rule of `ivr.step`, one behaviour per test, with plain values and no I/O."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from config.menu import (
    CollectNode,
    DigitsRange,
    GotoNode,
    HangupNode,
    Menu,
    MenuNode,
    Option,
    QueueNode,
    SayNode,
    TransferNode,
)
from ivr import actions as act
from ivr import events as ev
from ivr.engine import MAX_AUTOMATIC_HOPS, MAX_TURNS_PER_CALL, new_call, step
from ivr.state import (
    PHASE_ENDED,
    PHASE_LISTENING,
    PHASE_NEW,
    PHASE_QUEUED,
    PHASE_TRANSFERRING,
    CallState,
)

MenuEditor = Callable[..., Menu]  # the `edit` fixture of conftest.py

OPEN = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 10:00 in Seoul
CLOSED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # Monday 19:00 in Seoul
AT = OPEN

CALL_STARTED = ev.CallStarted(AT, caller="+821012345678", called="+8215990000")


def listening(
    node: str,
    *,
    turn: int = 1,
    attempts: int = 0,
    language: str = "ko",
    prompts: tuple[act.Prompt, ...] = (),
) -> CallState:
    """A call waiting at ``node``, having heard ``prompts`` before the wait."""
    return CallState(
        menu_id="support",
        node=node,
        phase=PHASE_LISTENING,
        language=language,
        attempts=attempts,
        turn=turn,
        prompts=tuple((p.text, p.language) for p in prompts),
    )


def said(menu: Menu, node_id: str, language: str = "ko") -> act.Prompt:
    node = menu.node(node_id)
    assert isinstance(
        node, SayNode | MenuNode | CollectNode | TransferNode | QueueNode | HangupNode
    )
    assert node.prompt is not None
    return act.Prompt(node.prompt[language], language)


def message(menu: Menu, key: str, language: str = "ko") -> act.Prompt:
    return act.Prompt(menu.messages[key][language], language)


MAIN_PHRASES = {
    "ko": ("카드 분실", "분실 신고", "잔액", "잔액 조회", "상담원"),
    "en": ("lost card", "I lost my card", "balance", "agent", "operator"),
}


def main_listen(turn: int, language: str = "ko") -> act.Listen:
    return act.Listen(
        "main",
        turn,
        5,
        num_digits=1,
        finish_on_key="",
        speech=True,
        grammar="options",
        phrases=MAIN_PHRASES[language],
        language=language,
    )


def account_listen(turn: int, num_digits: int = 8) -> act.Listen:
    return act.Listen(
        "account",
        turn,
        5,
        num_digits=num_digits,
        finish_on_key="#",
        speech=True,
        grammar="digits",
        language="ko",
    )


def goodbye(menu: Menu, language: str = "ko") -> tuple[act.Action, ...]:
    """What the ``goodbye`` hangup node does once entered."""
    return (
        act.NodeEntered("goodbye", "hangup"),
        said(menu, "goodbye", language),
        act.Outcome("completed", "goodbye"),
        act.Hangup(),
    )


def enqueued(turn: int) -> tuple[act.Action, ...]:
    return (act.NodeEntered("agents", "queue"), act.Enqueue("general", turn, "agents", AT))


# --- call start, automatic nodes, language ------------------------------------------------


def test_new_call_starts_in_the_menu_default_language(menu: Menu, edit: MenuEditor) -> None:
    assert new_call(menu) == CallState(menu_id="support", node="", phase=PHASE_NEW, language="ko")
    assert new_call(edit(languages=("en", "ko"))).language == "en"


def test_call_start_walks_say_hours_menu_and_listens(menu: Menu) -> None:
    state, actions = step(menu, new_call(menu), CALL_STARTED)

    assert actions == (
        act.NodeEntered("welcome", "say"),
        said(menu, "welcome"),
        act.NodeEntered("open_check", "hours"),
        act.HoursChecked("open_check", "main", True, "2026-03-02T10:00+09:00"),
        act.NodeEntered("main", "menu"),
        said(menu, "main"),
        main_listen(turn=1),
    )
    heard = (said(menu, "welcome"), said(menu, "main"))
    assert state == replace(
        listening("main", turn=1, prompts=heard),
        caller=CALL_STARTED.caller,
        called=CALL_STARTED.called,
    )


def test_call_start_outside_hours_says_closed_and_hangs_up(menu: Menu) -> None:
    state, actions = step(menu, new_call(menu), replace(CALL_STARTED, at=CLOSED))

    assert actions == (
        act.NodeEntered("welcome", "say"),
        said(menu, "welcome"),
        act.NodeEntered("open_check", "hours"),
        act.HoursChecked("open_check", "main", False, "2026-03-02T19:00+09:00"),
        act.NodeEntered("closed_message", "say"),
        said(menu, "closed_message"),
        *goodbye(menu),
    )
    assert state.phase == PHASE_ENDED
    assert state.node == "goodbye"


def test_call_start_on_a_holiday_takes_the_closed_branch(menu: Menu) -> None:
    christmas_morning = datetime(2026, 12, 25, 1, 0, tzinfo=UTC)  # Friday 10:00 in Seoul

    _, actions = step(menu, new_call(menu), replace(CALL_STARTED, at=christmas_morning))

    assert act.HoursChecked("open_check", "main", False, "2026-12-25T10:00+09:00") in actions
    assert act.NodeEntered("closed_message", "say") in actions


def test_naive_instant_at_an_hours_node_is_refused(menu: Menu) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        step(menu, new_call(menu), replace(CALL_STARTED, at=datetime(2026, 3, 2, 10, 0)))


def test_prompts_are_spoken_in_the_call_language(menu: Menu) -> None:
    english = replace(new_call(menu), language="en")

    state, actions = step(menu, english, CALL_STARTED)

    prompts = [a for a in actions if isinstance(a, act.Prompt)]
    assert prompts == [said(menu, "welcome", "en"), said(menu, "main", "en")]
    assert state.language == "en"


def test_goto_jumps_to_its_next_without_speaking(edit: MenuEditor) -> None:
    jumping = edit(GotoNode("entry", next="main"), start="entry")

    state, actions = step(jumping, new_call(jumping), CALL_STARTED)

    assert actions == (
        act.NodeEntered("entry", "goto"),
        act.NodeEntered("main", "menu"),
        said(jumping, "main"),
        main_listen(turn=1),
    )
    assert state.node == "main"


def test_say_chain_speaks_each_prompt_then_reaches_hangup(edit: MenuEditor) -> None:
    chained = edit(start="balance_result")

    state, actions = step(chained, new_call(chained), CALL_STARTED)

    assert actions == (
        act.NodeEntered("balance_result", "say"),
        said(chained, "balance_result"),
        *goodbye(chained),
    )
    assert state.phase == PHASE_ENDED


def test_goto_cycle_ends_the_call_after_the_hop_limit(edit: MenuEditor) -> None:
    corrupt = edit(GotoNode("ping", next="pong"), GotoNode("pong", next="ping"), start="ping")

    state, actions = step(corrupt, new_call(corrupt), CALL_STARTED)

    entered = actions[:MAX_AUTOMATIC_HOPS]
    assert entered == tuple(
        act.NodeEntered("ping" if i % 2 == 0 else "pong", "goto") for i in range(MAX_AUTOMATIC_HOPS)
    )
    assert actions[MAX_AUTOMATIC_HOPS:] == (
        act.FellBack("ping", None, "too many hops"),
        message(corrupt, "goodbye"),
        act.Outcome("failed"),
        act.Hangup(),
    )
    assert state.phase == PHASE_ENDED


# --- menu: keys, no match, no input, retries, fallback ------------------------------------


def test_menu_key_routes_to_the_option_next(menu: Menu) -> None:
    state, actions = step(menu, listening("main"), ev.DigitsEntered(AT, "2"))

    assert actions == (
        act.NodeEntered("account", "collect"),
        said(menu, "account"),
        account_listen(turn=2),
    )
    assert state == listening("account", turn=2, prompts=(said(menu, "account"),))


def test_no_match_reprompts_with_the_node_no_match_prompt(menu: Menu, main_node: MenuNode) -> None:
    state, actions = step(menu, listening("main"), ev.DigitsEntered(AT, "7"))

    assert main_node.no_match_prompt is not None
    assert actions == (
        act.InputRejected("main", "no_match", 1, "7"),
        act.Prompt(main_node.no_match_prompt["ko"], "ko"),
        said(menu, "main"),
        main_listen(turn=2),
    )
    hint = act.Prompt(main_node.no_match_prompt["ko"], "ko")
    assert state == listening("main", turn=2, attempts=1, prompts=(hint, said(menu, "main")))


def test_no_match_without_node_prompt_uses_the_menu_message(
    edit: MenuEditor, main_node: MenuNode
) -> None:
    plain = edit(replace(main_node, no_match_prompt=None))

    _, actions = step(plain, listening("main"), ev.DigitsEntered(AT, "7"))

    assert actions[1] == message(plain, "no_match")


def test_no_input_reprompts_with_the_menu_no_input_message(menu: Menu) -> None:
    state, actions = step(menu, listening("main"), ev.NoInput(AT))

    assert actions == (
        act.InputRejected("main", "no_input", 1, None),
        message(menu, "no_input"),
        said(menu, "main"),
        main_listen(turn=2),
    )
    assert state == listening(
        "main", turn=2, attempts=1, prompts=(message(menu, "no_input"), said(menu, "main"))
    )


def test_no_input_uses_the_node_no_input_prompt_when_set(
    edit: MenuEditor, main_node: MenuNode
) -> None:
    custom = edit(replace(main_node, no_input_prompt={"ko": "여보세요?", "en": "Hello?"}))

    _, actions = step(custom, listening("main", language="en"), ev.NoInput(AT))

    assert actions[1] == act.Prompt("Hello?", "en")


def test_reprompt_is_spoken_in_the_call_language(menu: Menu, main_node: MenuNode) -> None:
    _, actions = step(menu, listening("main", language="en"), ev.DigitsEntered(AT, "7"))

    assert main_node.no_match_prompt is not None
    assert actions[1:3] == (
        act.Prompt(main_node.no_match_prompt["en"], "en"),
        said(menu, "main", "en"),
    )


def test_second_no_input_routes_to_fallback(edit: MenuEditor, main_node: MenuNode) -> None:
    one_retry = edit(replace(main_node, retries=1))

    state, first = step(one_retry, listening("main"), ev.NoInput(AT))
    state, second = step(one_retry, state, ev.NoInput(AT))

    assert isinstance(first[-1], act.Listen)
    assert second == (
        act.InputRejected("main", "no_input", 2, None),
        act.FellBack("main", "agents", "no_input x2"),
        *enqueued(turn=3),
    )
    assert state == queued(turn=3)


def test_failed_inputs_of_any_kind_share_the_retry_budget(menu: Menu) -> None:
    state = listening("main")
    state, _ = step(menu, state, ev.NoInput(AT))
    state, _ = step(menu, state, ev.DigitsEntered(AT, "9"))
    assert (state.attempts, state.turn) == (2, 3)

    state, actions = step(menu, state, ev.SpeechRecognized(AT, "음", 0.4))

    assert actions == (
        act.InputRejected("main", "no_match", 3, "음"),
        act.FellBack("main", "agents", "no_match x3"),
        *enqueued(turn=4),
    )


def test_retries_exhausted_without_fallback_says_goodbye_and_fails(
    edit: MenuEditor, main_node: MenuNode
) -> None:
    no_fallback = edit(replace(main_node, fallback=None))

    state, actions = step(no_fallback, listening("main", attempts=2), ev.DigitsEntered(AT, "9"))

    assert actions == (
        act.InputRejected("main", "no_match", 3, "9"),
        act.FellBack("main", None, "no_match x3"),
        message(no_fallback, "goodbye"),
        act.Outcome("failed"),
        act.Hangup(),
    )
    assert state.phase == PHASE_ENDED


def test_zero_retries_falls_back_on_the_first_miss(edit: MenuEditor, main_node: MenuNode) -> None:
    no_retry = edit(replace(main_node, retries=0))

    _, actions = step(no_retry, listening("main"), ev.NoInput(AT))

    assert actions == (
        act.InputRejected("main", "no_input", 1, None),
        act.FellBack("main", "agents", "no_input x1"),
        *enqueued(turn=2),
    )


def test_attempts_reset_when_entering_a_new_node(menu: Menu) -> None:
    state, _ = step(menu, listening("main", attempts=2), ev.DigitsEntered(AT, "2"))

    assert state.node == "account"
    assert state.attempts == 0


# --- spoken input at a menu ---------------------------------------------------------------


def test_spoken_phrase_selects_its_option(menu: Menu) -> None:
    state, actions = step(menu, listening("main"), ev.SpeechRecognized(AT, "잔액 조회", 0.9))

    assert actions[0] == act.NodeEntered("account", "collect")
    assert state.node == "account"


def test_spoken_phrase_ignores_case_and_punctuation(menu: Menu) -> None:
    english = listening("main", language="en")

    state, actions = step(menu, english, ev.SpeechRecognized(AT, "  Lost CARD! ", 0.8))

    assert actions == (
        act.NodeEntered("lost_card", "transfer"),
        act.Transfer("+8215880000", 30, 2),
    )
    assert state.phase == PHASE_TRANSFERRING


@pytest.mark.parametrize(
    "transcript",
    [
        pytest.param("카드", id="part-of-a-phrase"),
        pytest.param("카드 분실 했어요", id="phrase-with-more-words"),
        pytest.param("balance", id="phrase-of-another-language"),
    ],
)
def test_spoken_input_that_is_not_a_whole_phrase_is_no_match(menu: Menu, transcript: str) -> None:
    state, actions = step(menu, listening("main"), ev.SpeechRecognized(AT, transcript, 0.9))

    assert actions[0] == act.InputRejected("main", "no_match", 1, transcript)
    assert replace(state, prompts=()) == listening("main", turn=2, attempts=1)


def test_phrase_shared_by_two_options_is_no_match(edit: MenuEditor, main_node: MenuNode) -> None:
    ambiguous = edit(
        replace(
            main_node,
            options=(
                Option(next="lost_card", key="1", phrases={"ko": ("카드",), "en": ("card",)}),
                Option(next="account", key="2", phrases={"ko": ("카드",), "en": ("account",)}),
            ),
        )
    )

    _, actions = step(ambiguous, listening("main"), ev.SpeechRecognized(AT, "카드", 0.9))

    assert actions[0] == act.InputRejected("main", "no_match", 1, "카드")


# --- collect ------------------------------------------------------------------------------


def test_collect_stores_valid_digits_and_records_them(menu: Menu) -> None:
    state, actions = step(menu, listening("account"), ev.DigitsEntered(AT, "12345678"))

    assert actions == (
        act.ValueCollected("account", "account_number", "12345678", sensitive=True),
        act.NodeEntered("balance_result", "say"),
        said(menu, "balance_result"),
        *goodbye(menu),
    )
    assert state.variables == {"account_number": "12345678"}
    assert state.phase == PHASE_ENDED


def test_collect_keeps_earlier_variables(menu: Menu) -> None:
    earlier = replace(listening("account"), variables={"card": "4321"})

    state, _ = step(menu, earlier, ev.DigitsEntered(AT, "12345678"))

    assert state.variables == {"card": "4321", "account_number": "12345678"}


def test_collect_records_a_non_sensitive_value_as_such(
    edit: MenuEditor, account_node: CollectNode
) -> None:
    open_value = edit(replace(account_node, sensitive=False))

    _, actions = step(open_value, listening("account"), ev.DigitsEntered(AT, "12345678"))

    assert actions[0] == act.ValueCollected("account", "account_number", "12345678", False)


@pytest.mark.parametrize(
    "digits",
    [
        pytest.param("1234567", id="too-short"),
        pytest.param("123456789", id="too-long"),
        pytest.param("1234*678", id="not-a-digit"),
        pytest.param("", id="empty"),
        pytest.param("١٢٣٤٥٦٧٨", id="non-ascii-digits"),
    ],
)
def test_collect_rejects_invalid_digits_and_reprompts(menu: Menu, digits: str) -> None:
    state, actions = step(menu, listening("account"), ev.DigitsEntered(AT, digits))

    assert actions == (
        act.InputRejected("account", "invalid", 1, digits),
        message(menu, "no_match"),
        said(menu, "account"),
        account_listen(turn=2),
    )
    assert state == listening(
        "account", turn=2, attempts=1, prompts=(message(menu, "no_match"), said(menu, "account"))
    )
    assert state.variables == {}


def test_collect_rejects_digits_that_miss_the_pattern(
    edit: MenuEditor, account_node: CollectNode
) -> None:
    patterned = edit(replace(account_node, pattern=r"1\d{7}"))

    _, rejected = step(patterned, listening("account"), ev.DigitsEntered(AT, "22345678"))
    _, accepted = step(patterned, listening("account"), ev.DigitsEntered(AT, "12345678"))

    assert rejected[0] == act.InputRejected("account", "invalid", 1, "22345678")
    assert accepted[0] == act.ValueCollected("account", "account_number", "12345678", True)


def test_collect_accepts_any_length_within_its_range(
    edit: MenuEditor, account_node: CollectNode
) -> None:
    pin = edit(replace(account_node, digits=DigitsRange(min=4, max=6)))

    _, entering = step(pin, listening("main"), ev.DigitsEntered(AT, "2"))
    _, shortest = step(pin, listening("account"), ev.DigitsEntered(AT, "1234"))
    _, longest = step(pin, listening("account"), ev.DigitsEntered(AT, "123456"))

    assert entering[-1] == account_listen(turn=2, num_digits=6)
    assert shortest[0] == act.ValueCollected("account", "account_number", "1234", True)
    assert longest[0] == act.ValueCollected("account", "account_number", "123456", True)


@pytest.mark.parametrize(
    ("transcript", "digits", "language"),
    [
        pytest.param("일 이 삼 사 오 육 칠 팔", "12345678", "ko", id="sino-korean"),
        pytest.param("하나 둘 셋 넷 다섯 여섯 일곱 여덟", "12345678", "ko", id="native-korean"),
        pytest.param("one two three four five six seven eight", "12345678", "en", id="english"),
        pytest.param("1234 오 육 칠 팔", "12345678", "ko", id="numerals-and-words"),
    ],
)
def test_collect_accepts_spoken_digits(
    menu: Menu, transcript: str, digits: str, language: str
) -> None:
    heard = ev.SpeechRecognized(AT, transcript, 0.9)

    state, actions = step(menu, listening("account", language=language), heard)

    assert actions[0] == act.ValueCollected("account", "account_number", digits, True)
    assert state.variables == {"account_number": digits}


def test_collect_accepts_short_spoken_digit_runs(
    edit: MenuEditor, account_node: CollectNode
) -> None:
    short = edit(replace(account_node, digits=DigitsRange(min=2, max=3)))

    _, korean = step(short, listening("account"), ev.SpeechRecognized(AT, "하나 둘 셋", 0.9))
    _, english = step(
        short, listening("account", language="en"), ev.SpeechRecognized(AT, "one two", 0.9)
    )

    assert korean[0] == act.ValueCollected("account", "account_number", "123", True)
    assert english[0] == act.ValueCollected("account", "account_number", "12", True)


def test_collect_rejects_speech_that_is_not_all_digits(menu: Menu) -> None:
    heard = ev.SpeechRecognized(AT, "일 이 삼 사 오 육 칠 빵", 0.9)

    state, actions = step(menu, listening("account"), heard)

    assert actions[0] == act.InputRejected("account", "invalid", 1, heard.transcript)
    assert state.variables == {}


def test_collect_retries_exhausted_routes_to_fallback(menu: Menu) -> None:
    state, actions = step(menu, listening("account", attempts=2), ev.NoInput(AT))

    assert actions == (
        act.InputRejected("account", "no_input", 3, None),
        act.FellBack("account", "agents", "no_input x3"),
        *enqueued(turn=2),
    )
    assert state.phase == PHASE_QUEUED


# --- transfer -----------------------------------------------------------------------------


def transferring(turn: int = 2) -> CallState:
    return replace(listening("lost_card", turn=turn), phase=PHASE_TRANSFERRING)


def test_transfer_node_dials_its_number(menu: Menu) -> None:
    state, actions = step(menu, listening("main"), ev.DigitsEntered(AT, "1"))

    assert actions == (
        act.NodeEntered("lost_card", "transfer"),
        act.Transfer("+8215880000", timeout_seconds=30, turn=2),
    )
    assert state == transferring(turn=2)


def test_transfer_prompt_plays_before_dialing(edit: MenuEditor) -> None:
    announced = edit(
        TransferNode(
            "lost_card",
            "+8215880000",
            "goodbye",
            timeout=20,
            prompt={"ko": "연결합니다.", "en": "Connecting."},
        )
    )

    _, actions = step(announced, listening("main"), ev.DigitsEntered(AT, "1"))

    assert actions[1:] == (act.Prompt("연결합니다.", "ko"), act.Transfer("+8215880000", 20, 2))


@pytest.mark.parametrize("status", ["completed", "answered"])
def test_connected_transfer_is_recorded_then_the_call_goes_on(menu: Menu, status: str) -> None:
    state, actions = step(menu, transferring(), ev.TransferEnded(AT, status, 42))

    assert actions == (act.Outcome("transferred", "+8215880000 42s"), *goodbye(menu))
    assert state.phase == PHASE_ENDED


@pytest.mark.parametrize("status", ["busy", "no-answer", "failed", "canceled"])
def test_unconnected_transfer_apologises_and_goes_on(menu: Menu, status: str) -> None:
    state, actions = step(menu, transferring(), ev.TransferEnded(AT, status))

    assert actions == (
        act.FellBack("lost_card", "goodbye", f"transfer {status}"),
        message(menu, "transfer_failed"),
        *goodbye(menu),
    )
    assert state.node == "goodbye"


# --- queue --------------------------------------------------------------------------------


def queued(turn: int = 2) -> CallState:
    return replace(listening("agents", turn=turn), phase=PHASE_QUEUED, queued_at=AT.isoformat())


def test_queue_node_enqueues_the_caller(menu: Menu) -> None:
    state, actions = step(menu, listening("main"), ev.DigitsEntered(AT, "0"))

    assert actions == enqueued(turn=2)
    assert state == queued(turn=2)


def test_queue_prompt_plays_before_enqueueing(edit: MenuEditor) -> None:
    announced = edit(
        QueueNode("agents", "general", prompt={"ko": "잠시만요.", "en": "Please hold."})
    )

    _, actions = step(announced, listening("main", language="en"), ev.DigitsEntered(AT, "0"))

    assert actions[1:] == (
        act.Prompt("Please hold.", "en"),
        act.Enqueue("general", 2, "agents", AT),
    )


def test_bridged_queue_call_is_answered_and_ends(menu: Menu) -> None:
    state, actions = step(menu, queued(), ev.QueueResult(AT, "bridged", queue_seconds=30))

    assert actions == (
        act.QueueLeft("agents", "general", "bridged", 30),
        act.Outcome("answered", "bridged after 30s"),
        act.Hangup(),
    )
    assert state == replace(queued(), phase=PHASE_ENDED)


def test_caller_hanging_up_in_the_queue_is_abandoned(menu: Menu) -> None:
    state, actions = step(menu, queued(), ev.QueueResult(AT, "hangup", queue_seconds=12))

    assert actions == (
        act.QueueLeft("agents", "general", "hangup", 12),
        act.Outcome("abandoned", "hangup after 12s"),
        act.Hangup(),
    )
    assert state.phase == PHASE_ENDED


@pytest.mark.parametrize("result", ["leave", "queue-full", "error", "system-error"])
def test_unavailable_queue_apologises_and_routes_to_its_next(edit: MenuEditor, result: str) -> None:
    with_next = edit(QueueNode("agents", "general", next="closed_message"))

    state, actions = step(with_next, queued(), ev.QueueResult(AT, result))

    assert actions == (
        act.QueueLeft("agents", "general", result, 0),
        act.FellBack("agents", "closed_message", f"queue {result}"),
        message(with_next, "queue_unavailable"),
        act.NodeEntered("closed_message", "say"),
        said(with_next, "closed_message"),
        *goodbye(with_next),
    )
    assert state.phase == PHASE_ENDED


def test_unavailable_queue_without_next_says_goodbye(menu: Menu) -> None:
    state, actions = step(menu, queued(), ev.QueueResult(AT, "queue-full"))

    assert actions == (
        act.QueueLeft("agents", "general", "queue-full", 0),
        act.FellBack("agents", None, "queue queue-full"),
        message(menu, "queue_unavailable"),
        message(menu, "goodbye"),
        act.Outcome("failed"),
        act.Hangup(),
    )
    assert state == replace(queued(), phase=PHASE_ENDED)


# --- hangup -------------------------------------------------------------------------------


def test_hangup_node_says_its_prompt_and_completes(edit: MenuEditor) -> None:
    short = edit(start="goodbye")

    state, actions = step(short, new_call(short), CALL_STARTED)

    assert actions == goodbye(short)
    assert state.phase == PHASE_ENDED


def test_hangup_node_without_prompt_just_hangs_up(edit: MenuEditor) -> None:
    silent = edit(HangupNode("goodbye"), start="goodbye")

    state, actions = step(silent, new_call(silent), CALL_STARTED)

    assert actions == (
        act.NodeEntered("goodbye", "hangup"),
        act.Outcome("completed", "goodbye"),
        act.Hangup(),
    )
    assert state.phase == PHASE_ENDED


# --- failures -----------------------------------------------------------------------------


def test_failure_apologises_and_routes_to_the_menu_fallback(menu: Menu) -> None:
    state, actions = step(menu, listening("main"), ev.Failure(AT, "tts down"))

    assert actions == (
        act.FellBack("main", "agents", "tts down"),
        message(menu, "error"),
        *enqueued(turn=2),
    )
    assert state == queued(turn=2)


def test_failure_before_the_menu_starts_routes_to_the_fallback(menu: Menu) -> None:
    state, actions = step(menu, new_call(menu), ev.Failure(AT, "state unreadable"))

    assert actions[:2] == (
        act.FellBack("welcome", "agents", "state unreadable"),
        message(menu, "error"),
    )
    assert state.phase == PHASE_QUEUED


def test_failure_at_the_fallback_node_says_goodbye_instead_of_looping(menu: Menu) -> None:
    state, actions = step(menu, queued(), ev.Failure(AT, "queue down"))

    assert actions == (
        act.FellBack("agents", None, "queue down"),
        message(menu, "error"),
        message(menu, "goodbye"),
        act.Outcome("failed"),
        act.Hangup(),
    )
    assert state.phase == PHASE_ENDED


def test_failure_without_a_menu_fallback_says_goodbye(edit: MenuEditor) -> None:
    no_fallback = edit(fallback=None)

    state, actions = step(no_fallback, listening("main", language="en"), ev.Failure(AT, "boom"))

    assert actions == (
        act.FellBack("main", None, "boom"),
        message(no_fallback, "error", "en"),
        message(no_fallback, "goodbye", "en"),
        act.Outcome("failed"),
        act.Hangup(),
    )
    assert state.phase == PHASE_ENDED


# --- end of call, stale and out-of-phase events -------------------------------------------


def test_caller_hanging_up_while_listening_is_abandoned(menu: Menu) -> None:
    state, actions = step(menu, listening("main"), ev.CallEnded(AT, "completed", 17))

    assert actions == (act.Outcome("abandoned", "completed at main"),)
    assert state == replace(listening("main"), phase=PHASE_ENDED)


def test_call_ended_before_the_menu_is_abandoned(menu: Menu) -> None:
    state, actions = step(menu, new_call(menu), ev.CallEnded(AT, "canceled"))

    assert actions == (act.Outcome("abandoned", "canceled at "),)
    assert state.phase == PHASE_ENDED


@pytest.mark.parametrize("where", [transferring(), queued()], ids=["transferring", "queued"])
def test_call_ended_after_leaving_the_menu_leaves_the_outcome_to_that_leg(
    menu: Menu, where: CallState
) -> None:
    state, actions = step(menu, where, ev.CallEnded(AT, "completed"))

    assert actions == ()
    assert state == replace(where, phase=PHASE_ENDED)


EVERY_EVENT: tuple[ev.Event, ...] = (
    CALL_STARTED,
    ev.DigitsEntered(AT, "1"),
    ev.NoInput(AT),
    ev.SpeechRecognized(AT, "잔액", 0.9),
    ev.TransferEnded(AT, "completed"),
    ev.QueueResult(AT, "bridged"),
    ev.Failure(AT, "boom"),
    ev.CallEnded(AT, "completed"),
)


@pytest.mark.parametrize("event", EVERY_EVENT, ids=lambda e: type(e).__name__)
def test_events_after_the_call_ended_do_nothing(menu: Menu, event: ev.Event) -> None:
    ended = replace(listening("main"), phase=PHASE_ENDED)

    state, actions = step(menu, ended, event)

    assert state is ended
    assert actions == ()


@pytest.mark.parametrize(
    ("where", "event"),
    [
        pytest.param(transferring(), ev.DigitsEntered(AT, "1"), id="digits-while-transferring"),
        pytest.param(queued(), ev.SpeechRecognized(AT, "상담원", 0.9), id="speech-while-queued"),
        pytest.param(transferring(), ev.NoInput(AT), id="no-input-while-transferring"),
        pytest.param(
            listening("main"), ev.TransferEnded(AT, "completed"), id="transfer-ended-listening"
        ),
        pytest.param(queued(), ev.TransferEnded(AT, "busy"), id="transfer-ended-while-queued"),
        pytest.param(listening("main"), ev.QueueResult(AT, "bridged"), id="queue-result-listening"),
        pytest.param(transferring(), ev.QueueResult(AT, "leave"), id="queue-result-transferring"),
        pytest.param(listening("main"), CALL_STARTED, id="call-started-twice"),
        pytest.param(
            CallState(menu_id="support"), ev.DigitsEntered(AT, "1"), id="digits-before-start"
        ),
        pytest.param(listening("welcome"), ev.DigitsEntered(AT, "1"), id="digits-at-a-say-node"),
    ],
)
def test_event_in_the_wrong_phase_does_nothing(
    menu: Menu, where: CallState, event: ev.Event
) -> None:
    state, actions = step(menu, where, event)

    assert state is where
    assert actions == ()


# --- purity -------------------------------------------------------------------------------

A_WHOLE_CALL: tuple[ev.Event, ...] = (
    CALL_STARTED,
    ev.NoInput(AT),
    ev.DigitsEntered(AT, "2"),
    ev.SpeechRecognized(AT, "일 이 삼", 0.7),
    ev.DigitsEntered(AT, "12345678"),
    ev.CallEnded(AT, "completed"),
)


def run(menu: Menu, events: tuple[ev.Event, ...]) -> list[tuple[CallState, tuple[act.Action, ...]]]:
    state = new_call(menu)
    results: list[tuple[CallState, tuple[act.Action, ...]]] = []
    for event in events:
        state, actions = step(menu, state, event)
        results.append((state, actions))
    return results


def test_step_never_mutates_its_inputs(menu: Menu) -> None:
    menu_before = copy.deepcopy(menu)
    state = replace(listening("account"), variables={"card": "4321"})
    state_before = copy.deepcopy(state)

    step(menu, state, ev.DigitsEntered(AT, "12345678"))
    run(menu, A_WHOLE_CALL)

    assert state == state_before
    assert menu == menu_before
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.node = "elsewhere"  # type: ignore[misc]


def test_step_is_deterministic(menu: Menu) -> None:
    assert run(menu, A_WHOLE_CALL) == run(menu, A_WHOLE_CALL)
    assert run(menu, A_WHOLE_CALL)[-2][0].variables == {"account_number": "12345678"}


# --- stored state -------------------------------------------------------------------------


def test_call_state_round_trips_through_a_json_dict() -> None:
    state = CallState(
        menu_id="support",
        node="account",
        phase=PHASE_LISTENING,
        language="en",
        attempts=1,
        turn=4,
        variables={"account_number": "12345678"},
    )

    stored = json.loads(json.dumps(state.to_dict()))

    assert CallState.from_dict(stored) == state


def test_call_state_from_a_minimal_dict_takes_the_defaults() -> None:
    assert CallState.from_dict({"menu_id": "support"}) == CallState(menu_id="support")


def test_a_call_looping_past_the_turn_limit_is_ended_politely(menu: Menu) -> None:
    state = CallState(
        menu_id=menu.id, node="main", phase=PHASE_LISTENING, language="ko", turn=MAX_TURNS_PER_CALL
    )
    new_state, actions = step(menu, state, ev.NoInput(at=datetime(2026, 11, 23, 1, tzinfo=UTC)))
    assert new_state.phase == "ended"
    assert isinstance(actions[-1], act.Hangup)
    assert any(isinstance(a, act.FellBack) and "turns" in a.reason for a in actions)
