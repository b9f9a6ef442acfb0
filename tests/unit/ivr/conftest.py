"""Menus for the engine's unit tests, built straight from `config.menu` (no YAML, no loader)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, time
from typing import Any

import pytest

from config.menu import (
    INPUT_DTMF,
    INPUT_SPEECH,
    CollectNode,
    DigitsRange,
    HangupNode,
    HoursNode,
    Menu,
    MenuNode,
    Node,
    Option,
    Queue,
    QueueNode,
    SayNode,
    Schedule,
    TimeRange,
    TransferNode,
)

MenuEditor = Callable[..., Menu]


def _both(ko: str, en: str) -> dict[str, str]:
    return {"ko": ko, "en": en}


MESSAGES = {
    "error": _both("죄송합니다. 문제가 발생했습니다.", "Sorry, something went wrong."),
    "no_input": _both("입력이 없습니다.", "I did not hear anything."),
    "no_match": _both("잘못된 선택입니다.", "That is not a valid choice."),
    "goodbye": _both("안녕히 계세요.", "Goodbye."),
    "transfer_failed": _both("연결하지 못했습니다.", "We could not connect your call."),
    "queue_unavailable": _both("지금은 상담원 연결이 어렵습니다.", "No agent is available now."),
    "confirm": _both("{choice}, 맞나요?", "Did you say {choice}?"),
}

WEEKDAY_HOURS = (TimeRange(time(9), time(18)),)

MAIN_SCHEDULE = Schedule(
    id="main",
    timezone="Asia/Seoul",
    weekly={day: WEEKDAY_HOURS for day in range(5)} | {5: (TimeRange(time(9), time(13)),)},
    holidays=frozenset({date(2026, 12, 25), date(2027, 1, 1)}),
)

NODES: tuple[Node, ...] = (
    SayNode(
        id="welcome",
        prompt=_both("고객센터에 전화해 주셔서 감사합니다.", "Thank you for calling."),
        next="open_check",
    ),
    HoursNode(id="open_check", schedule="main", open="main", closed="closed_message"),
    MenuNode(
        id="main",
        prompt=_both("카드 분실은 1번, 잔액 조회는 2번을 누르세요.", "Press 1 or 2."),
        input=(INPUT_DTMF, INPUT_SPEECH),
        timeout=5,
        retries=2,
        no_match_prompt=_both("다시 말씀해 주세요.", "Sorry, I didn't get that."),
        fallback="agents",
        options=(
            Option(
                key="1",
                next="lost_card",
                phrases={"ko": ("카드 분실", "분실 신고"), "en": ("lost card", "I lost my card")},
            ),
            Option(
                key="2", next="account", phrases={"ko": ("잔액", "잔액 조회"), "en": ("balance",)}
            ),
            Option(
                key="0", next="agents", phrases={"ko": ("상담원",), "en": ("agent", "operator")}
            ),
        ),
    ),
    CollectNode(
        id="account",
        prompt=_both("계좌 번호 여덟 자리를 입력해 주세요.", "Enter your eight digit account."),
        variable="account_number",
        digits=DigitsRange(min=8, max=8),
        next="balance_result",
        finish_on_key="#",
        sensitive=True,
        retries=2,
        fallback="agents",
        input=(INPUT_DTMF, INPUT_SPEECH),
    ),
    SayNode(
        id="balance_result",
        prompt=_both("조회가 완료되었습니다.", "Your request is complete."),
        next="goodbye",
    ),
    TransferNode(id="lost_card", number="+8215880000", next="goodbye"),
    QueueNode(id="agents", queue="general"),
    SayNode(
        id="closed_message",
        prompt=_both("지금은 상담 시간이 아닙니다.", "We are closed now."),
        next="goodbye",
    ),
    HangupNode(id="goodbye", prompt=_both("이용해 주셔서 감사합니다.", "Thank you. Goodbye.")),
)


@pytest.fixture
def menu() -> Menu:
    """The support menu of MENU_FORMAT.md, with an internal-failure fallback to the agents."""
    return Menu(
        id="support",
        languages=("ko", "en"),
        start="welcome",
        nodes={node.id: node for node in NODES},
        schedules={"main": MAIN_SCHEDULE},
        queues={"general": Queue(id="general")},
        messages=MESSAGES,
        fallback="agents",
    )


@pytest.fixture
def edit(menu: Menu) -> MenuEditor:
    """Return ``edit(*nodes, **fields)``: the support menu with nodes added or replaced by id."""

    def edited(*nodes: Node, **fields: Any) -> Menu:
        return replace(menu, nodes={**menu.nodes, **{n.id: n for n in nodes}}, **fields)

    return edited


@pytest.fixture
def main_node(menu: Menu) -> MenuNode:
    """The support menu's top-level choice node."""
    node = menu.node("main")
    assert isinstance(node, MenuNode)
    return node


@pytest.fixture
def account_node(menu: Menu) -> CollectNode:
    """The support menu's eight-digit, sensitive collect node."""
    node = menu.node("account")
    assert isinstance(node, CollectNode)
    return node


@pytest.fixture
def schedule() -> Schedule:
    """Seoul business hours: weekdays 09-18, Saturday 09-13, two holidays."""
    return MAIN_SCHEDULE
