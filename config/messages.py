"""Built-in system messages: what the IVR says besides the menu's own prompts, per language.

A menu may override any of them under its top-level ``messages`` key; a menu in a language that
has no built-in texts here must define every message itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final


class MessageKey(StrEnum):
    """The system messages the engine plays; the values are the keys of ``Menu.messages``."""

    ERROR = "error"
    """Apology after an internal failure, before the call goes to the menu's ``fallback``."""
    NO_INPUT = "no_input"
    """Re-prompt when the caller pressed or said nothing (a node's ``no_input_prompt`` wins)."""
    NO_MATCH = "no_match"
    """Re-prompt when the input matched nothing (a node's ``no_match_prompt`` wins)."""
    GOODBYE = "goodbye"
    """Said before hanging up when the flow ends without a prompt of its own."""
    TRANSFER_FAILED = "transfer_failed"
    """A transfer did not connect."""
    QUEUE_UNAVAILABLE = "queue_unavailable"
    """The queue could not take the call."""
    CONFIRM = "confirm"
    """Reads a half-sure spoken answer back (in place of ``{choice}``) and asks yes or no."""


CHOICE_PLACEHOLDER: Final = "{choice}"
"""Where the ``confirm`` message reads the heard choice back; every text of it must have one."""


# Short sentences: they are synthesized for 8 kHz phone audio, where long ones blur.
BUILTIN_MESSAGES: Final[Mapping[MessageKey, Mapping[str, str]]] = {
    MessageKey.ERROR: {
        "ko": "죄송합니다. 일시적인 오류가 발생했습니다.",
        "en": "We're sorry. A temporary error has occurred.",
    },
    MessageKey.NO_INPUT: {
        "ko": "입력이 확인되지 않았습니다. 다시 한 번 입력해 주세요.",
        "en": "Sorry, we didn't receive a response. Please try again.",
    },
    MessageKey.NO_MATCH: {
        "ko": "죄송합니다. 입력하신 내용을 확인하지 못했습니다. 다시 한 번 입력해 주세요.",
        "en": "Sorry, we didn't understand that. Please try again.",
    },
    MessageKey.GOODBYE: {
        "ko": "이용해 주셔서 감사합니다. 안녕히 계세요.",
        "en": "Thank you for calling. Goodbye.",
    },
    MessageKey.TRANSFER_FAILED: {
        "ko": "죄송합니다. 지금은 전화를 연결해 드릴 수 없습니다.",
        "en": "Sorry, we couldn't connect your call right now.",
    },
    MessageKey.QUEUE_UNAVAILABLE: {
        "ko": "죄송합니다. 지금은 상담원 연결이 어렵습니다. 잠시 후 다시 전화해 주세요.",
        "en": "Sorry, no agent can take your call right now. Please call again later.",
    },
    MessageKey.CONFIRM: {
        "ko": (
            "{choice}, 맞습니까? "
            "맞으면 예라고 하시거나 1번을, 아니면 아니오라고 하시거나 2번을 눌러 주세요."
        ),
        "en": "Did you say {choice}? Say yes or press 1, or say no or press 2.",
    },
}


def builtin_message(key: MessageKey, language: str) -> str | None:
    """The built-in text of message ``key`` in ``language``, or None when there is none."""
    return BUILTIN_MESSAGES[key].get(language)
