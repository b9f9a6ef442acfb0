"""What a recognizer may hear at one node, and how it becomes a Vosk grammar for one model."""

from __future__ import annotations

import json
import logging
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

logger = logging.getLogger(__name__)

KIND_PHRASES: Final = "phrases"
KIND_DIGITS: Final = "digits"
KIND_YES_NO: Final = "yes_no"
GRAMMAR_KINDS: Final = (KIND_PHRASES, KIND_DIGITS, KIND_YES_NO)

DIGIT_WORDS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        # Sino-Korean (공/영 for zero) and native Korean: callers use both for account numbers.
        "ko": (
            *("공", "영", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구"),
            *("하나", "둘", "셋", "넷", "다섯", "여섯", "일곱", "여덟", "아홉"),
        ),
        "en": (
            *("zero", "oh", "one", "two", "three", "four"),
            *("five", "six", "seven", "eight", "nine"),
        ),
    }
)
"""Spoken digit words per language; `ivr.matching.DIGIT_WORDS` turns them into digits."""

YES_WORDS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {"ko": ("예", "네", "맞아요"), "en": ("yes", "yeah", "correct")}
)
NO_WORDS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {"ko": ("아니오", "아니요", "아니"), "en": ("no", "nope")}
)
"""Answers to a confirmation; the first word of each list is the canonical transcript."""


UNKNOWN_WORD_SPELLINGS: Final = ("<UNK>", "<unk>", "[unk]")
"""How Kaldi recipes name the unknown word; the model's own spelling is the one it knows
(`[unk]` in a grammar for the Korean model is dropped with a warning: its word is `<UNK>`)."""


class Vocabulary:
    """The words a model knows, asked one at a time (Vosk: `Model.vosk_model_find_word`)."""

    def __init__(self, knows: Callable[[str], bool]) -> None:
        """Answer membership with ``knows(word)``."""
        self._knows = knows

    @classmethod
    def of_words(cls, words: Iterable[str]) -> Vocabulary:
        """A vocabulary of exactly ``words`` (for tools and tests)."""
        known = frozenset(words)
        return cls(known.__contains__)

    def __contains__(self, word: object) -> bool:
        """True if ``word`` is one word of the model."""
        return (
            isinstance(word, str)
            and bool(word)
            and not any(c.isspace() for c in word)
            and (self._knows(word))
        )

    @property
    def unknown_word(self) -> str | None:
        """The model's unknown-word symbol (`<UNK>` for the Korean model), if it has one."""
        return next((w for w in UNKNOWN_WORD_SPELLINGS if w in self), None)

    def spell(self, word: str) -> str | None:
        """``word`` as the model writes it, or None if the model lacks it.

        Models differ in case (the Korean model lists English words in upper case), so the word
        is also tried lower- and upper-cased.
        """
        return next((w for w in (word, word.lower(), word.upper()) if w in self), None)


class GrammarError(ValueError):
    """Nothing of the grammar can be said with this model's vocabulary."""


@dataclass(frozen=True)
class Grammar:
    """What the caller may say at one listening node.

    Attributes:
        kind: ``"phrases"`` (a menu's option phrases), ``"digits"`` or ``"yes_no"``.
        phrases: For ``"phrases"``, the option phrases exactly as the menu writes them; the
            other kinds use the built-in word lists of their language and ignore this.
        language: The call language (``"ko"``, ``"en"``…).

    """

    kind: str
    phrases: tuple[str, ...] = ()
    language: str = "ko"

    def __post_init__(self) -> None:
        """Reject unknown kinds and phrase-less phrase grammars at construction."""
        if self.kind not in GRAMMAR_KINDS:
            raise ValueError(f"grammar kind must be one of {GRAMMAR_KINDS}, got {self.kind!r}")
        if self.kind == KIND_PHRASES and not self.phrases:
            raise ValueError("a phrases grammar needs at least one phrase")

    @classmethod
    def of_phrases(cls, phrases: Iterable[str], language: str) -> Grammar:
        """A grammar of a menu node's option phrases in ``language``."""
        return cls(KIND_PHRASES, tuple(phrases), language)

    @classmethod
    def digits(cls, language: str) -> Grammar:
        """A grammar of spoken digits (any number of them) in ``language``."""
        return cls(KIND_DIGITS, (), language)

    @classmethod
    def yes_no(cls, language: str) -> Grammar:
        """A grammar of yes/no answers to a confirmation in ``language``."""
        return cls(KIND_YES_NO, (), language)


@dataclass(frozen=True)
class CompiledGrammar:
    """A grammar spelled in one model's vocabulary.

    Attributes:
        grammar: The grammar compiled.
        vosk_json: The JSON list of word sequences `KaldiRecognizer` takes.
        readings: Decoded words joined without spaces → the transcript they stand for (the
            phrase as written, or the canonical yes/no answer).
        digit_words: For digits grammars, the digit words the model knows.
        unsupported: Phrases (or words) no spelling in the vocabulary exists for; they can never
            be recognized.
        unknown_word: The model's unknown word, added as a path for speech outside the grammar.

    """

    grammar: Grammar
    vosk_json: str
    readings: Mapping[str, str] = field(default_factory=dict)
    digit_words: frozenset[str] = frozenset()
    unsupported: tuple[str, ...] = ()
    unknown_word: str | None = None


def compile_grammar(grammar: Grammar, vocabulary: Vocabulary) -> CompiledGrammar:
    """Spell ``grammar`` with the words of ``vocabulary``.

    Vosk silently drops words it does not know (a warning on stderr), which turns a phrase into
    a fragment that can match anything; here every phrase is spelled with known words, or
    reported as unsupported and left out.

    Raises:
        GrammarError: No phrase or word of the grammar can be spelled.

    """
    sources = _sources(grammar)
    readings: dict[str, str] = {}
    spellings: list[str] = []
    unsupported: list[str] = []
    for text, transcript in sources:
        variants = phrase_spellings(text, vocabulary)
        if not variants:
            unsupported.append(text)
            continue
        readings.setdefault(reading_key(text), transcript)
        spellings.extend(v for v in variants if v not in spellings)
    if unsupported:
        logger.warning(
            "%s grammar (%s): not in the model's vocabulary, never recognized: %s",
            grammar.kind,
            grammar.language,
            ", ".join(unsupported),
        )
    if not spellings:
        raise GrammarError(
            f"no {grammar.kind} of language {grammar.language!r} can be said with this model"
        )
    unknown = vocabulary.unknown_word
    return CompiledGrammar(
        grammar=grammar,
        vosk_json=json.dumps([*spellings, *([unknown] if unknown else [])], ensure_ascii=False),
        readings=MappingProxyType(readings),
        digit_words=frozenset(readings) if grammar.kind == KIND_DIGITS else frozenset(),
        unsupported=tuple(unsupported),
        unknown_word=unknown,
    )


def phrase_spellings(phrase: str, vocabulary: Vocabulary) -> tuple[str, ...]:
    """The ways to write ``phrase`` as space-separated words of the model, best first.

    The phrase as one word comes first when the model has it (`분실 신고` → `분실신고`; `이용 한도`
    is only expressible as `이용한도`), then the phrase word by word if the model has every word.
    A word the model lacks is not split into smaller known words (`잃어버렸어요` →
    `잃어버렸 어요`): measured on the accuracy corpus, such short pieces matched stray sound
    anywhere and cut the menu's accuracy at the accept threshold from 11% to 4%.
    """
    words = normalize(phrase).split()
    joined = vocabulary.spell("".join(words))
    variants = [joined] if joined else []
    spelled = [vocabulary.spell(word) for word in words]
    if len(words) > 1 and all(spelled):
        variants.append(" ".join(w for w in spelled if w))
    return tuple(variants)


def reading_key(text: str) -> str:
    """The key decoded words are looked up by: the text without spaces, NFC, case-folded."""
    return "".join(normalize(text).casefold().split())


def normalize(text: str) -> str:
    """NFC (menus may arrive decomposed) and single-spaced."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def _sources(grammar: Grammar) -> list[tuple[str, str]]:
    """(text to spell, transcript it stands for) for every entry of the grammar."""
    language = grammar.language
    if grammar.kind == KIND_PHRASES:
        return [(phrase, phrase) for phrase in grammar.phrases]
    if grammar.kind == KIND_DIGITS:
        return [(word, word) for word in DIGIT_WORDS.get(language, ())]
    yes, no = YES_WORDS.get(language, ()), NO_WORDS.get(language, ())
    return [(word, yes[0]) for word in yes] + [(word, no[0]) for word in no]
