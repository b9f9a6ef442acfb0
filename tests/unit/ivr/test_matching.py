"""What a caller said against option phrases and digit words."""

from __future__ import annotations

import pytest

from config.menu import Option
from ivr.matching import YES_NO_WORDS, match_phrase, normalize, spoken_digits, yes_or_no

LOST = Option(next="lost_card", key="1", phrases={"ko": ("카드 분실",), "en": ("lost card",)})
BALANCE = Option(next="account", key="2", phrases={"ko": ("잔액", "잔액 조회"), "en": ("balance",)})
KEY_ONLY = Option(next="agents", key="0")
OPTIONS = (LOST, BALANCE, KEY_ONLY)


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        pytest.param("  Lost   CARD! ", "lost card", id="case-space-punctuation"),
        pytest.param("I'm lost.", "i m lost", id="apostrophe"),
        pytest.param("ＡＢＣ１２３", "abc123", id="full-width"),
        pytest.param("카드 분실이요?", "카드 분실이요", id="korean"),
        pytest.param("STRASSE", "strasse", id="casefold"),
        pytest.param("?!…", "", id="punctuation-only"),
        pytest.param("", "", id="empty"),
    ],
)
def test_normalize_folds_case_width_and_punctuation(text: str, normal: str) -> None:
    assert normalize(text) == normal


def test_match_phrase_finds_the_option_of_a_whole_phrase() -> None:
    assert match_phrase(OPTIONS, "ko", "잔액 조회") is BALANCE
    assert match_phrase(OPTIONS, "ko", "잔액") is BALANCE
    assert match_phrase(OPTIONS, "en", "lost card") is LOST


def test_match_phrase_ignores_case_and_punctuation() -> None:
    assert match_phrase(OPTIONS, "en", "Lost card!") is LOST
    assert match_phrase(OPTIONS, "ko", " 카드  분실. ") is LOST


@pytest.mark.parametrize(
    ("language", "transcript"),
    [
        pytest.param("ko", "카드", id="part-of-a-phrase"),
        pytest.param("ko", "카드 분실 했어요", id="phrase-with-more-words"),
        pytest.param("ko", "카드분실", id="words-run-together"),
        pytest.param("ko", "lost card", id="phrase-of-another-language"),
        pytest.param("ja", "잔액", id="language-without-phrases"),
        pytest.param("en", "0", id="a-key-is-not-a-phrase"),
    ],
)
def test_match_phrase_wants_a_whole_phrase_of_the_call_language(
    language: str, transcript: str
) -> None:
    assert match_phrase(OPTIONS, language, transcript) is None


def test_match_phrase_refuses_an_ambiguous_phrase() -> None:
    card_help = Option(next="agents", key="3", phrases={"en": ("Lost card",)})

    assert match_phrase((LOST, card_help), "en", "lost card") is None


@pytest.mark.parametrize("transcript", ["", "   ", "?!"])
def test_match_phrase_refuses_an_empty_transcript(transcript: str) -> None:
    empty_phrase = Option(next="agents", phrases={"en": ("",)})

    assert match_phrase((*OPTIONS, empty_phrase), "en", transcript) is None


@pytest.mark.parametrize(
    ("transcript", "digits"),
    [
        pytest.param("공 일 이 삼 사 오 육 칠 팔 구", "0123456789", id="sino-korean"),
        pytest.param("영 일", "01", id="sino-korean-zero"),
        pytest.param("하나 둘 셋 넷 다섯 여섯 일곱 여덟 아홉", "123456789", id="native-korean"),
        pytest.param("zero one two three four five six seven eight nine", "0123456789", id="en"),
        pytest.param("oh One TWO", "012", id="english-oh-and-case"),
        pytest.param("010 1234 5678", "01012345678", id="numeral-groups"),
        pytest.param("공 1 two 셋", "0123", id="mixed"),
        pytest.param("1-2-3.", "123", id="punctuation"),
        pytest.param("１２３", "123", id="full-width-numerals"),
    ],
)
def test_spoken_digits_reads_digit_words_and_numerals(transcript: str, digits: str) -> None:
    assert spoken_digits(transcript) == digits


@pytest.mark.parametrize(
    "transcript",
    [
        pytest.param("", id="empty"),
        pytest.param("?", id="punctuation-only"),
        pytest.param("일 이 빵", id="one-word-is-not-a-digit"),
        pytest.param("hello", id="no-digit-word"),
        pytest.param("one hundred", id="number-word"),
        pytest.param("십 이", id="sino-korean-ten"),
        pytest.param("١٢٣", id="non-ascii-numerals"),
    ],
)
def test_spoken_digits_refuses_anything_else(transcript: str) -> None:
    assert spoken_digits(transcript) is None


@pytest.mark.parametrize(
    ("transcript", "language", "answer"),
    [
        pytest.param("예", "ko", True, id="ye"),
        pytest.param("네.", "ko", True, id="ne-with-a-full-stop"),
        pytest.param("맞아요", "ko", True, id="majayo"),
        pytest.param("아니오", "ko", False, id="anio"),
        pytest.param("아니에요!", "ko", False, id="anieyo"),
        pytest.param("  Yes ", "en", True, id="yes-spaced"),
        pytest.param("Correct", "en", True, id="correct"),
        pytest.param("NOPE", "en", False, id="nope"),
        pytest.param("yes", "ko", None, id="other-language"),
        pytest.param("예 아니오", "ko", None, id="both"),
        pytest.param("잔액", "ko", None, id="something-else"),
        pytest.param("", "en", None, id="nothing"),
        pytest.param("oui", "fr", None, id="language-without-words"),
    ],
)
def test_yes_or_no_reads_only_the_plain_answers(
    transcript: str, language: str, answer: bool | None
) -> None:
    assert yes_or_no(transcript, language) is answer


def test_every_yes_no_word_is_one_normalized_answer() -> None:
    for language, words in YES_NO_WORDS.items():
        assert not set(words.yes) & set(words.no)
        for word in (*words.yes, *words.no):
            assert normalize(word) == word.casefold()
            assert yes_or_no(word, language) is (word in words.yes)
