"""The shipped default menu: valid, complete in both languages, and using every node type."""

from __future__ import annotations

from datetime import date, datetime
from typing import get_args
from zoneinfo import ZoneInfo

import pytest

from config.loader import check_menu_file, load_menu_file
from config.menu import (
    CollectNode,
    HangupNode,
    HoursNode,
    Menu,
    MenuNode,
    Node,
    Prompt,
    QueueNode,
    SayNode,
    TransferNode,
)
from config.messages import MessageKey
from config.settings import SHIPPED_MENU
from ivr.hours import is_open

SEOUL = ZoneInfo("Asia/Seoul")


@pytest.fixture(scope="module")
def menu() -> Menu:
    return load_menu_file(SHIPPED_MENU)


def prompts_of(node: Node) -> list[Prompt]:
    fields = ("prompt", "no_input_prompt", "no_match_prompt")
    return [p for p in (getattr(node, f, None) for f in fields) if p is not None]


def test_shipped_menu_has_no_problems() -> None:
    assert check_menu_file(SHIPPED_MENU) == []


def test_shipped_menu_is_korean_first_with_english(menu: Menu) -> None:
    assert menu.languages == ("ko", "en")
    assert menu.default_language == "ko"


def test_shipped_menu_uses_every_node_type(menu: Menu) -> None:
    kinds = {type(node) for node in menu.nodes.values()}
    assert kinds == set(get_args(Node))


def test_every_shipped_prompt_speaks_both_languages(menu: Menu) -> None:
    for node in menu.nodes.values():
        for prompt in prompts_of(node):
            assert set(prompt) == {"ko", "en"}, node.id
            assert all(text.strip() for text in prompt.values()), node.id
    for key in MessageKey:
        assert set(menu.messages[key]) == {"ko", "en"}


def test_every_spoken_option_has_phrases_in_both_languages(menu: Menu) -> None:
    speech_menus = [
        node
        for node in menu.nodes.values()
        if isinstance(node, MenuNode) and "speech" in node.input
    ]
    assert speech_menus
    for node in speech_menus:
        for option in node.options:
            assert set(option.phrases) == {"ko", "en"}, (node.id, option.key)


def test_main_menu_listens_for_keys_and_speech_with_retries(menu: Menu) -> None:
    main = menu.node("main")
    assert isinstance(main, MenuNode)
    assert main.input == ("dtmf", "speech")
    assert main.no_input_prompt and main.no_match_prompt
    assert main.retries > 0
    assert main.fallback == "agents"
    targets = {option.key: option.next for option in main.options}
    assert (targets["1"], targets["2"], targets["0"]) == ("lost_card", "account", "agents")


def test_call_opens_with_a_greeting_then_a_business_hours_check(menu: Menu) -> None:
    welcome = menu.node(menu.start)
    assert isinstance(welcome, SayNode)
    hours = menu.node(welcome.next)
    assert isinstance(hours, HoursNode)
    assert (hours.schedule, hours.open) == ("main", "main")
    closed = menu.node(hours.closed)
    assert isinstance(closed, SayNode)
    assert isinstance(menu.node(closed.next), HangupNode)


def test_account_number_is_eight_sensitive_digits_ended_by_pound(menu: Menu) -> None:
    account = menu.node("account")
    assert isinstance(account, CollectNode)
    assert (account.digits.min, account.digits.max) == (8, 8)
    assert account.sensitive
    assert account.finish_on_key == "#"
    confirmation = menu.node(account.next)
    assert isinstance(confirmation, SayNode)
    assert isinstance(menu.node(confirmation.next), HangupNode)


def test_lost_card_transfers_to_an_e164_number(menu: Menu) -> None:
    lost_card = menu.node("lost_card")
    assert isinstance(lost_card, TransferNode)
    assert lost_card.number.startswith("+82")


def test_failures_go_to_the_general_queue(menu: Menu) -> None:
    assert menu.fallback == "agents"
    agents = menu.node("agents")
    assert isinstance(agents, QueueNode)
    assert agents.queue in menu.queues


def test_schedule_is_seoul_office_hours(menu: Menu) -> None:
    schedule = menu.schedules["main"]
    assert schedule.timezone == "Asia/Seoul"
    assert is_open(schedule, datetime(2026, 3, 3, 9, 0, tzinfo=SEOUL))  # a Tuesday
    assert not is_open(schedule, datetime(2026, 3, 3, 18, 0, tzinfo=SEOUL))
    assert is_open(schedule, datetime(2026, 3, 7, 12, 59, tzinfo=SEOUL))  # a Saturday
    assert not is_open(schedule, datetime(2026, 3, 7, 13, 0, tzinfo=SEOUL))
    assert not is_open(schedule, datetime(2026, 3, 8, 10, 0, tzinfo=SEOUL))  # a Sunday


@pytest.mark.parametrize(
    "holiday",
    [
        date(2026, 2, 17),  # 설날
        date(2026, 3, 2),  # 삼일절 대체공휴일
        date(2026, 9, 25),  # 추석
        date(2026, 12, 25),  # 성탄절
        date(2027, 2, 9),  # 설날 대체공휴일
        date(2027, 9, 15),  # 추석
    ],
)
def test_korean_public_holidays_are_closed(menu: Menu, holiday: date) -> None:
    schedule = menu.schedules["main"]
    assert holiday in schedule.holidays
    at = datetime(holiday.year, holiday.month, holiday.day, 10, 0, tzinfo=SEOUL)
    assert not is_open(schedule, at)


def test_holidays_cover_2026_and_2027(menu: Menu) -> None:
    years = {day.year for day in menu.schedules["main"].holidays}
    assert years == {2026, 2027}
