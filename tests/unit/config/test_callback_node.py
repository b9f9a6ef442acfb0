"""``callback`` nodes: booking a time slot within a schedule's hours, by keypad or by voice."""

from __future__ import annotations

from typing import Any

import pytest
from waiting_menu import check_refused, in_language, issues_of, waiting_menu

from config.loader import parse_menu
from config.menu import CallbackNode, SpeechThresholds

REQUIRED = ("queue", "schedule", "prompt", "next")


def book(data: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = data["nodes"]["book"]
    return node


def minimal(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with the callback node reduced to its required keys."""
    data["nodes"]["book"] = {key: book(data)[key] for key in ("type", *REQUIRED)}
    return data


def test_callback_node_keeps_every_setting() -> None:
    node = parse_menu(waiting_menu()).node("book")
    assert node == CallbackNode(
        id="book",
        queue="general",
        schedule="main",
        prompt={"ko": "상담 전화를 예약해 드리겠습니다.", "en": "Let's book a call back."},
        next="bye",
        slots=4,
        slot_minutes=30,
        lead_minutes=120,
        days_ahead=5,
        input=("dtmf", "speech"),
        timeout=8,
        retries=1,
        fallback="bye",
        no_input_prompt={
            "ko": "원하시는 시간의 번호를 눌러 주세요.",
            "en": "Press the number of a time.",
        },
        no_match_prompt={"ko": "다시 선택해 주세요.", "en": "Please choose again."},
        speech=SpeechThresholds(accept=0.9, confirm=0.45),
        after_agent="rate",
        sms=False,
    )


def test_callback_node_with_required_keys_only_offers_3_hourly_slots_a_week_ahead() -> None:
    node = parse_menu(minimal(waiting_menu())).node("book")
    assert isinstance(node, CallbackNode)
    assert (node.slots, node.slot_minutes, node.lead_minutes, node.days_ahead) == (3, 60, 60, 7)
    assert (node.input, node.timeout, node.retries) == (("dtmf",), 5, 2)
    assert (node.fallback, node.after_agent, node.speech) == (None, None, None)
    assert node.sms is True


@pytest.mark.parametrize("key", REQUIRED)
def test_callback_node_without_a_required_key_is_refused(key: str) -> None:
    data = waiting_menu()
    del book(data)[key]
    check_refused(data, "book", key, "is required for a 'callback' node")


def test_callback_node_naming_an_unknown_queue_is_refused() -> None:
    data = waiting_menu()
    book(data)["queue"] = "vip"
    check_refused(data, "book", "queue", "unknown queue 'vip' (declared queues: general)")


def test_callback_node_naming_an_unknown_schedule_is_refused() -> None:
    data = waiting_menu()
    book(data)["schedule"] = "weekend"
    check_refused(data, "book", "schedule", "unknown schedule 'weekend'")


@pytest.mark.parametrize(
    ("field", "value", "bounds"),
    [
        ("slots", 0, "from 1 to 8"),
        ("slots", 9, "from 1 to 8"),
        ("slot_minutes", 14, "from 15 to 240"),
        ("slot_minutes", 241, "from 15 to 240"),
        ("lead_minutes", -1, "from 0 to 1440"),
        ("lead_minutes", 1441, "from 0 to 1440"),
        ("days_ahead", 0, "from 1 to 14"),
        ("days_ahead", 15, "from 1 to 14"),
        ("days_ahead", "7", "from 1 to 14"),
        ("timeout", 61, "from 1 to 60"),
        ("retries", 11, "from 0 to 10"),
    ],
)
def test_callback_setting_out_of_bounds_is_refused(field: str, value: object, bounds: str) -> None:
    data = waiting_menu()
    book(data)[field] = value
    check_refused(data, "book", field, bounds)


def test_slot_longer_than_every_opening_window_is_refused() -> None:
    data = waiting_menu()
    data["schedules"]["main"]["weekly"] = {"mon-fri": ["09:00-10:00", "14:00-15:00"]}
    book(data)["slot_minutes"] = 90
    check_refused(
        data, "book", "slot_minutes", "no slot of 90 minutes", "longest opening window is 60"
    )


def test_default_slot_longer_than_every_opening_window_is_refused_naming_the_schedule() -> None:
    data = minimal(waiting_menu())
    data["schedules"]["main"]["weekly"] = {"sat": "10:00-10:30"}
    check_refused(data, "book", "schedule", "no slot of 60 minutes fits in schedule 'main'")


def test_window_until_midnight_counts_to_24_00() -> None:
    data = waiting_menu()
    data["schedules"]["main"]["weekly"] = {"sat": "20:00-24:00"}
    book(data)["slot_minutes"] = 240
    node = parse_menu(data).node("book")
    assert isinstance(node, CallbackNode) and node.slot_minutes == 240


@pytest.mark.parametrize("field", ["fallback", "after_agent", "next"])
def test_callback_reference_to_an_unknown_node_is_refused(field: str) -> None:
    data = waiting_menu()
    book(data)[field] = "nowhere"
    check_refused(data, "book", field, "names unknown node 'nowhere'")


def test_callback_sms_that_is_not_a_boolean_is_refused() -> None:
    data = waiting_menu()
    book(data)["sms"] = "yes"
    check_refused(data, "book", "sms", "true or false")


def test_speech_thresholds_on_a_keypad_callback_are_refused() -> None:
    data = waiting_menu()
    book(data)["input"] = ["dtmf"]
    check_refused(data, "book", "speech", "only for nodes that listen to speech")


def test_prompt_missing_a_language_is_refused() -> None:
    data = waiting_menu()
    del book(data)["no_match_prompt"]["en"]
    check_refused(data, "book", "no_match_prompt", "lacks the 'en' text")


def test_spoken_slots_in_a_language_without_built_in_phrases_are_refused() -> None:
    data = in_language(waiting_menu(), "ja")
    del data["nodes"]["rate"]["input"], data["nodes"]["rate"]["speech"]
    check_refused(data, "book", "input", "none in ja", "use input: [dtmf]")


def test_keypad_callback_in_a_language_without_built_in_phrases_is_accepted() -> None:
    data = in_language(waiting_menu(), "ja")
    for node in ("book", "rate"):
        del data["nodes"][node]["input"], data["nodes"][node]["speech"]
    assert parse_menu(data).languages == ("ja",)


def test_loop_through_a_callback_node_is_accepted() -> None:
    data = waiting_menu()
    data["nodes"]["again"] = {"type": "goto", "next": "book"}
    book(data)["next"] = "again"  # the caller chose to decline: asking again is their choice
    assert "again" in parse_menu(data).nodes


def test_callback_node_reports_every_broken_field() -> None:
    data = waiting_menu()
    book(data).update(slots=0, days_ahead=30, sms=1)
    assert [(i.node, i.field) for i in issues_of(data)] == [
        ("book", "slots"),
        ("book", "days_ahead"),
        ("book", "sms"),
    ]
