"""Built-in words a caller may say for a numbered answer: a survey rating or a callback slot.

Menus give their own phrases for ``menu`` options; ratings and slots are the same in every menu,
so their phrases are built in, per language. A ``survey`` or ``callback`` node may listen to
speech only when every menu language has them (`has_spoken_answers`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

SURVEY_RATING_PHRASES: Final[Mapping[str, Mapping[int, tuple[str, ...]]]] = MappingProxyType(
    {
        # Sino-Korean and native numbers, "N 점" (how a score is said) and the satisfaction
        # words of Korean CSAT surveys, 1 (매우 불만족) to 5 (매우 만족).
        "ko": {
            1: ("일", "하나", "일 점", "매우 불만족"),
            2: ("이", "둘", "이 점", "불만족"),
            3: ("삼", "셋", "삼 점", "보통"),
            4: ("사", "넷", "사 점", "만족"),
            5: ("오", "다섯", "오 점", "매우 만족"),
        },
        "en": {
            1: ("one", "very dissatisfied"),
            2: ("two", "dissatisfied"),
            3: ("three", "neutral"),
            4: ("four", "satisfied"),
            5: ("five", "very satisfied"),
        },
    }
)
"""Spoken survey ratings per language, by rating (the keypad key of the same number)."""

SLOT_CHOICE_PHRASES: Final[Mapping[str, Mapping[int, tuple[str, ...]]]] = MappingProxyType(
    {
        # The key's number, "N 번" as the slot was offered ("... 1번"), and the ordinal.
        "ko": {
            1: ("일", "하나", "일 번", "첫 번째"),
            2: ("이", "둘", "이 번", "두 번째"),
            3: ("삼", "셋", "삼 번", "세 번째"),
            4: ("사", "넷", "사 번", "네 번째"),
            5: ("오", "다섯", "오 번", "다섯 번째"),
            6: ("육", "여섯", "육 번", "여섯 번째"),
            7: ("칠", "일곱", "칠 번", "일곱 번째"),
            8: ("팔", "여덟", "팔 번", "여덟 번째"),
        },
        "en": {
            1: ("one", "number one", "the first one"),
            2: ("two", "number two", "the second one"),
            3: ("three", "number three", "the third one"),
            4: ("four", "number four", "the fourth one"),
            5: ("five", "number five", "the fifth one"),
            6: ("six", "number six", "the sixth one"),
            7: ("seven", "number seven", "the seventh one"),
            8: ("eight", "number eight", "the eighth one"),
        },
    }
)
"""Spoken choices of an offered callback slot per language, by slot number (= its key)."""


def has_spoken_answers(
    phrases: Mapping[str, Mapping[int, tuple[str, ...]]], language: str, highest: int
) -> bool:
    """Whether ``phrases`` let a caller speaking ``language`` say every answer 1 to ``highest``."""
    by_number = phrases.get(language, {})
    return all(by_number.get(number) for number in range(1, highest + 1))


DECLINE_PHRASES: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "ko": ("없어요", "없습니다", "괜찮습니다", "아니요"),
        "en": ("none", "none of them", "no thanks"),
    }
)
"""Spoken "none of these" at a callback node's slots, per language."""
