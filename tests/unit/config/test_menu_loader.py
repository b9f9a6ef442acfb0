"""Menu loading and validation: every rule of MENU_FORMAT.md names the node and field it broke."""

from __future__ import annotations

import copy
import itertools
import json
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.loader import (
    MenuError,
    MenuIssue,
    check_menu_file,
    load_menu_file,
    menu_checksum,
    parse_menu,
    read_menu_source,
    read_menu_text,
)
from config.menu import (
    CollectNode,
    DigitsRange,
    GotoNode,
    HangupNode,
    HoursNode,
    MenuNode,
    Option,
    QueueNode,
    SayNode,
    TimeRange,
    TransferNode,
)
from config.menu_graph import ANY_REFERENCE, REFERENCES
from config.messages import BUILTIN_MESSAGES, MessageKey, placeholders
from config.node_parse import NODE_TYPES

FIXTURES = Path(__file__).parents[2] / "fixtures" / "menus"

_BASE: dict[str, Any] = {
    "id": "test-menu",
    "languages": ["ko", "en"],
    "start": "welcome",
    "fallback": "agents",
    "nodes": {
        "welcome": {
            "type": "say",
            "prompt": {"ko": "안녕하세요.", "en": "Hello."},
            "next": "hours",
        },
        "hours": {"type": "hours", "schedule": "main", "open": "main", "closed": "bye"},
        "main": {
            "type": "menu",
            "prompt": {"ko": "1번 또는 2번을 누르세요.", "en": "Press 1 or 2."},
            "input": ["dtmf", "speech"],
            "timeout": 5,
            "retries": 2,
            "no_input_prompt": {"ko": "입력이 없습니다.", "en": "No input."},
            "no_match_prompt": {"ko": "다시 해 주세요.", "en": "Try again."},
            "fallback": "agents",
            "options": [
                {"key": "1", "phrases": {"ko": ["잔액"], "en": ["balance"]}, "next": "account"},
                {"key": "2", "phrases": {"ko": ["분실"], "en": ["lost card"]}, "next": "transfer"},
                {"key": "0", "next": "agents"},
                {"key": "9", "next": "again"},
            ],
        },
        "account": {
            "type": "collect",
            "prompt": {"ko": "계좌 번호를 누르세요.", "en": "Enter your account number."},
            "variable": "account_number",
            "digits": {"min": 8, "max": 8},
            "finish_on_key": "#",
            "sensitive": True,
            "next": "done",
        },
        "done": {"type": "say", "prompt": {"ko": "완료되었습니다.", "en": "Done."}, "next": "bye"},
        "transfer": {"type": "transfer", "number": "+8225550100", "timeout": 30, "next": "bye"},
        "agents": {"type": "queue", "queue": "general"},
        "again": {"type": "goto", "next": "main"},
        "bye": {"type": "hangup", "prompt": {"ko": "감사합니다.", "en": "Goodbye."}},
    },
    "schedules": {
        "main": {
            "timezone": "Asia/Seoul",
            "weekly": {"mon-fri": "09:00-18:00", "sat": "09:00-13:00"},
            "holidays": ["2026-12-25"],
        }
    },
    "queues": {"general": {"service_level_seconds": 20}},
}


def base() -> dict[str, Any]:
    """A valid menu using every node type, for tests to break one rule at a time."""
    return copy.deepcopy(_BASE)


def issues_of(data: Any) -> list[MenuIssue]:
    with pytest.raises(MenuError) as caught:
        parse_menu(data)
    return list(caught.value.issues)


def check_refused(data: Any, node: str | None, field: str, *words: str) -> MenuIssue:
    """Assert the menu is refused with exactly one problem, at ``node``/``field``."""
    found = issues_of(data)
    assert [(i.node, i.field) for i in found] == [(node, field)], [str(i) for i in found]
    for word in words:
        assert word in found[0].message
    return found[0]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the happy path ---------------------------------------------------------------------------


def test_valid_menu_builds_frozen_nodes_of_each_type() -> None:
    menu = parse_menu(base())
    kinds = {node_id: type(node) for node_id, node in menu.nodes.items()}
    assert kinds == {
        "welcome": SayNode,
        "hours": HoursNode,
        "main": MenuNode,
        "account": CollectNode,
        "done": SayNode,
        "transfer": TransferNode,
        "agents": QueueNode,
        "again": GotoNode,
        "bye": HangupNode,
    }
    assert menu.id == "test-menu"
    assert menu.languages == ("ko", "en")
    assert menu.default_language == "ko"
    assert menu.start == "welcome"
    assert menu.fallback == "agents"


def test_menu_options_carry_keys_and_phrases_per_language() -> None:
    main = parse_menu(base()).node("main")
    assert isinstance(main, MenuNode)
    assert main.options[0] == Option(
        next="account", key="1", phrases={"ko": ("잔액",), "en": ("balance",)}
    )
    assert main.options[2] == Option(next="agents", key="0", phrases={})
    assert main.input == ("dtmf", "speech")
    assert main.no_match_prompt == {"ko": "다시 해 주세요.", "en": "Try again."}


def test_collect_node_keeps_digits_and_flags() -> None:
    account = parse_menu(base()).node("account")
    assert isinstance(account, CollectNode)
    assert account.digits == DigitsRange(min=8, max=8)
    assert account.sensitive is True
    assert account.finish_on_key == "#"
    assert account.input == ("dtmf",)


def test_optional_fields_take_the_model_defaults() -> None:
    data = base()
    del data["nodes"]["main"]["timeout"], data["nodes"]["main"]["retries"]
    del data["nodes"]["main"]["input"]
    del data["nodes"]["transfer"]["timeout"]
    menu = parse_menu(data)
    main, transfer = menu.node("main"), menu.node("transfer")
    assert isinstance(main, MenuNode) and isinstance(transfer, TransferNode)
    assert (main.timeout, main.retries, main.input) == (5, 2, ("dtmf",))
    assert transfer.timeout == 30


def test_schedule_weekly_is_keyed_by_weekday_from_monday() -> None:
    schedule = parse_menu(base()).schedules["main"]
    office = (TimeRange(time(9), time(18)),)
    assert schedule.timezone == "Asia/Seoul"
    assert schedule.weekly == {0: office, 1: office, 2: office, 3: office, 4: office,
                               5: (TimeRange(time(9), time(13)),)}  # fmt: skip
    assert schedule.holidays == frozenset({date(2026, 12, 25)})


def test_weekly_accepts_day_lists_window_lists_and_midnight() -> None:
    data = base()
    data["schedules"]["main"]["weekly"] = {
        "mon,wed": ["09:00-12:00", "13:00-18:00"],
        "sun": "20:00-24:00",
    }
    weekly = parse_menu(data).schedules["main"].weekly
    split = (TimeRange(time(9), time(12)), TimeRange(time(13), time(18)))
    assert weekly == {0: split, 2: split, 6: (TimeRange(time(20), time.max),)}


def test_queue_without_settings_takes_defaults() -> None:
    data = base()
    data["queues"] = {"general": None}
    assert parse_menu(data).queues["general"].service_level_seconds == 20


def test_messages_default_to_the_built_in_texts() -> None:
    messages = parse_menu(base()).messages
    assert set(messages) == {key.value for key in MessageKey}
    for key in MessageKey:
        assert messages[key] == BUILTIN_MESSAGES[key]


def test_message_override_replaces_only_the_given_language() -> None:
    data = base()
    data["messages"] = {"error": {"en": "Oops, let me get someone."}}
    error = parse_menu(data).messages["error"]
    assert error == {**BUILTIN_MESSAGES[MessageKey.ERROR], "en": "Oops, let me get someone."}


def test_checksum_is_sha256_of_the_canonical_document() -> None:
    data = base()
    menu = parse_menu(data)
    reordered = dict(reversed(list(data.items())))
    assert len(menu.checksum) == 64
    assert menu.checksum == menu_checksum(data) == parse_menu(reordered).checksum
    data["nodes"]["bye"]["prompt"]["en"] = "Bye."
    assert parse_menu(data).checksum != menu.checksum


def test_node_reachable_only_through_the_top_level_fallback_is_accepted() -> None:
    data = base()
    data["nodes"]["main"]["fallback"] = "bye"
    data["nodes"]["main"]["options"][2]["next"] = "bye"
    assert parse_menu(data).fallback == "agents"


def test_loop_that_passes_through_a_menu_is_accepted() -> None:
    data = base()
    data["nodes"]["done"]["next"] = "again"  # collect → say → goto → menu: the caller chooses
    assert "again" in parse_menu(data).nodes


# --- top level --------------------------------------------------------------------------------


def test_document_that_is_not_a_mapping_is_refused() -> None:
    assert issues_of(["not", "a", "menu"]) == [
        MenuIssue(None, "document", "must be a mapping of keys")
    ]


def test_missing_top_level_key_is_refused_naming_it() -> None:
    data = base()
    del data["id"]
    check_refused(data, None, "id", "required")


def test_unknown_top_level_key_is_refused_with_a_suggestion() -> None:
    data = base()
    data["schedule"] = data.pop("schedules")
    message = "is not a field of a menu; did you mean 'schedules'?"
    assert MenuIssue(None, "schedule", message) in issues_of(data)


def test_menu_id_outside_the_allowed_characters_is_refused() -> None:
    data = base()
    data["id"] = "Support Line"
    check_refused(data, None, "id", "a-z, 0-9")


def test_empty_languages_is_refused() -> None:
    data = base()
    data["languages"] = []
    check_refused(data, None, "languages", "non-empty list")


def test_repeated_language_is_refused_naming_the_entry() -> None:
    data = base()
    data["languages"] = ["ko", "en", "ko"]
    check_refused(data, None, "languages[2]", "repeats 'ko'")


def test_malformed_language_code_is_refused_naming_the_entry() -> None:
    data = base()
    data["languages"] = ["ko", "English"]
    check_refused(data, None, "languages[1]", "'English'")


def test_start_naming_unknown_node_is_refused() -> None:
    data = base()
    data["start"] = "hello"
    check_refused(data, None, "start", "unknown node 'hello'")


def test_top_level_fallback_naming_unknown_node_is_refused() -> None:
    data = base()
    data["fallback"] = "operators"
    check_refused(data, None, "fallback", "unknown node 'operators'")


def test_outage_naming_unknown_node_is_refused() -> None:
    data = base()
    data["outage"] = "operators"
    check_refused(data, None, "outage", "unknown node 'operators'")


def test_outage_naming_a_node_that_needs_the_database_is_refused() -> None:
    data = base()
    data["outage"] = data["start"]
    check_refused(data, None, "outage", "must name a queue or transfer node")


def test_empty_nodes_is_refused() -> None:
    data = base()
    data["nodes"] = {}
    found = issues_of(data)
    assert MenuIssue(None, "nodes", "must define at least one node") in found


# --- nodes ------------------------------------------------------------------------------------


def test_node_id_with_spaces_is_refused() -> None:
    data = base()
    data["nodes"]["good bye"] = data["nodes"].pop("bye")
    for node in ("hours", "done", "transfer"):
        data["nodes"][node]["next" if node != "hours" else "closed"] = "good bye"
    check_refused(data, "good bye", "id", "not a valid node id")


def test_node_id_read_as_a_yaml_number_is_refused() -> None:
    data = base()
    data["nodes"][1] = {"type": "hangup"}
    check_refused(data, "1", "id", "must be text: quote it")


def test_node_that_is_not_a_mapping_is_refused() -> None:
    data = base()
    data["nodes"]["done"] = "say"
    check_refused(data, "done", "type", "mapping")


def test_missing_type_is_refused_naming_node_and_field() -> None:
    data = base()
    del data["nodes"]["done"]["type"]
    check_refused(data, "done", "type", "must be one of say, menu, collect")


def test_unknown_node_type_is_refused_naming_node_and_field() -> None:
    data = base()
    data["nodes"]["done"]["type"] = "speak"
    check_refused(data, "done", "type", "'speak'")


def test_missing_required_field_is_refused_naming_node_and_field() -> None:
    data = base()
    del data["nodes"]["welcome"]["prompt"]
    check_refused(data, "welcome", "prompt", "required for a 'say' node")


def test_unknown_field_on_node_is_refused_with_a_suggestion() -> None:
    data = base()
    data["nodes"]["main"]["retires"] = 3
    check_refused(data, "main", "retires", "did you mean 'retries'?")


def test_field_of_another_node_type_is_refused() -> None:
    data = base()
    data["nodes"]["bye"]["next"] = "welcome"
    found = issues_of(data)
    assert ("bye", "next") in [(i.node, i.field) for i in found]


def test_unknown_next_is_refused_naming_node_and_field() -> None:
    data = base()
    data["nodes"]["welcome"]["next"] = "nowhere"
    found = issues_of(data)
    assert found[0] == MenuIssue("welcome", "next", "names unknown node 'nowhere'")


def test_unknown_option_next_is_refused_naming_the_option() -> None:
    data = base()
    data["nodes"]["main"]["options"][1]["next"] = "nowhere"
    issue = issues_of(data)[0]
    assert (issue.node, issue.field) == ("main", "options[1].next")
    assert str(issue) == "node 'main', field 'options[1].next': names unknown node 'nowhere'"


def test_unknown_hours_branch_is_refused_naming_the_branch() -> None:
    data = base()
    data["nodes"]["hours"]["closed"] = "closed_message"
    check_refused(data, "hours", "closed", "unknown node 'closed_message'")


def test_unknown_fallback_is_refused_naming_node_and_field() -> None:
    data = base()
    data["nodes"]["main"]["fallback"] = "operators"
    check_refused(data, "main", "fallback", "unknown node 'operators'")


def test_next_that_is_not_text_is_refused() -> None:
    data = base()
    data["nodes"]["done"]["next"] = None
    found = issues_of(data)
    assert MenuIssue("done", "next", "must be non-empty text") in found


def test_unreachable_node_is_refused_naming_it() -> None:
    data = base()
    data["nodes"]["orphan"] = {"type": "hangup"}
    check_refused(data, "orphan", "id", "cannot be reached from start node 'welcome'")


def test_cycle_without_input_is_refused_naming_node_and_field() -> None:
    data = base()
    data["nodes"]["bye"] = {"type": "goto", "next": "welcome"}
    issue = check_refused(data, "bye", "next", "without waiting for input")
    assert "welcome → hours → bye → welcome" in issue.message


def test_transfer_retrying_itself_forever_is_refused() -> None:
    data = base()
    data["nodes"]["transfer"]["next"] = "transfer"
    check_refused(data, "transfer", "next", "transfer → transfer")


def test_graph_knows_the_references_of_every_node_type() -> None:
    for kind, node_type in NODE_TYPES.items():
        fields = (node_type.required | node_type.optional) & set(ANY_REFERENCE)
        assert set(REFERENCES[kind]) == fields, kind


# --- menu options -----------------------------------------------------------------------------


@pytest.mark.parametrize("options", [[], None, {"key": "1", "next": "bye"}])
def test_options_that_are_not_a_non_empty_list_are_refused(options: object) -> None:
    data = base()
    data["nodes"]["main"]["options"] = options
    found = issues_of(data)
    assert MenuIssue("main", "options", "must be a non-empty list of options") in found


def test_duplicate_option_key_is_refused_naming_the_option() -> None:
    data = base()
    data["nodes"]["main"]["options"][3]["key"] = "1"
    check_refused(data, "main", "options[3].key", "already used by options[0]")


@pytest.mark.parametrize("key", ["10", "a", "", 10, True])
def test_option_key_that_is_not_one_keypad_key_is_refused(key: object) -> None:
    data = base()
    data["nodes"]["main"]["options"][2]["key"] = key
    check_refused(data, "main", "options[2].key", "one keypad key")


def test_option_key_left_unquoted_in_yaml_hints_at_quoting() -> None:
    data = base()
    data["nodes"]["main"]["options"][2]["key"] = None  # `key: #` is a YAML comment
    check_refused(data, "main", "options[2].key", "quote '*' and '#'")


def test_option_key_given_as_unquoted_yaml_digit_is_accepted() -> None:
    data = base()
    data["nodes"]["main"]["options"][2]["key"] = 0
    main = parse_menu(data).node("main")
    assert isinstance(main, MenuNode)
    assert main.options[2].key == "0"


def test_star_and_pound_keys_are_accepted() -> None:
    data = base()
    data["nodes"]["main"]["options"][2]["key"] = "*"
    data["nodes"]["main"]["options"][3]["key"] = "#"
    main = parse_menu(data).node("main")
    assert isinstance(main, MenuNode)
    assert [o.key for o in main.options][2:4] == ["*", "#"]


def test_option_without_key_or_phrases_is_refused() -> None:
    data = base()
    data["nodes"]["main"]["options"][2] = {"next": "agents"}
    check_refused(data, "main", "options[2]", "needs a key, phrases, or both")


def test_option_without_next_is_refused() -> None:
    data = base()
    del data["nodes"]["main"]["options"][2]["next"]
    found = issues_of(data)
    assert MenuIssue("main", "options[2].next", "is required for an option") in found


def test_unknown_option_field_is_refused() -> None:
    data = base()
    data["nodes"]["main"]["options"][2]["phrase"] = {"ko": ["상담원"]}
    check_refused(data, "main", "options[2].phrase", "did you mean 'phrases'?")


def test_duplicate_phrase_within_a_node_is_refused_ignoring_case() -> None:
    data = base()
    data["nodes"]["main"]["options"][1]["phrases"]["en"] = ["lost card", "Balance"]
    check_refused(
        data, "main", "options[1].phrases.en[1]", "'Balance' is already used by options[0]"
    )


def test_same_phrase_in_two_languages_is_accepted() -> None:
    data = base()
    data["nodes"]["main"]["options"][1]["phrases"] = {"ko": ["카드"], "en": ["카드"]}
    main = parse_menu(data).node("main")
    assert isinstance(main, MenuNode)
    assert dict(main.options[1].phrases) == {"ko": ("카드",), "en": ("카드",)}


def test_phrase_language_outside_the_menu_languages_is_refused() -> None:
    data = base()
    data["nodes"]["main"]["options"][0]["phrases"]["ja"] = ["残高"]
    check_refused(data, "main", "options[0].phrases.ja", "'ja' is not a menu language")


def test_phrase_that_is_not_text_is_refused() -> None:
    data = base()
    data["nodes"]["main"]["options"][0]["phrases"]["en"] = ["balance", 42]
    check_refused(data, "main", "options[0].phrases.en[1]", "non-empty text")


def test_empty_phrases_mapping_is_refused() -> None:
    data = base()
    data["nodes"]["main"]["options"][0]["phrases"] = {}
    check_refused(data, "main", "options[0].phrases", "per language")


def test_empty_phrase_list_is_refused() -> None:
    data = base()
    data["nodes"]["main"]["options"][0]["phrases"]["en"] = []
    check_refused(data, "main", "options[0].phrases.en", "non-empty list")


def test_option_only_spoken_on_a_keypad_node_is_refused() -> None:
    data = base()
    data["nodes"]["main"]["input"] = ["dtmf"]
    del data["nodes"]["main"]["options"][1]["key"]
    check_refused(data, "main", "options[1].phrases", "keypad only")


def test_option_only_keyed_on_a_speech_node_is_refused() -> None:
    data = base()
    data["nodes"]["main"]["input"] = ["speech"]
    data["nodes"]["main"]["options"][3]["phrases"] = {"en": ["repeat"]}
    check_refused(data, "main", "options[2].key", "speech only")


# --- listening: input, timeout, retries -------------------------------------------------------


def test_input_outside_dtmf_and_speech_is_refused() -> None:
    data = base()
    data["nodes"]["main"]["input"] = ["dtmf", "voice"]
    check_refused(data, "main", "input[1]", "'voice' is not an input")


def test_empty_input_is_refused() -> None:
    data = base()
    data["nodes"]["main"]["input"] = []
    check_refused(data, "main", "input", "non-empty list")


def test_repeated_input_is_refused() -> None:
    data = base()
    data["nodes"]["account"]["input"] = ["dtmf", "dtmf"]
    check_refused(data, "account", "input[1]", "repeats 'dtmf'")


@pytest.mark.parametrize("timeout", [0, 61, 5.5, "5", True])
def test_timeout_outside_1_to_60_seconds_is_refused(timeout: object) -> None:
    data = base()
    data["nodes"]["main"]["timeout"] = timeout
    check_refused(data, "main", "timeout", "from 1 to 60")


@pytest.mark.parametrize("retries", [-1, 11, None])
def test_retries_outside_0_to_10_is_refused(retries: object) -> None:
    data = base()
    data["nodes"]["account"]["retries"] = retries
    check_refused(data, "account", "retries", "from 0 to 10")


# --- collect ----------------------------------------------------------------------------------


@pytest.mark.parametrize("variable", ["account number", "1st", "계좌"])
def test_variable_that_is_not_an_identifier_is_refused(variable: str) -> None:
    data = base()
    data["nodes"]["account"]["variable"] = variable
    check_refused(data, "account", "variable", "is not a name")


def test_digits_min_above_max_is_refused() -> None:
    data = base()
    data["nodes"]["account"]["digits"] = {"min": 9, "max": 8}
    check_refused(data, "account", "digits.min", "min 9 is more than max 8")


@pytest.mark.parametrize("bound", [0, 65, "8"])
def test_digits_outside_1_to_64_is_refused(bound: object) -> None:
    data = base()
    data["nodes"]["account"]["digits"]["max"] = bound
    check_refused(data, "account", "digits.max", "from 1 to 64")


def test_digits_without_max_is_refused() -> None:
    data = base()
    data["nodes"]["account"]["digits"] = {"min": 8}
    check_refused(data, "account", "digits.max", "required")


@pytest.mark.parametrize("key", ["##", "a", None])
def test_finish_on_key_outside_the_keypad_is_refused(key: object) -> None:
    data = base()
    data["nodes"]["account"]["finish_on_key"] = key
    check_refused(data, "account", "finish_on_key", "0-9, '*', '#' or ''")


def test_empty_finish_on_key_means_none() -> None:
    data = base()
    data["nodes"]["account"]["finish_on_key"] = ""
    account = parse_menu(data).node("account")
    assert isinstance(account, CollectNode)
    assert account.finish_on_key == ""


def test_pattern_that_does_not_compile_is_refused() -> None:
    data = base()
    data["nodes"]["account"]["pattern"] = "[0-9"
    check_refused(data, "account", "pattern", "not a valid regular expression")


def test_sensitive_that_is_not_a_boolean_is_refused() -> None:
    data = base()
    data["nodes"]["account"]["sensitive"] = "yes"
    check_refused(data, "account", "sensitive", "true or false")


# --- transfer, hours, queue -------------------------------------------------------------------


@pytest.mark.parametrize("number", ["025550100", "+0225550100", "+1234567", "+1234567890123456"])
def test_transfer_number_that_is_not_e164_is_refused(number: str) -> None:
    data = base()
    data["nodes"]["transfer"]["number"] = number
    check_refused(data, "transfer", "number", "is not E.164")


def test_transfer_number_left_unquoted_in_yaml_hints_at_quoting() -> None:
    data = base()
    data["nodes"]["transfer"]["number"] = 8225550100  # YAML reads +8225550100 as a number
    check_refused(data, "transfer", "number", 'e.g. "+8225550100"')


@pytest.mark.parametrize("timeout", [4, 601])
def test_transfer_timeout_outside_5_to_600_seconds_is_refused(timeout: int) -> None:
    data = base()
    data["nodes"]["transfer"]["timeout"] = timeout
    check_refused(data, "transfer", "timeout", "from 5 to 600")


def test_hours_naming_unknown_schedule_is_refused() -> None:
    data = base()
    data["nodes"]["hours"]["schedule"] = "weekdays"
    check_refused(
        data, "hours", "schedule", "unknown schedule 'weekdays' (declared schedules: main)"
    )


def test_queue_naming_unknown_queue_is_refused() -> None:
    data = base()
    data["nodes"]["agents"]["queue"] = "vip"
    check_refused(data, "agents", "queue", "unknown queue 'vip'")


def test_queue_with_unknown_setting_is_refused() -> None:
    data = base()
    data["queues"]["general"]["service_level"] = 20
    check_refused(
        data, None, "queues.general.service_level", "did you mean 'service_level_seconds'?"
    )


def test_queue_service_level_out_of_range_is_refused() -> None:
    data = base()
    data["queues"]["general"]["service_level_seconds"] = 0
    check_refused(data, None, "queues.general.service_level_seconds", "from 1 to 3600")


# --- schedules --------------------------------------------------------------------------------


def test_unknown_timezone_is_refused() -> None:
    data = base()
    data["schedules"]["main"]["timezone"] = "Asia/Busan"
    check_refused(data, None, "schedules.main.timezone", "not an IANA time zone")


@pytest.mark.parametrize("spec", ["weekdays", "fri-mon", "mon-"])
def test_weekly_key_that_is_not_days_is_refused(spec: str) -> None:
    data = base()
    data["schedules"]["main"]["weekly"][spec] = "10:00-12:00"
    check_refused(data, None, f"schedules.main.weekly.{spec}")


@pytest.mark.parametrize("window", ["9-18", "18:00-09:00", "09:00-09:00", "25:00-26:00", 540])
def test_weekly_window_that_is_not_hh_mm_range_is_refused(window: object) -> None:
    data = base()
    data["schedules"]["main"]["weekly"]["sat"] = window
    check_refused(data, None, "schedules.main.weekly.sat")


def test_overlapping_windows_on_one_day_are_refused() -> None:
    data = base()
    data["schedules"]["main"]["weekly"]["fri"] = "17:00-20:00"
    check_refused(data, None, "schedules.main.weekly", "overlap on fri: 09:00-18:00, 17:00-20:00")


@pytest.mark.parametrize("day", ["2026-02-30", "25.12.2026", "20261225", 20261225])
def test_holiday_that_is_not_an_iso_date_is_refused(day: object) -> None:
    data = base()
    data["schedules"]["main"]["holidays"].append(day)
    check_refused(data, None, "schedules.main.holidays[1]", "not a date")


def test_schedule_with_unknown_field_is_refused() -> None:
    data = base()
    data["schedules"]["main"]["holiday"] = ["2026-01-01"]
    check_refused(data, None, "schedules.main.holiday", "did you mean 'holidays'?")


def test_schedule_id_with_spaces_is_refused() -> None:
    data = base()
    data["schedules"]["office hours"] = data["schedules"]["main"]
    check_refused(data, None, "schedules.office hours", "not a valid schedule id")


# --- prompts ----------------------------------------------------------------------------------


def test_prompt_missing_a_menu_language_is_refused() -> None:
    data = base()
    del data["nodes"]["welcome"]["prompt"]["en"]
    check_refused(data, "welcome", "prompt", "lacks the 'en' text")


def test_prompt_in_a_language_outside_the_menu_is_refused() -> None:
    data = base()
    data["nodes"]["bye"]["prompt"]["fr"] = "Au revoir."
    check_refused(data, "bye", "prompt.fr", "'fr' is not a menu language (ko, en)")


def test_empty_prompt_text_is_refused() -> None:
    data = base()
    data["nodes"]["main"]["no_match_prompt"]["ko"] = "  "
    check_refused(data, "main", "no_match_prompt.ko", "non-empty text")


def test_prompt_given_as_plain_text_is_refused() -> None:
    data = base()
    data["nodes"]["main"]["no_input_prompt"] = "Please press a key."
    check_refused(data, "main", "no_input_prompt", "text per language")


def test_unquoted_comma_in_flow_prompt_is_refused_with_a_hint() -> None:
    data = base()
    data["nodes"]["main"]["no_match_prompt"] = yaml.safe_load(
        "{ko: 다시 말씀해 주세요., en: Sorry, I didn't get that.}"
    )
    issue = check_refused(data, "main", "no_match_prompt.I didn't get that.", "quote the text")
    assert "not a menu language" in issue.message


# --- system messages --------------------------------------------------------------------------


def test_language_without_built_in_messages_must_define_every_message() -> None:
    data = base()
    data["languages"] = ["ja"]
    for node in data["nodes"].values():
        for field in ("prompt", "no_input_prompt", "no_match_prompt"):
            if field in node:
                node[field] = {"ja": "テキスト"}
        for option in node.get("options", []):
            option.pop("phrases", None)
    found = issues_of(data)
    assert {(i.node, i.field) for i in found} == {(None, f"messages.{key}") for key in MessageKey}
    assert all("needs a 'ja' text" in i.message for i in found)
    data["messages"] = {
        key.value: {"ja": " ".join((f"{key.value} テキスト", *placeholders(key)))}
        for key in MessageKey
    }
    assert parse_menu(data).messages["goodbye"] == {"ja": "goodbye テキスト"}


def test_unknown_message_key_is_refused() -> None:
    data = base()
    data["messages"] = {"eror": {"ko": "오류", "en": "Error"}}
    check_refused(data, None, "messages.eror", "did you mean 'error'?")


def test_message_in_a_language_outside_the_menu_is_refused() -> None:
    data = base()
    data["messages"] = {"goodbye": {"fr": "Au revoir."}}
    check_refused(data, None, "messages.goodbye.fr", "not a menu language")


# --- reporting --------------------------------------------------------------------------------


def test_every_problem_is_reported_not_just_the_first() -> None:
    data = base()
    data["languages"] = ["ko", "en", "en"]
    data["nodes"]["welcome"]["next"] = "nowhere"
    data["nodes"]["main"]["timeout"] = 0
    data["nodes"]["transfer"]["number"] = "12345"
    data["schedules"]["main"]["timezone"] = "Mars/Olympus"
    found = issues_of(data)
    assert [(i.node, i.field) for i in found] == [
        (None, "languages[2]"),
        (None, "schedules.main.timezone"),
        ("main", "timeout"),
        ("transfer", "number"),
        ("welcome", "next"),
        # "hours" and below hang off `welcome.next`; only `agents` is still entered (fallback).
        ("hours", "id"),
        ("main", "id"),
        ("account", "id"),
        ("done", "id"),
        ("transfer", "id"),
        ("again", "id"),
        ("bye", "id"),
    ]


def test_one_bad_field_does_not_make_later_nodes_unreachable() -> None:
    data = base()
    data["nodes"]["main"]["retries"] = 99
    check_refused(data, "main", "retries")


def test_menu_issue_reads_with_node_and_field() -> None:
    assert str(MenuIssue("main", "options[1].next", "names unknown node 'nowhere'")) == (
        "node 'main', field 'options[1].next': names unknown node 'nowhere'"
    )
    assert str(MenuIssue(None, "languages", "must be a non-empty list")) == (
        "field 'languages': must be a non-empty list"
    )


def test_menu_error_lists_every_issue() -> None:
    first = MenuIssue("main", "timeout", "must be a whole number from 1 to 60, not 0")
    second = MenuIssue(None, "start", "names unknown node 'x'")
    error = MenuError([first, second])
    assert isinstance(error, ValueError)
    assert error.issues == (first, second)
    assert str(error) == f"invalid menu, 2 problems:\n  - {first}\n  - {second}"
    assert str(MenuError([second])) == f"invalid menu: {second}"


# --- files ------------------------------------------------------------------------------------


def test_menu_format_example_parses() -> None:
    menu = load_menu_file(FIXTURES / "menu_format_example.yaml")
    assert menu.start == "welcome"
    assert set(menu.nodes) == {
        "welcome", "open_check", "main", "account", "balance_result",
        "lost_card", "agents", "closed_message", "goodbye",
    }  # fmt: skip


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_fixture_menu_is_valid(path: Path) -> None:
    assert check_menu_file(path) == []


def test_json_menu_loads_like_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "menu.json", json.dumps(base(), ensure_ascii=False, indent=2))
    assert load_menu_file(path) == parse_menu(base())


def test_yml_suffix_is_read_as_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "menu.yml", yaml.safe_dump(base(), allow_unicode=True))
    assert load_menu_file(path).checksum == parse_menu(base()).checksum


def test_yaml_syntax_error_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "menu.yaml", "id: x\nlanguages: [ko\nstart: a\n")
    issues = check_menu_file(path)
    assert [(i.node, i.field) for i in issues] == [(None, "yaml")]
    assert issues[0].message.startswith("line 3, column ")


def test_key_given_twice_in_yaml_is_refused_with_its_line(tmp_path: Path) -> None:
    text = "nodes:\n  bye:\n    type: hangup\n  bye:\n    type: say\n"
    path = write(tmp_path, "menu.yaml", text)
    [issue] = check_menu_file(path)
    assert issue == MenuIssue(None, "yaml", "line 4, column 3: found the key 'bye' twice")


def test_key_given_twice_in_json_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "menu.json", '{"id": "a", "id": "b"}')
    [issue] = check_menu_file(path)
    assert (issue.field, issue.message) == ("json", "found the key 'id' twice in one object")


def test_json_syntax_error_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "menu.json", '{\n  "id": "a",\n}')
    [issue] = check_menu_file(path)
    assert issue.field == "json"
    assert issue.message.startswith("line 3, column 1: ")


def test_yaml_yes_no_and_dates_stay_text() -> None:
    document = read_menu_text("phrases: [yes, no, on, off]\nday: 2026-12-25\nflag: true\n", "yaml")
    assert document == {"phrases": ["yes", "no", "on", "off"], "day": "2026-12-25", "flag": True}


def test_yaml_anchors_and_merge_keys_still_work() -> None:
    text = "base: &b {timeout: 5, retries: 2}\nnode:\n  <<: *b\n  retries: 3\n"
    assert read_menu_text(text, "yaml")["node"] == {"timeout": 5, "retries": 3}


def test_document_that_is_a_list_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "menu.yaml", "- id: x\n")
    [issue] = check_menu_file(path)
    assert (issue.field, issue.message) == ("document", "must be a mapping of keys, not a list")


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "menu.yaml", "# nothing yet\n")
    assert check_menu_file(path) == [MenuIssue(None, "document", "is empty")]


def test_huge_value_built_from_yaml_aliases_is_reported_briefly() -> None:
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for below, name in itertools.pairwise("abcdefghi"):
        levels.append(f"{name}: &{name} [{', '.join([f'*{below}'] * 10)}]")
    document = read_menu_text("\n".join(levels), "yaml")
    data = base()
    data["nodes"]["main"]["timeout"] = document["i"]  # 10**9 strings once printed in full
    issue = check_refused(data, "main", "timeout", "from 1 to 60")
    assert len(issue.message) < 200


def test_unsupported_suffix_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "menu.txt", "id: x\n")
    [issue] = check_menu_file(path)
    assert (issue.field, issue.message) == ("file", "menu.txt: use one of .yaml, .yml, .json")


def test_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    [issue] = check_menu_file(tmp_path / "absent.yaml")
    assert issue.field == "file"
    assert "absent.yaml" in issue.message


def test_check_menu_file_is_empty_for_a_valid_menu() -> None:
    assert check_menu_file(FIXTURES / "menu_format_example.yaml") == []


def test_read_menu_source_returns_the_raw_document() -> None:
    document = read_menu_source(FIXTURES / "menu_format_example.yaml")
    assert document["nodes"]["main"]["options"][0]["key"] == "1"
    assert menu_checksum(document) == load_menu_file(FIXTURES / "menu_format_example.yaml").checksum
