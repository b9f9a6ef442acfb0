"""The voicedesk server under test in bench/speech.py: its menu, its clocks, its history.

The server runs as its own process (``voicedesk serve``), so its CPU time and memory are read
from ``/proc`` without counting the callers: process CPU (all threads), CPU per thread (the
main thread runs the event loop; Vosk decodes on the pool's threads), VmRSS. After a phase its
SQLite history is read back for what the server itself recorded (recognitions with their
``decision_ms``, barge-ins, streams ended or refused, capacity fallbacks).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from bench.webhooks import BIN, TICKS_PER_S, cpu_seconds, machine_busy_seconds
from config.loader import load_menu_file, read_menu_source
from config.menu_issues import MenuError
from config.settings import SHIPPED_MENU

SPEECH_NODE: Final = "main"
BACK_TO_SPEECH_NODE: Final = "back_to_main"
"""The shipped menu's own ``goto`` back to the speech node."""
UNREACHABLE: Final = "cannot be reached"

PROFILE_RATE_HZ: Final = 100
REPO_ROOT: Final = Path(__file__).resolve().parent.parent
NOT_SERVER_CODE: Final = ("bench", "tests", "docs")


def bench_menu(workdir: Path) -> Path:
    """The shipped menu, changed only where a call would leave the speech node.

    The welcome goes straight to ``main``: the shipped menu checks Asia/Seoul business hours
    first, and outside them every call would hear the closed message and hang up, so the
    figures would depend on the time of day. Every option of ``main``, and its fallback after
    the last no-match, lead back to ``main`` (through the menu's own ``back_to_main``)
    instead of a transfer, a queue or a keypad menu: whatever the recognizer makes of the
    caller's espeak-ng voice (accepted, read back for confirmation, or no match), the next
    prompt starts on the same stream, and the bench measures the stream, not the recognizer's
    accuracy. The prompts and the grammar (the main node's phrases) are the shipped ones.
    """
    document = read_menu_source(SHIPPED_MENU)
    nodes = document["nodes"]
    nodes["welcome"]["next"] = SPEECH_NODE
    speech_node = nodes[SPEECH_NODE]
    speech_node["fallback"] = BACK_TO_SPEECH_NODE
    for option in speech_node["options"]:
        option["next"] = BACK_TO_SPEECH_NODE
    document.pop("schedules", None)  # only the skipped hours node used them
    path = workdir / "bench-menu.json"
    while True:
        path.write_text(json.dumps(document, ensure_ascii=False, indent=1))
        try:
            load_menu_file(path)
            return path
        except MenuError as err:
            # The validator refuses nodes nothing leads to any more: drop exactly those.
            unreachable = {i.node for i in err.issues if UNREACHABLE in i.message}
            if not unreachable or any(i.node not in unreachable for i in err.issues):
                raise
            for node in unreachable:
                del nodes[node]


def tree_state() -> str:
    """The commit, and a fingerprint of uncommitted changes to the server's code, if any.

    The bench may run on a tree others are still changing; the benches, tests and docs do not
    change what the server runs, so they are left out of the fingerprint.
    """

    def git(*argv: str) -> str:
        return subprocess.run(
            ["git", *argv], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout

    commit = git("rev-parse", "--short", "HEAD").strip()
    server_code = ["--", ".", *(f":!{part}" for part in NOT_SERVER_CODE)]
    untracked = git("ls-files", "--others", "--exclude-standard", *server_code).split()
    changes = git("diff", "HEAD", *server_code).encode() + b"".join(
        name.encode() + (REPO_ROOT / name).read_bytes() for name in sorted(untracked)
    )
    if not changes:
        return commit
    return f"{commit} + uncommitted {hashlib.sha256(changes).hexdigest()[:10]}"


@dataclass(frozen=True)
class ProcSample:
    """The server's and the machine's clocks at one instant."""

    at: float
    """``time.monotonic()``."""
    wall: float
    """``time.time()``, to compare with the history's timestamps."""
    cpu: float
    threads: dict[int, float]
    rss_kb: int
    machine_busy: float


def sample(pid: int) -> ProcSample:
    """Read the clocks of server ``pid`` now."""
    return ProcSample(
        time.monotonic(),
        time.time(),
        cpu_seconds(pid),
        thread_cpu(pid),
        rss_kb(pid),
        machine_busy_seconds(),
    )


def thread_cpu(pid: int) -> dict[int, float]:
    """User + system CPU seconds of each thread of ``pid``."""
    spent: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # the thread ended while we looked
        spent[int(task.name)] = (int(fields[11]) + int(fields[12])) / TICKS_PER_S
    return spent


def rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` in KiB (``VmRSS``), or 0 if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@dataclass(frozen=True)
class ThreadUse:
    """CPU between two samples: the event loop's thread and every other thread."""

    loop_seconds: float
    others_seconds: list[float]
    """Every other thread's, busiest first."""


def thread_use(pid: int, before: ProcSample, after: ProcSample) -> ThreadUse:
    """Split the server's CPU time between the two samples by thread."""
    spent = {tid: cpu - before.threads.get(tid, 0.0) for tid, cpu in after.threads.items()}
    loop = spent.pop(pid, 0.0)
    return ThreadUse(loop, sorted(spent.values(), reverse=True))


@dataclass
class ServerHistory:
    """What the server recorded during a window."""

    events: Counter[str] = field(default_factory=Counter)
    transcripts: Counter[str] = field(default_factory=Counter)
    decision_ms: list[float] = field(default_factory=list)
    audio_ms: list[float] = field(default_factory=list)
    clear_ms: list[float] = field(default_factory=list)
    stream_outcomes: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)


def read_history(database: Path, since: float, until: float) -> ServerHistory:
    """The history's events timestamped within [``since``, ``until``] (``time.time()``)."""
    history = ServerHistory()
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT type, payload, at FROM interaction_events").fetchall()
    for kind, payload, at in rows:
        if since <= _epoch(at) <= until:
            _count(history, kind, json.loads(payload) if isinstance(payload, str) else payload)
    return history


def _count(history: ServerHistory, kind: str, payload: dict[str, Any]) -> None:
    history.events[kind] += 1
    match kind:
        case "speech_recognized":
            history.transcripts[payload.get("transcript") or "(no match)"] += 1
            history.decision_ms.append(float(payload["decision_ms"]))
            history.audio_ms.append(float(payload["audio_ms"]))
        case "barge_in":
            history.clear_ms.append(float(payload["clear_ms"]))
        case "media_stream_ended":
            history.stream_outcomes[str(payload.get("outcome"))] += 1
        case "media_stream_refused":
            history.refusals[str(payload.get("reason"))] += 1
        case _:
            pass


def _epoch(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def start_profile(pid: int, seconds: float, output: Path) -> subprocess.Popen[bytes]:
    """Attach py-spy to the server for ``seconds``: raw collapsed stacks, one set per thread.

    Every thread is sampled, not only the one holding the GIL, since Vosk decodes without it;
    samples of threads waiting for work are told apart afterwards by their leaf frames.
    """
    argv = [
        str(BIN / "py-spy"),
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(round(seconds)),
        "--rate",
        str(PROFILE_RATE_HZ),
        "--threads",
        "--nonblocking",
        "--format",
        "raw",
        "--output",
        str(output),
    ]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
