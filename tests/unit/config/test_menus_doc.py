"""docs/MENUS.md stays true: its example loads and its message table shows the built-in texts."""

from __future__ import annotations

from pathlib import Path

from config.loader import parse_menu, read_menu_text
from config.menu import CallbackNode, QueueNode, SurveyNode
from config.messages import BUILTIN_MESSAGES, MessageKey, placeholders

MENUS_DOC = Path(__file__).parents[3] / "docs" / "MENUS.md"


def section(title: str) -> str:
    return MENUS_DOC.read_text(encoding="utf-8").split(f"### {title}\n", 1)[1].split("\n#", 1)[0]


def test_queue_callback_survey_example_loads() -> None:
    example = read_menu_text(section("Example").split("```yaml\n")[1].split("```")[0], "yaml")
    menu = parse_menu(
        {
            "id": "example",
            "languages": ["ko", "en"],
            "start": "agents",
            "nodes": {**example["nodes"], "goodbye": {"type": "hangup"}},
            "schedules": {"main": {"timezone": "Asia/Seoul", "weekly": {"mon-fri": "09:00-18:00"}}},
            "queues": example["queues"],
        }
    )
    kinds = [type(menu.node(n)) for n in ("agents", "book_callback", "rating")]
    assert kinds == [QueueNode, CallbackNode, SurveyNode]


def test_message_table_shows_each_new_message_with_its_korean_text() -> None:
    table = section("System messages of queues, callbacks, surveys and chats")
    first_new = list(MessageKey).index(MessageKey.QUEUE_POSITION)
    for key in list(MessageKey)[first_new:]:
        cells = [f"`{key.value}`", ", ".join(f"`{p}`" for p in placeholders(key))]
        row = " ".join(f"| {cell}" if cell else "|" for cell in cells)
        row += f" | {BUILTIN_MESSAGES[key]['ko']} |"
        assert row in table, key
