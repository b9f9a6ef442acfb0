"""Where the server's time goes under load, from py-spy's raw stacks (bench/speech.py).

Every thread is sampled (``--threads``, no ``--gil``: Vosk decodes without the GIL), and each
stack starts with its thread's name: ``MainThread`` runs the event loop, ``vosk_*`` are the
decoder pool, ``history-*`` the database threads, ``asyncio_*`` the default executor. Samples
whose leaf is a wait (``epoll``, a lock, an empty work queue) are idle and left out, since
py-spy's own idle detection is unreliable on this VM (see the webhooks section of
docs/BENCHMARKS.md). A thread that is runnable but waiting for a core still counts as busy:
shares are of demand, not of CPU time (``/proc`` gives that per thread, in the phase figures).
Within the event loop, a sample goes to the category of the frame nearest its leaf that
belongs to one.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

CATEGORIES: Final = (
    ("Vosk decoding", re.compile(r"\((vosk/|speech/recognition\.py)")),
    ("hand-off to the decoder pool", re.compile(r"\(concurrent/futures/")),
    ("JSON + base64 of media messages", re.compile(r"\((json/|base64\.py|binascii)")),
    ("μ-law decode (numpy)", re.compile(r"\(telephony/mulaw\.py")),
    ("endpointer (numpy)", re.compile(r"\(speech/endpointing\.py")),
    ("media message building/parsing", re.compile(r"\(telephony/media_stream\.py")),
    ("socket writes (one per message)", re.compile(r"_SelectorSocketTransport\.write ")),
    ("socket reads", re.compile(r"_read_ready")),
    ("websocket framing (aiohttp)", re.compile(r"\(aiohttp/(_websocket|http_websocket|web_ws)")),
    ("database", re.compile(r"\((history/|sqlalchemy/|aiosqlite/|sqlite3/)")),
    ("prompt cache", re.compile(r"\(speech/(synthesis|audio)\.py")),
    ("call engine, TwiML, webhooks", re.compile(r"\((calls/|ivr/|twilio/|web/voice|web/twilio)")),
    ("speech turn / session logic", re.compile(r"\((web/speech_turn|web/media|speech/listening)")),
    ("other aiohttp", re.compile(r"\(aiohttp/")),
    ("asyncio scheduling, wake-ups", re.compile(r"\(asyncio/")),
)
IDLE_LEAF: Final = re.compile(
    r"^(select|poll|epoll|wait|acquire|get|_wait_for_tstate_lock|sleep)\b"
    r"|\((selectors|threading|queue)\.py|^_worker \(concurrent/futures/thread\.py"
)
"""``_worker`` as a leaf is the pool thread blocked in the C ``SimpleQueue.get``."""
OWN_CODE: Final = re.compile(r"\((calls|config|history|ivr|speech|telephony|web)/")


def categorize(frames: list[str]) -> str:
    """The category of one thread's stack (root first), or ``idle``."""
    if not frames or IDLE_LEAF.search(frames[-1]):
        return "idle"
    for frame in reversed(frames):
        for name, pattern in CATEGORIES:
            if pattern.search(frame):
                return name
    return "other"


@dataclass
class Profile:
    """Busy samples per thread role, and the event loop's by category, leaf and own frame."""

    roles: Counter[str] = field(default_factory=Counter)
    loop: Counter[str] = field(default_factory=Counter)
    loop_leaves: Counter[str] = field(default_factory=Counter)
    loop_own: Counter[str] = field(default_factory=Counter)


def read_profile(raw: Path) -> Profile:
    """Parse py-spy ``--threads --format raw`` output."""
    profile = Profile()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or ": " not in stack:
            continue
        thread, *frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        role = re.sub(r"_\d+$", "_*", thread.split(": ", 1)[1])
        kind = categorize(frames)
        if kind == "idle":
            continue
        samples = int(count)
        profile.roles[role] += samples
        if role == "MainThread":
            profile.loop[kind] += samples
            profile.loop_leaves[frames[-1]] += samples
            profile.loop_own.update({f: samples for f in set(frames) if OWN_CODE.search(f)})
    return profile


def _shares(counts: Counter[str], top: int, total: int | None = None) -> list[str]:
    total = total or sum(counts.values()) or 1
    return [f"  {100 * n / total:5.1f}%  {name}" for name, n in counts.most_common(top)]


def hot_spots(raw: Path, top: int = 12) -> str:
    """A readable summary of one profile."""
    profile = read_profile(raw)
    if not profile.roles:
        return "no busy samples"
    return "\n".join(
        [
            "busy samples by thread (demand, not CPU):",
            *_shares(profile.roles, top),
            "event loop (MainThread) by category:",
            *_shares(profile.loop, len(CATEGORIES) + 2),
            "event loop, leaf functions:",
            *_shares(profile.loop_leaves, top),
            "event loop, own code (inclusive):",
            *_shares(profile.loop_own, top + 8, total=sum(profile.loop.values())),
        ]
    )
