"""``survey`` nodes: a 1-5 rating after the call, reached through a queue's ``after_agent``."""

from __future__ import annotations

from typing import Any

import pytest
from waiting_menu import check_refused, in_language, waiting_menu

from config.loader import parse_menu
from config.menu import SpeechThresholds, SurveyNode


def rate(data: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = data["nodes"]["rate"]
    return node


def test_survey_node_keeps_every_setting() -> None:
    node = parse_menu(waiting_menu()).node("rate")
    assert node == SurveyNode(
        id="rate",
        prompt={
            "ko": "상담 만족도를 1점부터 5점까지 눌러 주세요.",
            "en": "Rate your call from 1 to 5.",
        },
        next="bye",
        scale=5,
        input=("dtmf", "speech"),
        timeout=6,
        retries=2,
        no_input_prompt={"ko": "점수를 눌러 주세요.", "en": "Please press a score."},
        no_match_prompt={"ko": "1부터 5까지 눌러 주세요.", "en": "Please press 1 to 5."},
        speech=SpeechThresholds(accept=0.8, confirm=0.5),
        thanks={"ko": "평가해 주셔서 감사합니다.", "en": "Thanks for rating us."},
    )


def test_survey_node_with_required_keys_only_asks_once_more_on_keypad() -> None:
    data = waiting_menu()
    data["nodes"]["rate"] = {key: rate(data)[key] for key in ("type", "prompt", "next")}
    node = parse_menu(data).node("rate")
    assert isinstance(node, SurveyNode)
    assert (node.scale, node.input, node.timeout, node.retries) == (5, ("dtmf",), 5, 1)
    assert (node.thanks, node.speech, node.no_input_prompt) == (None, None, None)


@pytest.mark.parametrize("key", ["prompt", "next"])
def test_survey_node_without_a_required_key_is_refused(key: str) -> None:
    data = waiting_menu()
    del rate(data)[key]
    check_refused(data, "rate", key, "is required for a 'survey' node")


@pytest.mark.parametrize("scale", [10, 3, "5", 5.0, True])
def test_scale_other_than_5_is_refused_saying_why_the_key_exists(scale: object) -> None:
    data = waiting_menu()
    rate(data)["scale"] = scale
    check_refused(data, "rate", "scale", "must be 5", "supported today", "without breaking menus")


@pytest.mark.parametrize(("field", "value"), [("retries", -1), ("timeout", 0)])
def test_survey_setting_out_of_bounds_is_refused(field: str, value: int) -> None:
    data = waiting_menu()
    rate(data)[field] = value
    check_refused(data, "rate", field, "must be a whole number")


def test_thanks_missing_a_language_is_refused() -> None:
    data = waiting_menu()
    rate(data)["thanks"] = {"ko": "감사합니다."}
    check_refused(data, "rate", "thanks", "lacks the 'en' text")


def test_survey_fallback_is_refused_since_an_unrated_call_goes_on_to_next() -> None:
    data = waiting_menu()
    rate(data)["fallback"] = "bye"
    check_refused(data, "rate", "fallback", "not a field of a 'survey' node")


def test_survey_next_naming_an_unknown_node_is_refused() -> None:
    data = waiting_menu()
    rate(data)["next"] = "goodbye"
    check_refused(data, "rate", "next", "names unknown node 'goodbye'")


def test_survey_reached_only_through_after_agent_is_reachable() -> None:
    data = waiting_menu()
    del data["nodes"]["book"]["after_agent"]  # only the queue's after_agent names it now
    assert isinstance(parse_menu(data).node("rate"), SurveyNode)


def test_survey_that_no_after_agent_names_is_unreachable() -> None:
    data = waiting_menu()
    del data["nodes"]["book"]["after_agent"], data["nodes"]["agents"]["after_agent"]
    check_refused(data, "rate", "id", "cannot be reached from start node 'main'")


def test_loop_through_a_survey_is_accepted() -> None:
    data = waiting_menu()
    data["nodes"]["again"] = {"type": "goto", "next": "rate"}
    rate(data)["next"] = "again"
    assert "again" in parse_menu(data).nodes


def test_spoken_ratings_in_a_language_without_built_in_phrases_are_refused() -> None:
    data = in_language(waiting_menu(), "ja")
    del data["nodes"]["book"]["input"], data["nodes"]["book"]["speech"]
    check_refused(data, "rate", "input", "spoken ratings", "none in ja")
