"""Speech recognition accuracy on a larger espeak-ng grid than CI runs (issue 3; not run in CI).

    .venv/bin/python bench/accuracy.py
    .venv/bin/python bench/accuracy.py --snr clean 20 --json /tmp/accuracy.json

Same corpus, metrics and naive baseline as tests/accuracy (their definitions are in
tests/accuracy/evaluation.py), over 3 voices (`ko`, `ko+f3`, `ko+m3`) × 4 speeds (120–210
words/min) × 3 pitches × 4 lines (clean, 20, 15, 10 dB SNR) = 144 conditions, ~4,600
utterances plus their follow-up turns; about 15 minutes on 2 cores. Prints the table of the CI
suite plus per-phrase first-turn accuracy; the JSON holds everything.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import vosk

ROOT = Path(__file__).resolve().parents[1]
# Not bench/ first on the path: bench/speech.py would shadow the speech package.
sys.path[:1] = [str(ROOT), str(ROOT / "tests" / "accuracy")]

# The corpus and the scoring live with the suite that runs them in CI.
from corpus import (  # noqa: E402
    BENCH_SNRS,
    BENCH_VOICES,
    SpeechCorpus,
    conditions,
    items_for,
    shipped_speech_nodes,
)
from evaluation import Evaluation, report_lines, target_lines, timed_run  # noqa: E402

from speech.recognition import KALDI_QUIET, SpeechModel  # noqa: E402


def parse_snr(value: str) -> float | None:
    return None if value == "clean" else float(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snr", nargs="+", type=parse_snr, default=list(BENCH_SNRS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--digits", type=int, default=1, help="account numbers per condition")
    parser.add_argument("--oog-share", type=int, default=2, help="1/n of OOG sentences each")
    parser.add_argument("--cache", type=Path, help="keep espeak-ng renderings here")
    parser.add_argument("--json", type=Path, help="write the full summary here")
    args = parser.parse_args()

    model = SpeechModel.load()
    vosk.SetLogLevel(KALDI_QUIET)
    stock = vosk.Model(str(SpeechModel.default_path()))
    node = shipped_speech_nodes()[0]
    grid = conditions(BENCH_VOICES, tuple(args.snr))
    items = list(items_for(node, grid, args.digits, 7, args.oog_share))
    with tempfile.TemporaryDirectory() as tmp:
        corpus = SpeechCorpus(args.cache or Path(tmp))
        evaluation = Evaluation(model, stock, corpus, node)
        summary = timed_run(evaluation, items, max(1, args.threads))
    print(f"{len(grid)} conditions, {len(items)} utterances, {summary['wall_seconds']} s")
    for line in report_lines(summary):
        print(line)
    print()
    for text, row in summary["per_phrase"].items():
        print(f"{text:14} first-turn {row['first_turn_accuracy']:6.1%}   naive {row['naive']:6.1%}")
    print()
    for line in target_lines(summary):
        print(line)
    if args.json:
        args.json.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
