"""The figures of a bench/speech.py run as Markdown tables, and the admission limit they give."""

from __future__ import annotations

import math
import os
from typing import Any


def reference(direct: list[dict[str, Any]]) -> dict[str, Any]:
    """The direct run the path is compared with: paced with the most streams, else batch."""
    return max(direct, key=lambda r: (r["mode"] == "paced", int(r["streams"]), int(r["threads"])))


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
    decision) is judged too, against ``budget_ms``. The CPU-bound figure is what the measured
    cost per stream allows at ``cpu_limit_pct``, from the busiest phase still under it.
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
    under = [p for p in phases if p["server_cpu_pct_of_machine"] < cpu_limit_pct]
    cost = under[-1]["cpu_per_stream_second"] if under else math.nan
    return {
        "limit": server_part,
        "limit_by_total_latency": literal,
        "limit_by_cpu": math.floor(cpu_limit_pct / 100 * cores / cost) if under else None,
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


def path_table(document: dict[str, Any], cores: int) -> list[str]:
    """The path, one row per N."""
    ref = reference(document["direct"])
    direct_capacity = capacity(ref["cpu_per_audio_second"], cores)
    lines = [
        "| N | streams | turns | CPU s per stream-s | capacity | **ratio** | server CPU % "
        "| loop % core | machine % | callers · other % core | **latency p50 / p95 / p99 ms** | "
        "after decision p50 / p95 | server decision_ms p50 / p95 | RSS idle → mean MB "
        "(per stream) | caller lag p99 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in document["phases"]:
        path_capacity = capacity(p["cpu_per_stream_second"], cores)
        lines.append(
            f"| {p['concurrency']} | {p['streams']:.1f} | {p['turns']} "
            f"| {p['cpu_per_stream_second']:.4f} | {path_capacity:.0f} "
            f"| **{path_capacity / direct_capacity:.2f}×** | {p['server_cpu_pct_of_machine']:.0f} "
            f"| {p['loop_cpu_pct_of_core']:.0f} | {p['machine_pct']:.0f} "
            f"| {p['callers_cpu_pct_of_core']:.0f} · {p['other_load_pct_of_core']:.0f} "
            f"| **{_ms(p['latency_ms'], 'p50', 'p95', 'p99')}** "
            f"| {_ms(p['after_decision_ms'], 'p50', 'p95')} "
            f"| {_ms(p['server_decision_ms'], 'p50', 'p95')} "
            f"| {p['rss_idle_mb']:.0f} → {p['rss_mean_mb']:.0f} ({p['rss_per_stream_mb']:.2f}) "
            f"| {p['caller_lag_ms']['p99']:.0f} |"
        )
    return lines


def vosk_share(document: dict[str, Any]) -> list[str]:
    """How much of the path's CPU the decoding itself explains (direct cost × audio decoded)."""
    ref = reference(document["direct"])
    lines = []
    for p in document["phases"]:
        if not p["stream_seconds"]:
            continue
        decoded = p["decoded_audio_seconds"] / p["stream_seconds"]
        vosk = decoded * ref["cpu_per_audio_second"]
        lines.append(
            f"- N={p['concurrency']}: {100 * decoded:.0f} % of stream time decoded → Vosk "
            f"≈ {vosk:.4f} of {p['cpu_per_stream_second']:.4f} CPU s per stream-s "
            f"({100 * vosk / p['cpu_per_stream_second']:.0f} %); by thread "
            f"{p['cpu_split_per_stream_second']}; outcomes {p['call_outcomes']}; unanswered "
            f"{p['unanswered']}; recognized {p['transcripts']}; errors {p['errors'] or 'none'}"
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
        "Direct Vosk (the path is compared with the paced run with the most streams):",
        "",
        *direct_table(document["direct"], cores),
        "",
        "Through the path:",
        "",
        *path_table(document, cores),
        "",
        *vosk_share(document),
        "",
        f"Recommended admission limit: {limit['limit']} ({limit['criterion']}); by the total "
        f"p95 goal alone: {limit['limit_by_total_latency']}; by CPU cost alone: "
        f"{limit['limit_by_cpu']}. {'; '.join(limit['phases'])}",
    ]
    return "\n".join(lines)
