"""What a simulated call did, told one line per step, for people at a terminal."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Final
from urllib.parse import urlsplit

from telephony.simulator.transcript import (
    CallerSpoke,
    Dialed,
    DtmfSent,
    Enqueued,
    Gathered,
    Heard,
    HungUp,
    MarkEchoed,
    Noted,
    Paused,
    PlaybackCleared,
    Rejected,
    Requested,
    Step,
    StreamClosed,
    StreamHeard,
    StreamOpened,
)

SHORT_NAME: Final = 8
"""Characters: longer content-hash file names are shown as their first four and '…'."""
_HEX: Final = re.compile(r"[0-9a-f]+")


def describe(step: Step, base: str = "") -> str:
    """One line telling a person what happened in ``step``.

    Args:
        step: A transcript step.
        base: The public base URL, left out of the URLs shown.

    """
    match step:
        case Requested():
            return f"  {step.method} {_short(step.url, base)} → {step.status} ({step.purpose})"
        case Heard(url=str(url), text=str(text)):
            return f'caller hears: "{text}" ({_short(url, base)}, {step.seconds:.1f} s)'
        case Heard(url=str(url)):
            return f"caller hears: {_short(url, base)} ({step.seconds:.1f} s)"
        case Heard(digits=str(digits)):
            return f"caller hears tones: {digits}"
        case Heard():
            return f'caller hears: "{step.text}"'
        case Paused():
            return f"silence: {step.seconds} s"
        case Gathered():
            return _describe_gathered(step)
        case Dialed():
            if step.status == "completed":
                return f"dialing {step.target}: connected for {step.duration_seconds} s"
            return f"dialing {step.target}: {step.status}"
        case Enqueued():
            return f"waited {step.seconds} s in queue {step.queue!r}: {step.result}"
        case Noted():
            return f"<{step.verb}>: {step.note}"
        case Rejected():
            return f"call ended: rejected ({step.reason})"
        case HungUp():
            return f"call ended: {step.by} hung up ({step.reason})"
        case _:
            return describe_stream_step(step, base)


def describe_stream_step(step: Step, base: str = "") -> str:
    """One line for a media-stream step; times are seconds since the stream started."""
    match step:
        case StreamOpened():
            names = ", ".join(step.parameters) or "none"
            return f"stream opened: {_short(step.url, base)} (parameters: {names})"
        case StreamHeard():
            cut = ", cut off by a clear" if step.cleared else ""
            return (
                f"[{_s(step.ended_ms)}] caller heard prompt {step.prompt} on the stream: "
                f"{_s(step.heard_ms)} s from {_s(step.at_ms)}{cut}"
            )
        case MarkEchoed():
            why = "cleared" if step.cleared else "played"
            return f"  [{_s(step.at_ms)}] mark {step.name!r} sent back ({why})"
        case PlaybackCleared():
            return f"[{_s(step.at_ms)}] playback cleared: {_describe_clear(step)}"
        case CallerSpoke():
            said = f'"{step.text}"' if step.text is not None else str(step.path)
            barge_in = ", barging in" if step.barge_in else ""
            return f"[{_s(step.at_ms)}] caller says {said} ({step.seconds:.1f} s{barge_in})"
        case DtmfSent():
            return f"[{_s(step.at_ms)}] caller presses {step.keys}"
        case StreamClosed():
            return f"[{_s(step.at_ms)}] stream closed by the {step.by} ({step.reason})"
    return repr(step)


def _describe_clear(step: PlaybackCleared) -> str:
    dropped = f"{_s(step.dropped_ms)} s of audio dropped"
    if step.onset_to_clear_ms is None:
        return dropped
    return (
        f"{step.onset_to_clear_ms:.0f} ms ({step.onset_to_clear_frames} frame(s)) after the "
        f"caller began to speak; {dropped}"
    )


def _describe_gathered(step: Gathered) -> str:
    if step.digits is None:
        heard = f"at Gather: silent for {step.timeout_seconds} s"
    else:
        heard = f"at Gather: pressing {step.digits}{step.finished_on_key}"
    return heard if step.submitted else f"{heard} (nothing sent; the call goes on)"


def _s(ms: int) -> str:
    return f"{ms / 1000:.2f}"


def _short(url: str, base: str) -> str:
    # Streams are wss:// under the same host and path as the https:// base.
    _, _, rest = url.partition("://")
    _, _, base_rest = base.partition("://")
    if base_rest and rest.startswith(base_rest):
        url = rest[len(base_rest) :] or "/"
    path = urlsplit(url).path
    name = PurePosixPath(path).name
    stem, suffix = PurePosixPath(name).stem, PurePosixPath(name).suffix
    if len(stem) <= SHORT_NAME or not _HEX.fullmatch(stem):
        return url
    return url.replace(name, f"{stem[:4]}…{suffix}", 1)
