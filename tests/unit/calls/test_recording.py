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
