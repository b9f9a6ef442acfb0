"""The figures of a bench/speech.py run as Markdown tables, and the admission limit they give."""

from __future__ import annotations

import math
import os
from math import nan
from typing import Any, Final

SATURATED_PCT: Final = 95.0
"""Machine busy %: the callers' turns slow down and per-second costs stop meaning much."""


def reference(direct: list[dict[str, Any]], mode: str) -> dict[str, Any]:
    """The direct run of ``mode`` the path is compared with: the most streams and threads."""
    runs = [r for r in direct if r["mode"] == mode] or direct
    return max(runs, key=lambda r: (int(r["streams"]), int(r["threads"])))


def capacity(cpu_per_second: float, cores: int) -> float:
    """Real-time streams ``cores`` sustain at ``cpu_per_second`` CPU seconds per stream-second."""
    return cores / cpu_per_second if cpu_per_second > 0 else math.nan


def recommend(
    phases: list[dict[str, Any]],
    goal_ms: float,
    budget_ms: float,
    cpu_limit_pct: float,
    cores: int,
) -> dict[str, Any]:
    """The admission limit the phases support, by the issue's criterion and by the server's part.

    The issue's criterion: p95 end of speech → next prompt within ``goal_ms`` with the server
    under ``cpu_limit_pct`` of the machine. The endpointer's trailing-silence window is part
    of that latency whatever the load, so the server's own part (after the endpointer's
    decision) is judged too, against ``budget_ms``. The CPU-bound figure is what the cost per
    stream-second allows at ``cpu_limit_pct``, the highest cost measured in a phase whose
    latency met the budget.
    """
    literal: int | None = None
    server_part: int | None = None
    verdicts: list[str] = []
    for p in phases:
        total, after = p["latency_ms"]["p95"], p["after_decision_ms"]["p95"]
        cpu_ok = p["server_cpu_pct_of_machine"] < cpu_limit_pct
        if cpu_ok and total <= goal_ms:
            literal = max(literal or 0, p["concurrency"])
        if cpu_ok and after <= budget_ms:
            server_part = max(server_part or 0, p["concurrency"])
        verdicts.append(
            f"N={p['concurrency']}: p95 {total:.0f} ms ({after:.0f} after the decision), "
            f"server CPU {p['server_cpu_pct_of_machine']:.0f} %"
        )
    # The cost per stream-second is only the designed workload's while the callers keep their
    # pace: a saturated server slows every turn down and so seems to cost less per second.
    paced_phases = [p for p in phases if p["after_decision_ms"]["p95"] <= budget_ms] or phases[:1]
    cost = max(p["cpu_per_stream_second"] for p in paced_phases) if paced_phases else nan
    return {
        "limit": server_part,
        "limit_by_total_latency": literal,
        "limit_by_cpu": math.floor(cpu_limit_pct / 100 * cores / cost) if cost > 0 else None,
        "criterion": f"p95 after the endpointer's decision ≤ {budget_ms:g} ms and server CPU "
        f"< {cpu_limit_pct:g} % of {cores} cores (total p95 goal {goal_ms:g} ms)",
        "phases": verdicts,
    }


def _ms(figures: dict[str, float], *keys: str) -> str:
    return " / ".join(f"{figures[k]:.0f}" for k in keys)


def direct_table(direct: list[dict[str, Any]], cores: int) -> list[str]:
    """The direct baseline, one row per thread count."""
    lines = [
        "| mode | threads | streams | CPU s per audio s | audio s per wall s | capacity on "
        f"{cores} cores | `finish` p50 ms | other load (cores) | transcript |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in direct:
        lines.append(
            f"| {r['mode']} | {r['threads']} | {r['streams']} | {r['cpu_per_audio_second']:.4f} "
            f"| {r['realtime_streams']:.0f} "
            f"| {capacity(r['cpu_per_audio_second'], cores):.0f} | {r['finish_ms_p50']:.1f} "
            f"| {r.get('other_load_cores', math.nan):.2f} "
            f"| {', '.join(f'{k or chr(8709)} ×{v}' for k, v in r['transcripts'].items())} |"
        )
    return lines


def per_decoded_second(phase: dict[str, Any]) -> float:
    """The server's CPU seconds per second of audio its recognizers were fed."""
    decoded = phase["decoded_audio_seconds"]
    return phase["cpu_per_stream_second"] * phase["stream_seconds"] / decoded if decoded else nan


def capacity_table(document: dict[str, Any], cores: int) -> list[str]:
    """CPU and memory through the path, one row per N, with the ratios to Vosk alone."""
    batch = reference(document["direct"], "batch")["cpu_per_audio_second"]
    paced = reference(document["direct"], "paced")["cpu_per_audio_second"]
    lines = [
        "| N | streams | turns | CPU s per stream-s: total (loop · decoders · rest) "
        "| per decoded s | capacity | **ratio** vs batch · paced | server CPU % | loop % core "
        "| machine % | callers · other % core | RSS idle → mean MB (per stream) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in document["phases"]:
        cost, split = p["cpu_per_stream_second"], p["cpu_split_per_stream_second"]
        saturated = " (saturated)" if p["machine_pct"] >= SATURATED_PCT else ""
        lines.append(
            f"| {p['concurrency']}{saturated} | {p['streams']:.1f} | {p['turns']} "
            f"| {cost:.4f} ({split['event_loop']:.4f} · {split['decoder_pool']:.4f} · "
            f"{split['other_threads']:.4f}) | {per_decoded_second(p):.4f} "
            f"| {capacity(cost, cores):.0f} | **{batch / cost:.2f}× · {paced / cost:.2f}×** "
            f"| {p['server_cpu_pct_of_machine']:.0f} | {p['loop_cpu_pct_of_core']:.0f} "
            f"| {p['machine_pct']:.0f} "
            f"| {p['callers_cpu_pct_of_core']:.0f} · {p['other_load_pct_of_core']:.0f} "
            f"| {p['rss_idle_mb']:.0f} → {p['rss_mean_mb']:.0f} ({p['rss_per_stream_mb']:.2f}) |"
        )
    return lines


def latency_table(document: dict[str, Any]) -> list[str]:
    """Latencies seen by the callers and recorded by the server, one row per N."""
    lines = [
        "| N | **end of speech → next prompt p50 / p95 / p99 ms** | after the endpointer's "
        "decision p50 / p95 / p99 | server `decision_ms` p50 / p95 | onset → clear p50 / p95 "
        "| caller loop lag p99 ms |",
        "|---|---|---|---|---|---|",
    ]
    for p in document["phases"]:
        lines.append(
            f"| {p['concurrency']} | **{_ms(p['latency_ms'], 'p50', 'p95', 'p99')}** "
            f"| {_ms(p['after_decision_ms'], 'p50', 'p95', 'p99')} "
            f"| {_ms(p['server_decision_ms'], 'p50', 'p95')} "
            f"| {_ms(p['onset_to_clear_ms'], 'p50', 'p95')} | {p['caller_lag_ms']['p99']:.0f} |"
        )
    return lines


def details(document: dict[str, Any]) -> list[str]:
    """Per phase: the share of stream time decoded, outcomes, and anything that went wrong."""
    lines = []
    for p in document["phases"]:
        decoded = p["decoded_audio_seconds"] / p["stream_seconds"] if p["stream_seconds"] else 0
        lines.append(
            f"- N={p['concurrency']}: {100 * decoded:.0f} % of stream time decoded; "
            f"recognized {p['transcripts']}; calls {p['call_outcomes']}; turns without a next "
            f"prompt {p['unanswered'] or 'none'}; errors {p['errors'] or 'none'}; code {p['tree']}"
        )
    return lines


def report(document: dict[str, Any]) -> str:
    """The whole run as Markdown."""
    cores = os.cpu_count() or 1
    u = document["utterance"]
    limit = document["recommended_limit"]
    lines = [
        f"`{document['command']}` — {document['date']}, commit `{document['commit']}`, "
        f"{document['machine']}",
        "",
        f"Utterance {u['text']!r}: {u['audio_seconds']:.2f} s of audio, {u['voiced_ms']} ms "
        f"voiced, {u['decoded_seconds']:.2f} s decoded per turn; the endpointer declares its "
        f"end {u['endpointer_wait_ms']} ms after the voice "
        f"ends (onset {u['onset_detected_after_ms']} ms after the voice begins).",
        "",
        "Direct Vosk (the path is compared with the batch run with the most threads and the "
        "paced run with the most streams):",
        "",
        *direct_table(document["direct"], cores),
        "",
        "Through the path:",
        "",
        *capacity_table(document, cores),
        "",
        *latency_table(document),
        "",
        *details(document),
        "",
        f"Recommended admission limit: {limit['limit']} ({limit['criterion']}); by the total "
        f"p95 goal alone: {limit['limit_by_total_latency']}; by CPU cost alone: "
        f"{limit['limit_by_cpu']}. {'; '.join(limit['phases'])}",
    ]
    return "\n".join(lines)
