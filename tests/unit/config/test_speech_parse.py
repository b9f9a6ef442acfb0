"""The ``speech`` thresholds of a menu and its nodes, and the ``confirm`` message they use."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from config.loader import MenuError, MenuIssue, parse_menu
from config.menu import (
    DEFAULT_SPEECH_ACCEPT,
    DEFAULT_SPEECH_CONFIRM,
    CollectNode,
    MenuNode,
    SpeechThresholds,
)
from config.messages import BUILTIN_MESSAGES, CHOICE_PLACEHOLDER, MessageKey

_BASE: dict[str, Any] = {
    "id": "speech-menu",
    "languages": ["ko", "en"],
    "start": "main",
    "nodes": {
        "main": {
            "type": "menu",
            "prompt": {"ko": "잔액은 1번.", "en": "Balance: press 1."},
            "input": ["dtmf", "speech"],
            "options": [
                {"key": "1", "phrases": {"ko": ["잔액"], "en": ["balance"]}, "next": "account"},
                {"key": "2", "next": "pin"},
            ],
        },
        "account": {
            "type": "collect",
            "prompt": {"ko": "계좌 번호를 말씀해 주세요.", "en": "Say your account number."},
            "variable": "account_number",
            "digits": {"min": 8, "max": 8},
            "input": ["dtmf", "speech"],
            "next": "bye",
        },
        "pin": {
            "type": "collect",
            "prompt": {"ko": "비밀번호를 누르세요.", "en": "Enter your PIN."},
            "variable": "pin",
            "digits": {"min": 4, "max": 4},
            "sensitive": True,
            "next": "bye",
        },
        "bye": {"type": "hangup", "prompt": {"ko": "감사합니다.", "en": "Goodbye."}},
    },
}


def base(**top: Any) -> dict[str, Any]:
    """A valid menu with a speech menu node, a speech collect node and a keypad collect node."""
    return copy.deepcopy(_BASE) | top


def with_node_speech(node: str, thresholds: Any, **top: Any) -> dict[str, Any]:
    data = base(**top)
    data["nodes"][node]["speech"] = thresholds
    return data


def check_refused(data: dict[str, Any], node: str | None, field: str, *words: str) -> MenuIssue:
    with pytest.raises(MenuError) as caught:
        parse_menu(data)
    found = list(caught.value.issues)
    assert [(i.node, i.field) for i in found] == [(node, field)], [str(i) for i in found]
    for word in words:
        assert word in found[0].message
    return found[0]


def node_speech(data: dict[str, Any], node_id: str) -> SpeechThresholds | None:
    node = parse_menu(data).node(node_id)
    assert isinstance(node, MenuNode | CollectNode)
    return node.speech


# --- accepted -------------------------------------------------------------------------------


def test_menu_without_speech_takes_the_default_thresholds() -> None:
    menu = parse_menu(base())

    assert menu.speech == SpeechThresholds(DEFAULT_SPEECH_ACCEPT, DEFAULT_SPEECH_CONFIRM)
    assert (DEFAULT_SPEECH_ACCEPT, DEFAULT_SPEECH_CONFIRM) == (0.8, 0.45)
    assert node_speech(base(), "main") is None


def test_menu_speech_sets_both_thresholds() -> None:
    menu = parse_menu(base(speech={"accept": 0.9, "confirm": 0.5}))

    assert menu.speech == SpeechThresholds(accept=0.9, confirm=0.5)


@pytest.mark.parametrize(
    ("speech", "expected"),
    [
        pytest.param({"accept": 1, "confirm": 0}, SpeechThresholds(1.0, 0.0), id="whole-numbers"),
        pytest.param({"accept": 0.6, "confirm": 0.6}, SpeechThresholds(0.6, 0.6), id="equal"),
        pytest.param({"confirm": 0.3}, SpeechThresholds(0.8, 0.3), id="confirm-only"),
        pytest.param({}, SpeechThresholds(), id="empty"),
    ],
)
def test_menu_speech_bounds_and_partial_settings(
    speech: dict[str, Any], expected: SpeechThresholds
) -> None:
    assert parse_menu(base(speech=speech)).speech == expected


def test_node_speech_overrides_the_menu_thresholds_one_by_one() -> None:
    data = with_node_speech("main", {"accept": 0.95}, speech={"accept": 0.7, "confirm": 0.5})
    data["nodes"]["account"]["speech"] = {"accept": 0.9, "confirm": 0.6}

    assert node_speech(data, "main") == SpeechThresholds(accept=0.95, confirm=0.5)
    assert node_speech(data, "account") == SpeechThresholds(accept=0.9, confirm=0.6)


def test_node_speech_is_part_of_the_checksum() -> None:
    plain = parse_menu(base()).checksum

    assert parse_menu(with_node_speech("main", {"accept": 0.9})).checksum != plain
    assert parse_menu(base(speech={"accept": 0.9})).checksum != plain


# --- refused --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [1.5, -0.1, "high", True, None, float("nan"), float("inf")],
    ids=["above-1", "below-0", "text", "boolean", "empty", "nan", "infinite"],
)
def test_threshold_that_is_not_a_number_from_0_to_1_is_refused(value: object) -> None:
    check_refused(base(speech={"accept": value}), None, "speech.accept", "number from 0 to 1")
    check_refused(
        with_node_speech("account", {"confirm": value}),
        "account",
        "speech.confirm",
        "number from 0 to 1",
    )


def test_confirm_above_accept_is_refused() -> None:
    check_refused(
        base(speech={"accept": 0.5, "confirm": 0.7}),
        None,
        "speech.confirm",
        "confirm 0.7 is above accept 0.5",
    )


def test_node_accept_below_the_inherited_confirm_is_refused() -> None:
    issue = check_refused(
        with_node_speech("main", {"accept": 0.4}), "main", "speech.accept", "above accept 0.4"
    )

    assert "inherited" in issue.message


def test_unknown_speech_key_is_refused_with_a_suggestion() -> None:
    check_refused(base(speech={"acept": 0.9}), None, "speech.acept", "did you mean 'accept'?")
    check_refused(with_node_speech("main", {"confrim": 0.5}), "main", "speech.confrim", "'confirm'")


def test_speech_that_is_not_a_mapping_is_refused() -> None:
    check_refused(base(speech=0.8), None, "speech", "must be a mapping")
    check_refused(with_node_speech("main", [0.8, 0.4]), "main", "speech", "must be a mapping")


def test_node_speech_on_a_keypad_node_is_refused() -> None:
    check_refused(with_node_speech("pin", {"accept": 0.9}), "pin", "speech", "listen to speech")


def test_speech_on_a_node_type_without_input_is_refused() -> None:
    check_refused(
        with_node_speech("bye", {"accept": 0.9}), "bye", "speech", "not a field of a 'hangup'"
    )


# --- the confirm message --------------------------------------------------------------------


def test_built_in_confirm_messages_read_the_choice_back() -> None:
    for text in BUILTIN_MESSAGES[MessageKey.CONFIRM].values():
        assert CHOICE_PLACEHOLDER in text


def test_confirm_override_keeps_its_placeholder_and_other_braces() -> None:
    data = base(messages={"confirm": {"en": "{choice} {really}? Press 1 or 2."}})

    confirm = parse_menu(data).messages["confirm"]

    assert confirm == {
        "ko": BUILTIN_MESSAGES[MessageKey.CONFIRM]["ko"],
        "en": "{choice} {really}? Press 1 or 2.",
    }


def test_confirm_override_without_the_placeholder_is_refused() -> None:
    check_refused(
        base(messages={"confirm": {"ko": "맞습니까?"}}),
        None,
        "messages.confirm.ko",
        "must contain {choice}",
    )
