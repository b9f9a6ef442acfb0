"""What goes into the history: engine events and actions, sensitive values masked."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from calls import recording
from config.loader import load_menu_file
from config.menu import Menu
from ivr import actions as act
from ivr import events as ev

MENU_FILE = Path(__file__).parents[2] / "fixtures" / "menus" / "every_node_type.yaml"
AT = datetime(2026, 11, 23, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def menu() -> Menu:
    return load_menu_file(MENU_FILE)


def test_event_types_are_snake_case_names() -> None:
    assert recording.event_type(ev.DigitsEntered(AT, "1")) == "digits_entered"
    assert recording.event_type(act.NodeEntered("a", "say")) == "node_entered"


def test_digits_at_a_sensitive_node_are_masked(menu: Menu) -> None:
    event = recording.incoming(menu, "account", ev.DigitsEntered(AT, "12345678"))
    assert event.payload["digits"] == "********" and event.payload["masked"] is True
    assert event.payload["node"] == "account" and event.at == AT


def test_digits_at_an_ordinary_node_are_kept(menu: Menu) -> None:
    event = recording.incoming(menu, "main", ev.DigitsEntered(AT, "2"))
    assert event.payload["digits"] == "2" and "masked" not in event.payload


def test_collected_and_rejected_sensitive_values_are_masked(menu: Menu) -> None:
    collected, rejected = recording.outgoing(
        menu,
        [
            act.ValueCollected("account", "account_number", "12345678", True),
            act.InputRejected("account", "invalid", 1, "123"),
        ],
        AT,
    )
    assert collected.payload["value"] == "********"
    assert rejected.payload["value"] == "***"


def test_first_outcome_of_a_turn_wins() -> None:
    actions = [act.Outcome("transferred"), act.Outcome("completed"), act.Hangup()]
    assert recording.outcome_of(actions) == "transferred"
    assert recording.outcome_of([act.Hangup()]) is None


def test_scrub_masks_sensitive_variables_only(menu: Menu) -> None:
    scrubbed = recording.scrub({"account_number": "12345678", "other": "7"}, menu)
    assert scrubbed == {"account_number": "********", "other": "7"}


def test_speech_recognized_keeps_the_measurements(menu: Menu) -> None:
    event = ev.SpeechRecognized(
        AT, "잔액", 0.87654, heard="잔액이요", grammar="options", audio_ms=900, decision_ms=120
    )

    recorded = recording.incoming(menu, "main", event)

    assert recorded.type == "speech_recognized"
    assert recorded.payload == {
        "transcript": "잔액",
        "confidence": 0.877,
        "heard": "잔액이요",
        "grammar": "options",
        "audio_ms": 900,
        "decision_ms": 120,
        "node": "main",
    }


def test_speech_at_a_sensitive_node_is_masked_but_measured(menu: Menu) -> None:
    event = ev.SpeechRecognized(AT, "일 이 삼", 0.5, heard="일 이 삼", grammar="digits")

    payload = recording.incoming(menu, "account", event).payload

    assert payload["transcript"] == payload["heard"] == "*****"
    assert payload["masked"] is True
    assert (payload["confidence"], payload["grammar"]) == (0.5, "digits")


def test_speech_unavailable_records_why(menu: Menu) -> None:
    recorded = recording.incoming(menu, "main", ev.SpeechUnavailable(AT, "stream refused"))

    assert recorded.type == "speech_unavailable"
    assert recorded.payload == {"reason": "stream refused", "node": "main"}


def test_confirmations_at_a_sensitive_node_are_masked(menu: Menu) -> None:
    asked, confirmed, prompt = recording.outgoing(
        menu,
        [
            act.ConfirmationAsked("account", "1 2 3"),
            act.Confirmed("account", "1 2 3"),
            act.Prompt("1 2 3, 맞습니까?", "ko", sensitive=True),
        ],
        AT,
    )

    assert asked.type == "confirmation_asked"
    assert asked.payload == {"node": "account", "choice": "*****", "masked": True}
    assert confirmed.type == "confirmed"
    assert confirmed.payload == {"node": "account", "choice": "*****", "masked": True}
    assert prompt.payload["text"] == "*" * len("1 2 3, 맞습니까?")
    assert prompt.payload["masked"] is True


def test_confirmations_and_prompts_at_an_ordinary_node_are_kept(menu: Menu) -> None:
    asked, prompt = recording.outgoing(
        menu, [act.ConfirmationAsked("main", "잔액"), act.Prompt("잔액, 맞습니까?", "ko")], AT
    )

    assert asked.payload == {"node": "main", "choice": "잔액"}
    assert prompt.payload == {"text": "잔액, 맞습니까?", "language": "ko", "sensitive": False}


def test_keypad_fallback_and_listen_payloads(menu: Menu) -> None:
    fallback, listen = recording.outgoing(
        menu,
        [
            act.KeypadFallback("main", "speech capacity full"),
            act.Listen("main", 3, 5, 1, "", grammar="options", phrases=("잔액",), language="ko"),
        ],
        AT,
    )

    assert fallback.type == "keypad_fallback"
    assert fallback.payload == {"node": "main", "reason": "speech capacity full"}
    assert listen.payload["phrases"] == ["잔액"]
    assert (listen.payload["grammar"], listen.payload["speech"]) == ("options", False)
