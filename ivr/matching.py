"""Matching what a caller said against a node's options, digit words and yes/no (pure)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from config.menu import Option

# Spoken digits: Sino-Korean (일 이 삼 …, 공/영 for zero), native Korean (하나 둘 셋 …), English.
DIGIT_WORDS: Final[dict[str, str]] = {
    "공": "0",
    "영": "0",
    "일": "1",
    "이": "2",
    "삼": "3",
    "사": "4",
    "오": "5",
    "육": "6",
    "칠": "7",
    "팔": "8",
    "구": "9",
    "하나": "1",
    "둘": "2",
    "셋": "3",
    "넷": "4",
    "다섯": "5",
    "여섯": "6",
    "일곱": "7",
    "여덟": "8",
    "아홉": "9",
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}


def normalize(text: str) -> str:
    """Fold case, width and punctuation so equal phrases compare equal."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = (ch if ch.isalnum() else " " for ch in folded)
    return " ".join("".join(kept).split())


def match_phrase(options: Iterable[Option], language: str, transcript: str) -> Option | None:
    """The option one of whose phrases equals the whole transcript, if exactly one does."""
    heard = normalize(transcript)
    if not heard:
        return None
    hits = [o for o in options if heard in {normalize(p) for p in o.phrases.get(language, ())}]
    return hits[0] if len(hits) == 1 else None


def spoken_digits(transcript: str) -> str | None:
    """Digits from a transcript of digit words or numerals ("일 이 삼", "1 2 3"); None if other."""
    digits: list[str] = []
    for word in normalize(transcript).split():
        if word.isascii() and word.isdigit():  # 0-9 only: "١٢٣" is no phone number
            digits.append(word)
        elif word in DIGIT_WORDS:
            digits.append(DIGIT_WORDS[word])
        else:
            return None
    return "".join(digits) or None


@dataclass(frozen=True)
class YesNo:
    """The words that answer a confirmation in one language, as a recognizer may hear them."""

    yes: tuple[str, ...]
    no: tuple[str, ...]


# Only the plain answers: a grammar of a few short words keeps recognition sure, and anything
# else re-asks the question, which costs less than taking a wrong "yes".
YES_NO_WORDS: Final[Mapping[str, YesNo]] = {
    "ko": YesNo(
        yes=("예", "네", "맞아요", "맞습니다"),
        no=("아니오", "아니요", "아니", "아니에요"),
    ),
    "en": YesNo(yes=("yes", "yeah", "correct"), no=("no", "nope")),
}


def yes_or_no(transcript: str, language: str) -> bool | None:
    """True for a yes word of ``language``, False for a no word, None for anything else."""
    words = YES_NO_WORDS.get(language)
    if words is None:
        return None
    heard = normalize(transcript)
    if heard in {normalize(w) for w in words.yes}:
        return True
    if heard in {normalize(w) for w in words.no}:
        return False
    return None
