"""Speech recognition accuracy on espeak-ng Korean over a simulated phone line (issue 3).

The corpus (corpus.py): every Korean phrase of the shipped menu's speech node, the yes/no
answers (예 네 맞아요 / 아니오 아니요 아니), one 8-digit account number per condition (Sino-Korean
and native digit words in turn), and 20 other Korean sentences a caller might say instead
(each heard in half the conditions), all rendered by espeak-ng in 16 conditions: voices `ko`
and `ko+f3`, 140 and 180 words/min, pitch 40 and 70, each on a clean line and with white
noise at 15 dB SNR; then 300–3400 Hz band-pass, -20 dBFS, 8 kHz μ-law and back.

The metrics are defined in evaluation.py: first-turn intent accuracy (accepted at
`DEFAULT_ACCEPT` and right), completion within one confirmation turn (accepted and right; or
confirmed, right and "예" accepted; or rejected and the repeat accepted and right), false
accepts (out-of-grammar speech accepted as a menu phrase), and the naive baseline (stock Vosk,
phrases as written plus `[unk]`, whole-phrase match) measured in the same run.

THE ISSUE'S TARGETS ARE NOT MET except false accepts: 85% first-turn and 95% completion are far
above what vosk-model-small-ko makes of espeak-ng's Korean voice (free-form decoding of these
phrases is gibberish; forcing each utterance onto the best of the menu's phrases finds the right
option for ~40%). The floors below are the levels measured at this commit minus a margin, so that
a regression fails; docs/BENCHMARKS.md ("Speech recognition accuracy") has the figures, what was
tried, and the larger grid of bench/accuracy.py.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Final

from corpus import NO_TEXTS, YES_TEXTS
from evaluation import ISSUE_TARGETS

MEASURED_FOR: Final = (
    *("카드 분실", "분실 신고", "도난 신고", "도난", "카드를 잃어버렸어요"),
    *("잔액", "잔액 조회", "잔고"),
    *("카드 서비스", "서비스", "결제일", "이용 한도"),
    *("상담원", "상담원 연결", "상담사"),
    *("다시 듣기", "반복", "처음으로", "다시 말해 주세요"),
)
"""The phrases of the shipped menu's node `main` when the levels below were measured."""

MEASURED: Final = {
    "first_turn_accuracy": 0.257,
    "completion": 0.322,
    "phrases_first_turn_accuracy": 0.118,
}
"""At this commit, on the CI grid, for `MEASURED_FOR`. Recognition is deterministic, so a change
is a real change; when the menu's phrases change, these are re-measured (the suite warns)."""

YES_NO_MEASURED: Final = 0.740
"""The yes/no answers do not depend on the menu."""

MARGIN: Final = 0.03


def measured_here(accuracy: dict[str, Any]) -> bool:
    """Whether the floors were measured for the phrases the suite just heard."""
    if tuple(accuracy["phrases"]) == MEASURED_FOR:
        return True
    warnings.warn(
        "the shipped menu's phrases changed since the accuracy floors were measured: update "
        f"MEASURED_FOR and MEASURED in {Path(__file__).name} from the printed report",
        stacklevel=2,
    )
    return False


def test_first_turn_intent_accuracy_holds_its_measured_level(accuracy: dict[str, Any]) -> None:
    overall = accuracy["overall"]["first_turn_accuracy"]
    assert overall < ISSUE_TARGETS["first_turn_accuracy"]  # when this fails, raise the floors
    if measured_here(accuracy):
        assert overall >= MEASURED["first_turn_accuracy"] - MARGIN
        phrases = accuracy["by_kind"]["phrases"]["first_turn_accuracy"]
        assert phrases >= MEASURED["phrases_first_turn_accuracy"] - MARGIN


def test_yes_no_answers_hold_their_measured_level(accuracy: dict[str, Any]) -> None:
    assert accuracy["by_kind"]["yes_no"]["first_turn_accuracy"] >= YES_NO_MEASURED - MARGIN


def test_completion_within_one_confirmation_holds_its_measured_level(
    accuracy: dict[str, Any],
) -> None:
    completion = accuracy["overall"]["completion"]
    assert completion >= accuracy["overall"]["first_turn_accuracy"]
    if measured_here(accuracy):
        assert completion >= MEASURED["completion"] - MARGIN


def test_false_accepts_meet_the_issue_target(accuracy: dict[str, Any]) -> None:
    assert accuracy["overall"]["false_accepts"] <= ISSUE_TARGETS["false_accepts"]


def test_menu_phrases_are_right_more_often_net_of_wrong_accepts_than_naively(
    accuracy: dict[str, Any],
) -> None:
    phrases = accuracy["by_kind"]["phrases"]
    ours = phrases["first_turn_accuracy"] - phrases["wrong_accepts"]
    naive = phrases["naive_first_turn_accuracy"] - phrases["naive_wrong_accepts"]
    assert ours > naive


def test_vocabulary_gaps_of_the_shipped_menu_are_known(accuracy: dict[str, Any]) -> None:
    assert accuracy["unsupported_phrases"] == ["카드를 잃어버렸어요"]


def test_report_is_written_for_every_condition(accuracy: dict[str, Any]) -> None:
    per_condition = len(accuracy["phrases"]) + len(YES_TEXTS) + len(NO_TEXTS) + 1
    assert Path(accuracy["report_path"]).is_file()
    assert len(accuracy["by_condition"]) == 16
    assert all(row["utterances"] == per_condition for row in accuracy["by_condition"].values())
