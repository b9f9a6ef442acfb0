"""Run the recognizer (and a naive Vosk baseline) over a corpus and score it as the issue asks.

Definitions (every rate is over utterances of the corpus, each decoded once):

- **accept / confirm / reject**: the recognizer's confidence is ≥ the accept threshold, in
  [confirm, accept), or below confirm (or the transcript is empty).
- **right**: for a menu phrase, the transcript is a phrase of the intended option; for yes/no,
  the canonical answer said; for digits, the same digit words as read out.
- **first-turn intent accuracy**: in-grammar utterances accepted and right.
- **completion within one confirmation turn**: accepted and right; or confirmed and right and
  the same voice's "예" on the same line, decoded with the yes/no grammar, accepted as "예";
  or rejected and the caller's repeat (the same words 10% slower, fresh line noise) accepted
  and right. A wrong accept is a failure (the caller is misrouted).
- **wrong accepts**: in-grammar utterances accepted with a wrong transcript.
- **false accepts**: out-of-grammar utterances accepted with any transcript, decoded with the
  menu's phrase grammar.
- **naive baseline**: stock Vosk (its own Kaldi dither, no n-best): a grammar of the phrases
  exactly as written plus ``[unk]``, the best path taken as the transcript when it equals a
  phrase (yes/no word, digit words) as a whole; it has no confidence, so everything it matches
  is accepted and it never confirms. Kaldi's dither makes it vary a little from run to run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Final

import vosk
from corpus import (
    CANONICAL_NO,
    CANONICAL_YES,
    NO_TEXTS,
    YES_TEXTS,
    Condition,
    Item,
    MenuSpeech,
    SpeechCorpus,
    Voice,
)

from ivr.matching import normalize
from speech.audio import TELEPHONE_RATE
from speech.grammar import DIGIT_WORDS, Grammar
from speech.recognition import DEFAULT_ACCEPT, DEFAULT_CONFIRM, Recognition, SpeechModel

ISSUE_TARGETS: Final = {"first_turn_accuracy": 0.85, "completion": 0.95, "false_accepts": 0.05}
"""Issue 3: at least 85% / 95%, at most 5% false accepts."""

ACCEPT: Final = "accept"
CONFIRM: Final = "confirm"
REJECT: Final = "reject"
ACCEPT_THRESHOLDS_SHOWN: Final = (0.45, 0.6, 0.7, 0.8, 0.9)
REPEAT_SPEED: Final = 0.9
"""A caller asked again says the same thing about 10% slower."""
CHUNK_BYTES: Final = 1600
"""100 ms per `accept`, as the media-stream session feeds the recognizer."""

Decoder = Callable[[Grammar, bytes], Recognition]


@dataclass(frozen=True)
class Thresholds:
    """The engine's decision thresholds."""

    accept: float = DEFAULT_ACCEPT
    confirm: float = DEFAULT_CONFIRM

    def decide(self, heard: Recognition) -> str:
        """What the engine does with ``heard``."""
        if not heard.transcript or heard.confidence < self.confirm:
            return REJECT
        return ACCEPT if heard.confidence >= self.accept else CONFIRM


@dataclass(frozen=True)
class Outcome:
    """One utterance through the recognizer, with the follow-up turn it led to (if any)."""

    item: Item
    first: Recognition
    right: bool
    decision: str
    follow_up: Recognition | None = None
    follow_up_right: bool = False
    naive: Recognition | None = None
    naive_right: bool = False

    @property
    def completed(self) -> bool:
        """Accepted and right, or made right by the confirmation or the repeat."""
        if self.decision == ACCEPT:
            return self.right
        return self.follow_up_right


@dataclass
class Tally:
    """Counts for one slice of the corpus (a kind, a condition, everything)."""

    utterances: int = 0
    first_turn: int = 0
    completed: int = 0
    wrong_accepts: int = 0
    confirmed: int = 0
    naive_first_turn: int = 0
    naive_wrong: int = 0
    false_accepts: int = 0
    naive_false_accepts: int = 0
    out_of_grammar: int = 0
    decode_seconds: list[float] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        """Count ``outcome``."""
        if outcome.item.kind == "oog":
            self.out_of_grammar += 1
            self.false_accepts += outcome.decision == ACCEPT
            self.naive_false_accepts += bool(outcome.naive and outcome.naive.transcript)
            return
        self.utterances += 1
        self.first_turn += outcome.decision == ACCEPT and outcome.right
        self.completed += outcome.completed
        self.wrong_accepts += outcome.decision == ACCEPT and not outcome.right
        self.confirmed += outcome.decision == CONFIRM
        self.naive_first_turn += outcome.naive_right
        self.naive_wrong += bool(outcome.naive and outcome.naive.transcript) and not (
            outcome.naive_right
        )

    def rates(self) -> dict[str, float | int]:
        """The slice's figures as fractions."""
        n, m = max(self.utterances, 1), max(self.out_of_grammar, 1)
        return {
            "utterances": self.utterances,
            "first_turn_accuracy": self.first_turn / n,
            "completion": self.completed / n,
            "wrong_accepts": self.wrong_accepts / n,
            "confirmations": self.confirmed / n,
            "naive_first_turn_accuracy": self.naive_first_turn / n,
            "naive_wrong_accepts": self.naive_wrong / n,
            "out_of_grammar": self.out_of_grammar,
            "false_accepts": self.false_accepts / m,
            "naive_false_accepts": self.naive_false_accepts / m,
        }


class Evaluation:
    """Decodes a corpus with the recognizer and the naive baseline on a pool of threads."""

    def __init__(
        self,
        model: SpeechModel,
        stock: vosk.Model | None,
        corpus: SpeechCorpus,
        node: MenuSpeech,
        thresholds: Thresholds = Thresholds(),
    ) -> None:
        """Score against ``node``'s phrases; ``stock`` (a default-configured model) for naive."""
        self.model, self.stock, self.corpus, self.node = model, stock, corpus, node
        self.thresholds = thresholds
        self.grammars = {
            "phrases": Grammar.of_phrases(node.phrases, "ko"),
            "oog": Grammar.of_phrases(node.phrases, "ko"),
            "yes_no": Grammar.yes_no("ko"),
            "digits": Grammar.digits("ko"),
        }

    def run(self, items: Iterable[Item], threads: int = 2) -> list[Outcome]:
        """Every item's outcome, in order."""
        with ThreadPoolExecutor(threads, thread_name_prefix="accuracy") as pool:
            return list(pool.map(self.outcome, items))

    def outcome(self, item: Item) -> Outcome:
        """Decode ``item`` (and its confirmation or repeat) and judge it."""
        grammar = self.grammars[item.kind]
        first = self.decode(grammar, self.corpus.audio(item.text, item.condition))
        outcome = Outcome(item, first, self.is_right(item, first), self.thresholds.decide(first))
        if self.stock is not None:
            naive = self.decode_naive(grammar, self.corpus.audio(item.text, item.condition))
            outcome = replace(outcome, naive=naive, naive_right=self.is_right(item, naive))
        if item.kind == "oog" or outcome.decision == ACCEPT:
            return outcome
        return self.follow_up(outcome)

    def follow_up(self, outcome: Outcome) -> Outcome:
        """The confirmation ("예" by the same voice) or the repeat, and whether it succeeded."""
        item = outcome.item
        if outcome.decision == CONFIRM:
            reply = self.decode(self.grammars["yes_no"], self.corpus.audio("예", item.condition))
            ok = outcome.right and self.thresholds.decide(reply) == ACCEPT
            return replace(
                outcome, follow_up=reply, follow_up_right=ok and reply.transcript == "예"
            )
        again = repeat_condition(item.condition)
        repeat = self.decode(self.grammars[item.kind], self.corpus.audio(item.text, again))
        ok = self.thresholds.decide(repeat) == ACCEPT and self.is_right(item, repeat)
        return replace(outcome, follow_up=repeat, follow_up_right=ok)

    def decode(self, grammar: Grammar, pcm: bytes) -> Recognition:
        """The recognizer's answer, fed in 100 ms chunks."""
        recognizer = self.model.recognizer(grammar)
        for offset in range(0, len(pcm), CHUNK_BYTES):
            recognizer.accept(pcm[offset : offset + CHUNK_BYTES])
        return recognizer.finish()

    def decode_naive(self, grammar: Grammar, pcm: bytes) -> Recognition:
        """Stock Vosk with a per-prompt grammar, its best path matched as a whole."""
        assert self.stock is not None
        words = naive_words(grammar)
        kaldi = vosk.KaldiRecognizer(
            self.stock, TELEPHONE_RATE, json.dumps([*words, "[unk]"], ensure_ascii=False)
        )
        for offset in range(0, len(pcm), CHUNK_BYTES):
            kaldi.AcceptWaveform(pcm[offset : offset + CHUNK_BYTES])
        heard = str(json.loads(kaldi.FinalResult()).get("text", ""))
        return Recognition(naive_transcript(grammar, heard), heard, 1.0, len(pcm) / 16000)

    def is_right(self, item: Item, heard: Recognition) -> bool:
        """Whether ``heard`` is what ``item`` meant."""
        if item.kind == "phrases":
            return bool(heard.transcript) and self.node.option_of(heard.transcript) == item.option
        return bool(heard.transcript) and heard.transcript == item.expected


def repeat_condition(condition: Condition) -> Condition:
    """The line and voice of the caller's second try: same voice 10% slower, new noise."""
    voice = condition.voice
    slower = Voice(voice.name, round(voice.speed * REPEAT_SPEED), voice.pitch)
    return Condition(slower, condition.snr_db)


def naive_words(grammar: Grammar) -> list[str]:
    """What a first implementation passes to Vosk: the texts as written."""
    if grammar.kind == "phrases":
        return list(grammar.phrases)
    if grammar.kind == "digits":
        return list(DIGIT_WORDS["ko"])
    return [*YES_TEXTS, *NO_TEXTS]


def naive_transcript(grammar: Grammar, heard: str) -> str:
    """The naive reading of Vosk's best path: a whole phrase/answer/digit string, or ""."""
    said = normalize(heard)
    if grammar.kind == "phrases":
        return next((p for p in grammar.phrases if normalize(p) == said), "")
    if grammar.kind == "digits":
        words = said.split()
        return said if words and all(w in DIGIT_WORDS["ko"] for w in words) else ""
    if said in YES_TEXTS:
        return CANONICAL_YES
    return CANONICAL_NO if said in NO_TEXTS else ""


def summarize(outcomes: list[Outcome], seconds: float) -> dict[str, Any]:
    """Figures overall, per kind and per condition, ready for the report and JSON."""
    overall = Tally()
    by_kind: dict[str, Tally] = {}
    by_condition: dict[str, Tally] = {}
    for outcome in outcomes:
        overall.add(outcome)
        kind = outcome.item.kind if outcome.item.kind != "oog" else "out_of_grammar"
        by_kind.setdefault(kind, Tally()).add(outcome)
        by_condition.setdefault(outcome.item.condition.label, Tally()).add(outcome)
    return {
        "thresholds": {"accept": DEFAULT_ACCEPT, "confirm": DEFAULT_CONFIRM},
        "overall": overall.rates(),
        "by_kind": {k: t.rates() for k, t in sorted(by_kind.items())},
        "by_condition": {k: t.rates() for k, t in sorted(by_condition.items())},
        "per_phrase": per_phrase(outcomes),
        "operating_points": operating_points(outcomes),
        "wall_seconds": round(seconds, 1),
        "utterances_decoded": len(outcomes),
    }


def operating_points(outcomes: list[Outcome]) -> dict[str, dict[str, float]]:
    """First-turn accuracy, wrong and false accepts if the accept threshold were elsewhere."""
    grammar = [o for o in outcomes if o.item.kind != "oog"]
    other = [o for o in outcomes if o.item.kind == "oog"]
    points = {}
    for accept in ACCEPT_THRESHOLDS_SHOWN:
        taken = [o for o in grammar if o.first.transcript and o.first.confidence >= accept]
        false = [o for o in other if o.first.transcript and o.first.confidence >= accept]
        points[f"{accept:.2f}"] = {
            "first_turn_accuracy": sum(o.right for o in taken) / max(len(grammar), 1),
            "wrong_accepts": sum(not o.right for o in taken) / max(len(grammar), 1),
            "false_accepts": len(false) / max(len(other), 1),
        }
    return points


def per_phrase(outcomes: list[Outcome]) -> dict[str, dict[str, float]]:
    """First-turn accuracy of each in-grammar text (menu phrases and yes/no words)."""
    found: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        if outcome.item.kind in ("phrases", "yes_no"):
            found.setdefault(outcome.item.text, []).append(outcome)
    return {
        text: {
            "first_turn_accuracy": sum(o.decision == ACCEPT and o.right for o in group)
            / len(group),
            "naive": sum(o.naive_right for o in group) / len(group),
        }
        for text, group in found.items()
    }


def timed_run(evaluation: Evaluation, items: list[Item], threads: int = 2) -> dict[str, Any]:
    """Run ``items`` on ``threads`` and summarize them with the wall time it took."""
    began = time.perf_counter()
    outcomes = evaluation.run(items, threads)
    return summarize(outcomes, time.perf_counter() - began)


def target_lines(summary: dict[str, Any]) -> list[str]:
    """One line per issue target: measured, target, met or NOT MET."""
    overall = summary["overall"]
    lines = []
    for metric, target in ISSUE_TARGETS.items():
        value = overall[metric]
        met = value <= target if metric == "false_accepts" else value >= target
        bound = "<=" if metric == "false_accepts" else ">="
        verdict = "met" if met else "NOT MET"
        lines.append(f"{metric}: {value:.1%} (target {bound} {target:.0%}) {verdict}")
    return lines


def report_lines(summary: dict[str, Any]) -> list[str]:
    """The summary as a fixed-width table."""
    head = f"{'slice':30} {'n':>4} {'1st-turn':>8} {'complete':>8} {'wrong':>6} {'naive':>6}"
    head += f" {'nWrong':>6} {'OOG n':>5} {'FA':>6} {'naiveFA':>7}"
    lines = [head, "-" * len(head)]
    rows = [("ALL", summary["overall"])]
    rows += [(f"kind {k}", v) for k, v in summary["by_kind"].items()]
    rows += [(k, v) for k, v in summary["by_condition"].items()]
    for name, r in rows:
        lines.append(
            f"{name:30} {r['utterances']:>4} {r['first_turn_accuracy']:>8.1%}"
            f" {r['completion']:>8.1%} {r['wrong_accepts']:>6.1%}"
            f" {r['naive_first_turn_accuracy']:>6.1%} {r['naive_wrong_accepts']:>6.1%}"
            f" {r['out_of_grammar']:>5}"
            f" {r['false_accepts']:>6.1%} {r['naive_false_accepts']:>7.1%}"
        )
    lines.append("")
    lines.append("accept threshold → first-turn / wrong accepts / false accepts (all kinds)")
    for accept, point in summary["operating_points"].items():
        lines.append(
            f"  {accept}: {point['first_turn_accuracy']:6.1%} / {point['wrong_accepts']:5.1%}"
            f" / {point['false_accepts']:5.1%}"
        )
    return lines
