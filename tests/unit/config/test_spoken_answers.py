"""The built-in spoken answers: survey ratings and callback slot choices, per language."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from config.callback_parse import SLOTS
from config.menu import SURVEY_SCALE
from config.spoken_answers import SLOT_CHOICE_PHRASES, SURVEY_RATING_PHRASES, has_spoken_answers

Phrases = Mapping[str, Mapping[int, tuple[str, ...]]]


def test_korean_ratings_take_both_number_systems_and_satisfaction_words() -> None:
    korean = SURVEY_RATING_PHRASES["ko"]
    sino, native = ("일", "이", "삼", "사", "오"), ("하나", "둘", "셋", "넷", "다섯")
    for rating, words in enumerate(zip(sino, native, strict=True), start=1):
        assert set(words) <= set(korean[rating]), rating
    assert "매우 불만족" in korean[1] and "매우 만족" in korean[5]


def test_english_ratings_take_the_number_words() -> None:
    english = SURVEY_RATING_PHRASES["en"]
    for rating, word in enumerate(["one", "two", "three", "four", "five"], start=1):
        assert word in english[rating]


@pytest.mark.parametrize(
    ("phrases", "highest"),
    [(SURVEY_RATING_PHRASES, SURVEY_SCALE), (SLOT_CHOICE_PHRASES, SLOTS[1])],
    ids=["ratings", "slots"],
)
def test_every_answer_can_be_said_in_korean_and_english(phrases: Phrases, highest: int) -> None:
    for language in ("ko", "en"):
        assert has_spoken_answers(phrases, language, highest)
        assert set(phrases[language]) == set(range(1, highest + 1))


@pytest.mark.parametrize(
    "phrases", [SURVEY_RATING_PHRASES, SLOT_CHOICE_PHRASES], ids=["ratings", "slots"]
)
def test_no_phrase_stands_for_two_answers(phrases: Phrases) -> None:
    for language, by_number in phrases.items():
        said = [" ".join(p.casefold().split()) for words in by_number.values() for p in words]
        assert len(said) == len(set(said)), language


def test_language_without_phrases_or_beyond_the_highest_answer_cannot_be_spoken() -> None:
    assert not has_spoken_answers(SURVEY_RATING_PHRASES, "ja", SURVEY_SCALE)
    assert not has_spoken_answers(SURVEY_RATING_PHRASES, "ko", 10)
