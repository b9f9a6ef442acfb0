"""Accuracy-suite fixtures: the models, the cached corpus, and one decoding run per session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import vosk
from corpus import (
    SUITE_SNRS,
    SUITE_VOICES,
    SpeechCorpus,
    conditions,
    items_for,
    shipped_speech_nodes,
)
from evaluation import Evaluation, report_lines, target_lines, timed_run

from speech.grammar import Grammar
from speech.recognition import KALDI_QUIET, SpeechModel

DIGIT_STRINGS_PER_CONDITION = 1
DIGIT_SEED = 7
OUT_OF_GRAMMAR_SHARE = 2
"""Each condition hears half the out-of-grammar sentences: 160 utterances, every one 8 times."""


@pytest.fixture(scope="session")
def speech_model(pytestconfig: pytest.Config) -> Iterator[SpeechModel]:
    """The packaged Korean model, shared with the unit tests when both run (~500 MB)."""
    model: SpeechModel | None = getattr(pytestconfig, "voicedesk_speech_model", None)
    if model is None:
        model = SpeechModel.load()
        pytestconfig.voicedesk_speech_model = model  # type: ignore[attr-defined]
    yield model


@pytest.fixture(scope="session")
def stock_model() -> vosk.Model:
    """The same model as Vosk loads it out of the box, for the naive baseline."""
    vosk.SetLogLevel(KALDI_QUIET)
    return vosk.Model(str(SpeechModel.default_path()))


@pytest.fixture(scope="session")
def accuracy(
    speech_model: SpeechModel,
    stock_model: vosk.Model,
    tmp_path_factory: pytest.TempPathFactory,
    pytestconfig: pytest.Config,
) -> dict[str, Any]:
    """Every utterance of the CI grid decoded once; the summary is also written as JSON."""
    node = shipped_speech_nodes()[0]
    corpus = SpeechCorpus(tmp_path_factory.mktemp("speech-corpus"))
    grid = conditions(SUITE_VOICES, SUITE_SNRS)
    items = list(
        items_for(node, grid, DIGIT_STRINGS_PER_CONDITION, DIGIT_SEED, OUT_OF_GRAMMAR_SHARE)
    )
    summary = timed_run(Evaluation(speech_model, stock_model, corpus, node), items)
    summary["node"] = node.node
    summary["phrases"] = list(node.phrases)
    summary["unsupported_phrases"] = list(
        speech_model.unsupported_phrases(Grammar.of_phrases(node.phrases, "ko"))
    )
    path = tmp_path_factory.mktemp("speech-accuracy") / "report.json"
    path.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    summary["report_path"] = str(path)
    pytestconfig.voicedesk_accuracy = summary  # type: ignore[attr-defined]
    return summary


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Print the accuracy table at the end of the run, whatever the capture mode."""
    summary: dict[str, Any] | None = getattr(config, "voicedesk_accuracy", None)
    if summary is None:
        return
    terminalreporter.section("speech recognition accuracy (issue 3)")
    for line in report_lines(summary):
        terminalreporter.write_line(line)
    for line in target_lines(summary):
        terminalreporter.write_line(line, bold=True, red="NOT MET" in line)
    terminalreporter.write_line(f"report: {summary['report_path']}")
    terminalreporter.write_line(f"decoding wall time: {summary['wall_seconds']} s")
