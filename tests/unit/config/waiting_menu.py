"""A valid menu using every key of queues, callbacks and surveys, and helpers to break it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from config.loader import MenuError, MenuIssue, parse_menu, read_menu_text
from config.messages import MessageKey, placeholders

WAITING_MENU_YAML = """
id: waiting
languages: [ko, en]
start: main
nodes:
  main:
    type: menu
    prompt: {ko: "상담원 연결은 0번, 상담 예약은 1번을 누르세요.", en: "Agent: 0. Book a call: 1."}
    options:
      - {key: "0", next: agents}
      - {key: "1", next: book}

  agents:
    type: queue
    queue: general
    prompt: {ko: 상담원을 연결해 드리겠습니다., en: Connecting you to an agent.}
    next: bye
    announce_every: 45
    offer_callback_after: 60
    max_wait: 900
    overflow: book
    after_agent: rate
    callback_sms: false

  book:
    type: callback
    queue: general
    schedule: main
    prompt: {ko: 상담 전화를 예약해 드리겠습니다., en: Let's book a call back.}
    next: bye
    slots: 4
    slot_minutes: 30
    lead_minutes: 120
    days_ahead: 5
    input: [dtmf, speech]
    timeout: 8
    retries: 1
    fallback: bye
    no_input_prompt: {ko: 원하시는 시간의 번호를 눌러 주세요., en: Press the number of a time.}
    no_match_prompt: {ko: 다시 선택해 주세요., en: Please choose again.}
    speech: {accept: 0.9}
    after_agent: rate
    sms: false

  rate:
    type: survey
    prompt: {ko: 상담 만족도를 1점부터 5점까지 눌러 주세요., en: Rate your call from 1 to 5.}
    next: bye
    scale: 5
    input: [dtmf, speech]
    timeout: 6
    retries: 2
    no_input_prompt: {ko: 점수를 눌러 주세요., en: Please press a score.}
    no_match_prompt: {ko: 1부터 5까지 눌러 주세요., en: Please press 1 to 5.}
    speech: {confirm: 0.5}
    thanks: {ko: 평가해 주셔서 감사합니다., en: Thanks for rating us.}

  bye:
    type: hangup
    prompt: {ko: 감사합니다., en: Goodbye.}

schedules:
  main:
    timezone: Asia/Seoul
    weekly: {mon-fri: "09:00-18:00", sat: "09:00-13:00"}
    holidays: ["2026-12-25"]

queues:
  general: {service_level_seconds: 30, max_size: 50}
"""

_WAITING_MENU = read_menu_text(WAITING_MENU_YAML, "yaml")

PROMPT_FIELDS = ("prompt", "no_input_prompt", "no_match_prompt", "thanks")


def waiting_menu() -> dict[str, Any]:
    """The valid menu above as a fresh document, for a test to break one rule in."""
    return copy.deepcopy(_WAITING_MENU)


def in_language(data: dict[str, Any], language: str) -> dict[str, Any]:
    """``data`` as a menu in ``language`` alone, which has no built-in texts or phrases."""
    data["languages"] = [language]
    for node in data["nodes"].values():
        for field in PROMPT_FIELDS:
            if field in node:
                node[field] = {language: f"{field} text"}
        for option in node.get("options", []):
            option.pop("phrases", None)
    data["messages"] = {
        key.value: {language: " ".join((key.value, *placeholders(key)))} for key in MessageKey
    }
    return data


def issues_of(data: Any) -> list[MenuIssue]:
    """Every problem ``parse_menu`` finds in ``data`` (it must refuse it)."""
    with pytest.raises(MenuError) as caught:
        parse_menu(data)
    return list(caught.value.issues)


def check_refused(data: Any, node: str | None, field: str, *words: str) -> MenuIssue:
    """Assert the menu is refused with exactly one problem, at ``node``/``field``."""
    found = issues_of(data)
    assert [(i.node, i.field) for i in found] == [(node, field)], [str(i) for i in found]
    for word in words:
        assert word in found[0].message, found[0].message
    return found[0]
