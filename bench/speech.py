"""Speech over Media Streams: N callers through the real websocket path vs. Vosk alone, one run.

    .venv/bin/python bench/speech.py                          # 10, 20, 40, 60 callers, ~10 min
    .venv/bin/python bench/speech.py --concurrency 10,40 --duration 30 --json /tmp/speech.json
    .venv/bin/python bench/speech.py --profile-at 40          # py-spy on the server at N=40

**Direct baseline.** A separate process loads the packaged Vosk model and decodes the callers'
utterance, exactly the 8 kHz PCM the server's recognizer is fed for it (pre-roll, voice,
silence up to the endpointer's decision), with the main node's grammar, one new recognizer
per utterance, 100 ms per ``accept`` (``bench/speech_direct.py``): in *batch* on 1, 2 and 4
threads (as fast as they go), and *paced* as 20 and 40 real-time streams on the server's four
decoder threads (Vosk alone at a caller's pace). CPU seconds per second of audio for each;
the paced run with the most streams is the baseline the path is compared with.

**Through the path**, for each N of ``--concurrency``: a fresh ``voicedesk serve`` (SQLite,
speech sessions capped at ``--max-sessions``, the shipped menu with the edits described in
``bench/speech_server.py``: no business-hours check, and whatever is heard at the main node
leads back to it) and N simulated callers in separate processes (``bench/speech_callers.py``:
``telephony.simulator`` with a real websocket and real-time audio). Each caller loops on the
speech node ``main`` inside one stream: 600 ± 300 ms into every prompt (uniform; without
the variation the callers fall in step) it says "상담원 연결", the
server decodes it, steps (back to ``main``, or its no-match retry) and plays the next prompt
on the same stream; after ``--turns`` utterances the caller hears the prompt out, hangs up and
calls again.
After the ramp and the warm-up a window of ``--duration`` seconds measures the server's CPU
per second of stream (silence included: Twilio streams continuously), the event loop's share,
RSS per stream, and per turn the end-of-speech → next-prompt latency seen by the caller, in
total and after the endpointer's decision (``bench/speech_turns.py`` defines both).
Real-time capacity on this machine = cores / CPU seconds per (stream- or audio-) second, for
both; their ratio is the path's efficiency. The admission limit recommended is the largest N
whose p95 latency after the endpointer's decision stays within ``--budget-ms`` with the
server under ``--cpu-limit`` of the machine; the limit by the total p95 goal
(``--latency-goal-ms``) and by CPU cost alone are printed too (``bench/speech_report.py``).

The callers share the machine with the server (on 2 cores that competition is unavoidable):
their CPU and the lag of their event loop are reported with the figures. Only 127.0.0.1 is
contacted; every phase is bounded in time. ``callers`` and ``direct`` are internal
subcommands (the processes this bench starts).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

# Run as a script, this file's folder comes first on sys.path, and there "speech" is this very
# file, not voicedesk's speech package: put the repository root in its place (the helpers are
# then bench.speech_*).
REPO: Final = Path(__file__).resolve().parent.parent
sys.path[0] = str(REPO)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import shlex  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from dataclasses import asdict  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from typing import Any  # noqa: E402

from bench import speech_callers, speech_direct  # noqa: E402
from bench.speech_phase import BenchSetup, PhaseResult, run_phase, wait_for_quiet  # noqa: E402
from bench.speech_profile import hot_spots  # noqa: E402
from bench.speech_report import recommend, report  # noqa: E402
from bench.speech_server import SPEECH_NODE, bench_menu, tree_state  # noqa: E402
from bench.speech_utterance import SpokenPhrase, prepare  # noqa: E402
from bench.webhooks import machine  # noqa: E402
from config.loader import load_menu_file  # noqa: E402
from config.menu import MenuNode  # noqa: E402
from ivr.listening import option_phrases  # noqa: E402
from web.speech_turn import PRE_ROLL_FRAMES  # noqa: E402

PHRASE: Final = "상담원 연결"
"""What every caller says: recognized with full confidence (see ``LOOP_OPTION_KEY``)."""
MAX_PHASE_SECONDS: Final = 600.0
MAX_CALLERS: Final = 200


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    callers = sub.add_parser("callers", help="internal: one callers process")
    callers.add_argument("spec", type=Path)
    callers.add_argument("out", type=Path)
    direct = sub.add_parser("direct", help="internal: the direct Vosk baseline")
    direct.add_argument("spec", type=Path)
    direct.add_argument("out", type=Path)
    add = parser.add_argument
    add("--concurrency", default="10,20,40,60", help="callers per phase, comma-separated")
    add("--duration", type=float, default=60.0, help="seconds of each measuring window")
    add("--warmup", type=float, default=10.0, help="seconds between the ramp and the window")
    add("--ramp", type=float, default=5.0, help="seconds over which the callers start")
    add("--turns", type=int, default=20, help="utterances per call before it hangs up")
    add("--barge-in-ms", type=int, default=600, help="when the caller speaks into a prompt")
    add("--jitter-ms", type=int, default=300, help="± uniform variation of --barge-in-ms")
    add("--seed", type=int, default=3, help="seed of the callers' variations")
    add("--caller-processes", type=int, default=2, help="processes the callers run in")
    add("--max-sessions", type=int, default=1000, help="VOICEDESK_SPEECH_MAX_SESSIONS")
    add("--direct-threads", default="1,2,4", help="thread counts of the direct baseline")
    add("--direct-streams", default="20,40", help="real-time streams of the paced baseline")
    add("--direct-seconds", type=float, default=15.0, help="seconds per direct run")
    add("--latency-goal-ms", type=float, default=400.0, help="p95 goal, end of speech → prompt")
    add("--budget-ms", type=float, default=100.0, help="p95 goal after the endpointer decided")
    add("--cpu-limit", type=float, default=80.0, help="server CPU %% of the machine allowed")
    add("--quiet-pct", type=float, default=30.0, help="wait for other load below this %% of a core")
    add("--quiet-wait", type=float, default=300.0, help="seconds to wait for it at most, per phase")
    add("--max-other-pct", type=float, default=40.0, help="other load that voids a measurement")
    add("--attempts", type=int, default=3, help="measurements per phase while others load it")
    add("--profile-at", type=int, default=None, help="py-spy the server in this phase")
    add("--workdir", type=Path, default=None, help="keep logs and results here")
    add("--json", type=Path, default=None, help="also write the results here")
    return parser


def _numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _checked(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    args.concurrency = _numbers(args.concurrency)
    args.direct_threads = _numbers(args.direct_threads)
    args.direct_streams = _numbers(args.direct_streams)
    if not args.concurrency or not all(1 <= n <= MAX_CALLERS for n in args.concurrency):
        parser.error(f"--concurrency takes numbers within 1..{MAX_CALLERS}")
    if not 0 < args.duration <= MAX_PHASE_SECONDS or not 0 <= args.warmup <= MAX_PHASE_SECONDS:
        parser.error(f"--duration and --warmup must be within (0, {MAX_PHASE_SECONDS:g}] s")
    if min(args.turns, args.caller_processes, args.attempts, *args.direct_threads) < 1:
        parser.error("--turns, --caller-processes, --attempts, --direct-threads: at least 1")
    if not 0 <= args.jitter_ms <= args.barge_in_ms - PRE_ROLL_FRAMES * 20:
        # The direct baseline assumes a full pre-roll of line silence before every utterance.
        parser.error(f"--barge-in-ms minus --jitter-ms must leave {PRE_ROLL_FRAMES * 20} ms")
    if args.profile_at is not None and args.profile_at not in args.concurrency:
        parser.error("--profile-at must be one of the --concurrency values")
    if args.profile_at is not None and not (Path(sys.executable).parent / "py-spy").exists():
        parser.error("--profile-at needs py-spy in the venv (.venv/bin/pip install py-spy)")
    return args


def direct_main(spec_file: Path, out: Path) -> None:
    """The ``direct`` subcommand: run the baseline described in ``spec_file``."""
    spec = json.loads(spec_file.read_text())
    pcm = Path(spec["pcm"]).read_bytes()
    results = speech_direct.baseline(
        pcm, tuple(spec["phrases"]), spec["threads"], spec["streams"], spec["seconds"]
    )
    out.write_text(json.dumps([_direct_summary(r) for r in results]))


def _direct_summary(result: speech_direct.DirectResult) -> dict[str, Any]:
    return {
        **{k: v for k, v in asdict(result).items() if k not in ("transcripts", "finish_ms")},
        "cpu_per_audio_second": result.cpu_per_audio_second,
        "realtime_streams": result.realtime_streams,
        "other_load_cores": round(result.other_load, 2),
        "transcripts": dict(result.transcripts.most_common(5)),
        "finish_ms_p50": sorted(result.finish_ms)[len(result.finish_ms) // 2],
    }


def run_direct(
    workdir: Path, phrase: SpokenPhrase, phrases: tuple[str, ...], args: argparse.Namespace
) -> list[dict[str, Any]]:
    """The direct baseline, in its own process (the model costs ~500 MB there, not here)."""
    pcm = workdir / "utterance.pcm"
    pcm.write_bytes(phrase.decoded_pcm16())
    spec = workdir / "direct.spec.json"
    spec.write_text(
        json.dumps(
            {
                "pcm": str(pcm),
                "phrases": phrases,
                "threads": args.direct_threads,
                "streams": args.direct_streams,
                "seconds": args.direct_seconds,
            }
        )
    )
    out = workdir / "direct.out.json"
    subprocess.run([sys.executable, __file__, "direct", str(spec), str(out)], check=True)
    result: list[dict[str, Any]] = json.loads(out.read_text())
    return result


def node_phrases(menu: Path) -> tuple[str, ...]:
    """The Korean phrases of the speech node, as the engine puts them in its grammar."""
    node = load_menu_file(menu).nodes[SPEECH_NODE]
    if not isinstance(node, MenuNode):
        raise SystemExit(f"{menu}: node {SPEECH_NODE!r} is not a menu node")
    return option_phrases(node, "ko")


def _setup(args: argparse.Namespace, workdir: Path, phrase: SpokenPhrase) -> BenchSetup:
    return BenchSetup(
        workdir=workdir,
        menu=workdir / "bench-menu.json",
        prompt_cache=workdir / "prompts",
        phrase=phrase,
        auth_token=secrets.token_hex(16),
        turns=args.turns,
        barge_in_ms=args.barge_in_ms,
        barge_in_jitter_ms=args.jitter_ms,
        seed=args.seed,
        ramp_seconds=args.ramp,
        warmup_seconds=args.warmup,
        duration_seconds=args.duration,
        caller_processes=args.caller_processes,
        max_sessions=args.max_sessions,
        quiet_pct=args.quiet_pct,
        quiet_wait_seconds=args.quiet_wait,
        profile_at=args.profile_at,
    )


def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Run the baseline and every phase; the results as one JSON-ready document."""
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="voicedesk-speech-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    phrases = node_phrases(bench_menu(workdir))
    phrase = asyncio.run(prepare(PHRASE, "ko", workdir, args.barge_in_ms))
    print(f"workdir {workdir}")
    print(
        f"utterance: {phrase.audio_seconds:.2f} s, voiced {phrase.voiced_ms} ms, decoded "
        f"{len(phrase.decoded_pcm16()) / 16000:.2f} s; the endpointer "
        f"decides {phrase.endpointer_wait_ms} ms after the voice ends"
    )
    setup = _setup(args, workdir, phrase)
    direct = quietest_direct(setup, phrases, args)
    phases = [quietest_phase(setup, concurrency, args) for concurrency in args.concurrency]
    return _document(args, workdir, phrase, direct, phases)


def quietest_direct(
    setup: BenchSetup, phrases: tuple[str, ...], args: argparse.Namespace
) -> list[dict[str, Any]]:
    """The direct baseline, measured again (``--attempts``) while others loaded the machine."""
    runs: list[list[dict[str, Any]]] = []
    for _ in range(args.attempts):
        load = wait_for_quiet(setup)
        print(f"direct: starting with the rest of the machine at {load:.0f} % of a core")
        runs.append(run_direct(setup.workdir, setup.phrase, phrases, args))
        print(f"direct: {json.dumps(runs[-1], ensure_ascii=False)}", flush=True)
        if _direct_other_load(runs[-1]) <= args.max_other_pct:
            break
    return min(runs, key=_direct_other_load)


def _direct_other_load(run: list[dict[str, Any]]) -> float:
    return max(100 * float(r["other_load_cores"]) for r in run)


def quietest_phase(setup: BenchSetup, concurrency: int, args: argparse.Namespace) -> PhaseResult:
    """One phase, measured again (``--attempts``) while others loaded the machine."""
    runs: list[PhaseResult] = []
    for _ in range(args.attempts):
        runs.append(run_phase(setup, concurrency))
        figures = runs[-1].summary()
        print(json.dumps(figures, ensure_ascii=False), flush=True)
        if figures["other_load_pct_of_core"] <= args.max_other_pct:
            break
    return min(runs, key=lambda r: r.other_load_seconds)


def _document(
    args: argparse.Namespace,
    workdir: Path,
    phrase: SpokenPhrase,
    direct: list[dict[str, Any]],
    phases: list[PhaseResult],
) -> dict[str, Any]:
    cores = os.cpu_count() or 1
    return {
        "command": shlex.join([".venv/bin/python", "bench/speech.py", *sys.argv[1:]]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": phases[0].tree if phases else tree_state(),
        "machine": machine(),
        "workdir": str(workdir),
        "utterance": {
            "text": phrase.text,
            "audio_seconds": phrase.audio_seconds,
            "decoded_seconds": len(phrase.decoded_pcm16()) / 2 / 8000,
            "voiced_ms": phrase.voiced_ms,
            "endpointer_wait_ms": phrase.endpointer_wait_ms,
            "onset_detected_after_ms": (phrase.started_frame - phrase.onset_frame) * 20,
        },
        "direct": direct,
        "phases": [p.summary() | _details(p) for p in phases],
        "recommended_limit": recommend(
            [p.summary() for p in phases],
            args.latency_goal_ms,
            args.budget_ms,
            args.cpu_limit,
            cores,
        ),
    }


def _details(phase: PhaseResult) -> dict[str, Any]:
    history = phase.history
    return {
        "other_threads_cpu_s": [round(s, 2) for s in phase.other_threads_cpu[:8]],
        "unanswered": dict(phase.turns.unanswered),
        "call_outcomes": dict(phase.turns.call_outcomes),
        "events": dict(history.events),
        "transcripts": dict(history.transcripts.most_common(8)),
        "stream_outcomes": dict(history.stream_outcomes),
        "refusals": dict(history.refusals),
        "decoded_audio_seconds": sum(history.audio_ms) / 1000,
        "stream_seconds": phase.turns.stream_seconds,
        "errors": phase.errors,
        "profile": phase.profile,
    }


def main() -> int:
    """Run the bench (or one of its internal processes)."""
    parser = _parser()
    args = parser.parse_args()
    if args.command == "callers":
        speech_callers.main(args.spec, args.out)
        return 0
    if args.command == "direct":
        direct_main(args.spec, args.out)
        return 0
    args = _checked(parser, args)
    document = bench(args)
    results = Path(document["workdir"]) / "results.json"
    results.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(report(document))
    for phase in document["phases"]:
        if phase["profile"]:
            print(f"\nserver profile at N={phase['concurrency']} ({phase['profile']}):")
            print(hot_spots(Path(phase["profile"])))
    if args.json is not None:
        args.json.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
