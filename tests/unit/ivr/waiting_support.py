"""The waiting menu (queue, callback and survey nodes) as plain values, and calls to start from.

Built straight from `config.menu` with the built-in system messages, like conftest.py's support
menu: no YAML, no loader. The nodes follow the example of docs/MENUS.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, time
from typing import Any

from config.menu import (
    INPUT_DTMF,
    INPUT_SPEECH,
    CallbackNode,
    HangupNode,
    Menu,
    MenuNode,
    Node,
    Option,
    Queue,
    QueueNode,
    Schedule,
    SurveyNode,
    TimeRange,
)
from config.messages import BUILTIN_MESSAGES, MessageKey
from ivr import actions as act
from ivr.state import PHASE_LISTENING, PHASE_QUEUED, CallState

AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
"""Monday 2026-03-02 10:00 in Seoul: open."""
PLACE = datetime(2026, 3, 2, 0, 50, tzinfo=UTC)
"""When the waiting caller joined the line: 09:50 in Seoul, ten minutes before `AT`."""
CALLER = "+821012345678"
LINE_NUMBER = "+8215990000"
"""The number the caller dialled."""
CALLER_DIGIT_WORDS = ("공", "일", "공", "일", "이", "삼", "사", "오", "육", "칠", "팔")
"""The caller's number as read back in Korean: 0 1 0 1 2 3 4 5 6 7 8."""
RATING_PHRASES = (
    *("일", "하나", "일 점", "매우 불만족"),
    *("이", "둘", "이 점", "불만족"),
    *("삼", "셋", "삼 점", "보통"),
    *("사", "넷", "사 점", "만족"),
    *("오", "다섯", "오 점", "매우 만족"),
)
"""What a Korean caller may say at a survey, in order (docs/MENUS.md's table)."""


def both(ko: str, en: str) -> dict[str, str]:
    return {"ko": ko, "en": en}


MESSAGES: Mapping[str, Mapping[str, str]] = {
    key.value: dict(texts) for key, texts in BUILTIN_MESSAGES.items()
}

SEOUL_HOURS = Schedule(
    id="main",
    timezone="Asia/Seoul",
    weekly={day: (TimeRange(time(9), time(18)),) for day in range(5)}
    | {5: (TimeRange(time(9), time(13)),)},
    holidays=frozenset({date(2026, 12, 25)}),
)

MAIN = MenuNode(
    id="main",
    prompt=both("상담원 연결은 0번, 상담 예약은 1번을 누르세요.", "Agent: 0. Book a call: 1."),
    options=(
        Option(key="0", next="agents"),
        Option(key="1", next="book"),
        Option(key="2", next="line"),
    ),
)
AGENTS = QueueNode(
    id="agents",
    queue="general",
    prompt=both("상담원을 연결해 드리겠습니다.", "Connecting you to an agent."),
    next="bye",
    announce_every=45,
    offer_callback_after=60,
    max_wait=900,
    overflow="book",
    after_agent="rate",
    callback_sms=True,
)
LINE = QueueNode(id="line", queue="general")
"""A queue node with nothing but its queue: no prompt, offer, limit, next or after_agent."""
BOOK = CallbackNode(
    id="book",
    queue="general",
    schedule="main",
    prompt=both("상담 전화를 예약해 드리겠습니다.", "Let's book a call back."),
    next="bye",
    slots=3,
    slot_minutes=60,
    lead_minutes=60,
    days_ahead=5,
    input=(INPUT_DTMF, INPUT_SPEECH),
    retries=1,
    fallback="bye",
    after_agent="rate",
    sms=True,
)
RATE = SurveyNode(
    id="rate",
    prompt=both("상담 만족도를 1점부터 5점까지 눌러 주세요.", "Rate your call from 1 to 5."),
    next="bye",
    input=(INPUT_DTMF, INPUT_SPEECH),
    retries=1,
    no_input_prompt=both("점수를 눌러 주세요.", "Please press a score."),
    no_match_prompt=both("1부터 5까지 눌러 주세요.", "Please press 1 to 5."),
    thanks=both("평가해 주셔서 감사합니다.", "Thanks for rating us."),
)
BYE = HangupNode(id="bye", prompt=both("감사합니다.", "Goodbye."))

NODES: tuple[Node, ...] = (MAIN, AGENTS, LINE, BOOK, RATE, BYE)


def waiting_menu(*nodes: Node, **fields: Any) -> Menu:
    """The waiting menu, with ``nodes`` added or replaced by id and top-level ``fields`` set."""
    menu = Menu(
        id="waiting",
        languages=("ko", "en"),
        start="main",
        nodes={node.id: node for node in NODES},
        schedules={"main": SEOUL_HOURS},
        queues={"general": Queue(id="general")},
        messages=MESSAGES,
    )
    return replace(menu, nodes={**menu.nodes, **{n.id: n for n in nodes}}, **fields)


def message(key: MessageKey, language: str = "ko", **values: str) -> act.Prompt:
    """The built-in message ``key`` as the engine says it, its placeholders filled."""
    text = MESSAGES[key][language]
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return act.Prompt(text, language)


def said(node: MenuNode | QueueNode | CallbackNode | SurveyNode | HangupNode) -> act.Prompt:
    """A node's own prompt in Korean."""
    assert node.prompt is not None
    return act.Prompt(node.prompt["ko"], "ko")


def queued(
    node: str = "agents",
    *,
    turn: int = 1,
    queue_exit: str | None = None,
    caller: str = CALLER,
    called: str = LINE_NUMBER,
    language: str = "ko",
) -> CallState:
    """A call waiting in ``node``'s line since `PLACE`."""
    return CallState(
        menu_id="waiting",
        node=node,
        phase=PHASE_QUEUED,
        language=language,
        turn=turn,
        caller=caller,
        called=called,
        queued_at=PLACE.isoformat(),
        queue_exit=queue_exit,
    )


def listening_at(
    node: str,
    *,
    turn: int = 2,
    attempts: int = 0,
    caller: str = CALLER,
    called: str = LINE_NUMBER,
    language: str = "ko",
    offer: tuple[str, ...] = (),
    variables: Mapping[str, str] | None = None,
    queue_exit: str | None = None,
) -> CallState:
    """A call waiting for an answer at ``node``, having left `PLACE` in line if it queued."""
    return CallState(
        menu_id="waiting",
        node=node,
        phase=PHASE_LISTENING,
        language=language,
        attempts=attempts,
        turn=turn,
        variables=dict(variables or {}),
        caller=caller,
        called=called,
        queued_at=PLACE.isoformat(),
        queue_exit=queue_exit,
        offer=offer,
    )


def bye(language: str = "ko") -> tuple[act.Action, ...]:
    """What entering the ``bye`` hangup node does."""
    return (
        act.NodeEntered("bye", "hangup"),
        act.Prompt(BYE.prompt[language] if BYE.prompt else "", language),
        act.Outcome("completed", "bye"),
        act.Hangup(),
    )


def rate_listen(turn: int, *, speech: bool = True) -> act.Listen:
    """The wait for a rating at the ``rate`` survey, in Korean."""
    return act.Listen(
        "rate",
        turn,
        5,
        num_digits=1,
        finish_on_key="",
        speech=speech,
        grammar=act.GRAMMAR_OPTIONS,
        phrases=RATING_PHRASES,
        language="ko",
    )


def prompts(actions: tuple[act.Action, ...]) -> list[str]:
    """The texts of the prompts among ``actions``, in order."""
    return [a.text for a in actions if isinstance(a, act.Prompt)]
