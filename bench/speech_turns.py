"""Reading the callers' streams in bench/speech.py: turns, their latencies, stream time.

A *turn* is one utterance of the bench phrase and what followed it on the same stream. Its
latency is taken on the caller's side of the line, from two instants of the caller's clock:

- **end of speech**: when the caller sent its last voiced frame, i.e. ``CallerSpoke.at_ms``
  (the sending of the first voiced frame) plus the voiced length measured on the utterance's
  audio (espeak-ng's trailing silence excluded);
- **next prompt**: when the first frame of the server's next prompt arrived
  (``StreamHeard.at_ms`` of the first prompt that began after the onset).

The part after the endpointer's decision starts instead when the caller sent the frame on
which the server's endpointer (the same class, fed the same frames) declares the end of
speech: everything before it is the endpointer's trailing-silence window, by design.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

from bench.speech_utterance import SpokenPhrase

TURN_MARGIN_SECONDS: Final = 5.0
"""Turns whose speech ends this close to the end of the window are left out: a slow answer
could not arrive before the callers stop, and leaving only the fast ones in would flatter."""


@dataclass(frozen=True)
class Window:
    """A measuring window in ``time.monotonic()`` seconds."""

    start: float
    end: float

    @property
    def seconds(self) -> float:
        """Its length."""
        return self.end - self.start

    def overlap(self, start: float, end: float) -> float:
        """Seconds of [start, end] inside the window."""
        return max(0.0, min(end, self.end) - max(start, self.start))


@dataclass
class StreamLog:
    """One stream of one call, from the caller's steps."""

    opened_at: float
    closed_ms: int | None = None
    closed_by: str | None = None
    spoke_ms: list[int] = field(default_factory=list)
    prompts_ms: list[int] = field(default_factory=list)
    clears_ms: list[tuple[int, float]] = field(default_factory=list)


@dataclass
class TurnFigures:
    """Everything the callers saw in one window."""

    total_ms: list[float] = field(default_factory=list)
    after_decision_ms: list[float] = field(default_factory=list)
    onset_to_clear_ms: list[float] = field(default_factory=list)
    unanswered: Counter[str] = field(default_factory=Counter)
    stream_seconds: float = 0.0
    streams: int = 0
    call_outcomes: Counter[str] = field(default_factory=Counter)


def streams_of(steps: list[list[Any]]) -> list[StreamLog]:
    """The streams of one call from its ``(monotonic time, step type, fields)`` steps."""
    streams: list[StreamLog] = []
    for at, kind, fields in steps:
        if kind == "StreamOpened":
            streams.append(StreamLog(opened_at=at))
            continue
        if not streams:
            continue
        stream = streams[-1]
        match kind:
            case "CallerSpoke":
                stream.spoke_ms.append(fields["at_ms"])
            case "StreamHeard":
                stream.prompts_ms.append(fields["at_ms"])
            case "PlaybackCleared" if fields["onset_to_clear_ms"] is not None:
                stream.clears_ms.append((fields["at_ms"], fields["onset_to_clear_ms"]))
            case "StreamClosed":
                stream.closed_ms, stream.closed_by = fields["at_ms"], fields["by"]
            case _:
                pass
    return streams


def add_stream(
    figures: TurnFigures, stream: StreamLog, phrase: SpokenPhrase, window: Window, stop_at: float
) -> None:
    """Add one stream's turns and time inside ``window`` to ``figures``."""
    closed_at = stop_at if stream.closed_ms is None else stream.opened_at + stream.closed_ms / 1000
    inside = window.overlap(stream.opened_at, closed_at)
    if inside <= 0:
        return
    figures.streams += 1
    figures.stream_seconds += inside
    turns_end = window.end - TURN_MARGIN_SECONDS
    for onset_ms in stream.spoke_ms:
        voice_end_ms = onset_ms + phrase.voice_end_after_onset_ms
        if not window.start <= stream.opened_at + voice_end_ms / 1000 <= turns_end:
            continue
        following = [p for p in stream.prompts_ms if p > onset_ms]
        if not following:
            figures.unanswered[_why_unanswered(stream)] += 1
            continue
        figures.total_ms.append(min(following) - voice_end_ms)
        decision_ms = onset_ms + phrase.decision_after_onset_ms
        figures.after_decision_ms.append(min(following) - decision_ms)
    for at_ms, clear_ms in stream.clears_ms:
        if window.start <= stream.opened_at + at_ms / 1000 <= window.end:
            figures.onset_to_clear_ms.append(clear_ms)


def _why_unanswered(stream: StreamLog) -> str:
    if stream.closed_by == "server":
        return "the server closed the stream (the call left the speech node)"
    if stream.closed_by == "caller":
        return "the caller hung up"
    return "the callers stopped first"


def turn_figures(
    calls: list[dict[str, Any]], phrase: SpokenPhrase, window: Window, stop_at: float
) -> TurnFigures:
    """The turns and stream time of every call, inside ``window``."""
    figures = TurnFigures()
    for call in calls:
        streams = streams_of(call["steps"])
        for stream in streams:
            add_stream(figures, stream, phrase, window, stop_at)
        if streams:
            figures.call_outcomes[call["outcome"].split(":", 1)[0]] += 1
    return figures


def percentile(values: list[float], percent: float) -> float:
    """Nearest-rank percentile, NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)])
