"""Voice activity and end-of-utterance detection on 8 kHz PCM, cheap enough for the event loop."""

from __future__ import annotations

import math
from collections import deque
from typing import Final

import numpy as np

from speech.audio import TELEPHONE_RATE

SPEECH_STARTED: Final = "speech_started"
SPEECH_ENDED: Final = "speech_ended"

TRAILING_SILENCE_MS: Final = 460
"""ms of non-speech that end an utterance (a whole number of 20 ms frames, so the recorded
decision_ms adds exactly what was waited): longer than the pauses between words of one answer
(150–300 ms), and half a second sooner than Vosk's own endpointing (0.94 s median)."""

ONSET_MARGIN_DB: Final = 10.0
"""dB above the noise floor a frame needs to count as speech while waiting for speech."""

HOLD_MARGIN_DB: Final = 6.0
"""dB above the noise floor that keeps an utterance going (hysteresis: consonants and word
endings are weaker than the vowels that start speech)."""

MIN_SPEECH_DBFS: Final = -50.0
"""dBFS a speech frame must exceed whatever the floor: on a digitally silent line the floor is
-96 dBFS and μ-law's idle noise would otherwise count as speech. Telephone speech sits around
-20 dBFS; a quiet caller -35."""

FLOOR_FOLLOW: Final = 0.05
"""Per frame, how far the noise floor moves towards a louder non-speech frame (~0.4 s time
constant at 20 ms frames). It drops to a quieter frame at once."""

FLOOR_CREEP_DB_PER_S: Final = 1.5
"""dB/s the floor rises during speech, so a sudden lasting noise that is mistaken for speech is
learned as the floor within seconds instead of holding the utterance open."""

SILENCE_DBFS: Final = -96.0
"""dBFS given to an all-zero frame (16-bit PCM's dynamic range)."""


class Endpointer:
    """Finds where speech starts and ends in a stream of PCM frames, adapting to line noise.

    Feed every frame in order with `push`; it returns ``"speech_started"`` once, at the onset
    (after ``onset_ms`` of speech: use it for barge-in), and ``"speech_ended"`` once, after
    ``trailing_silence_ms`` of non-speech following the speech or when the speech has lasted
    ``max_speech_ms``. Times are stream time: ms since the first frame pushed.
    """

    def __init__(
        self,
        *,
        frame_ms: int = 20,
        onset_ms: int = 60,
        trailing_silence_ms: int = TRAILING_SILENCE_MS,
        max_speech_ms: int = 8000,
        sample_rate: int = TELEPHONE_RATE,
    ) -> None:
        """Configure the detector; all durations in ms, rounded up to whole frames."""
        if frame_ms <= 0 or sample_rate <= 0:
            raise ValueError("frame_ms and sample_rate must be positive")
        self.frame_ms = frame_ms
        self.onset_ms = onset_ms
        self.trailing_silence_ms = trailing_silence_ms
        self.max_speech_ms = max_speech_ms
        self._frame_bytes = 2 * sample_rate * frame_ms // 1000
        self._onset_frames = max(1, math.ceil(onset_ms / frame_ms))
        self._trailing_frames = max(1, math.ceil(trailing_silence_ms / frame_ms))
        self._max_frames = max(1, math.ceil(max_speech_ms / frame_ms))
        self._creep_db = FLOOR_CREEP_DB_PER_S * frame_ms / 1000
        self._pending = b""
        self._events: deque[str] = deque()
        self._frames = 0
        self._floor: float | None = None
        self._run = 0  # consecutive speech frames before the onset
        self._silent = 0  # consecutive non-speech frames after the onset
        self._started: int | None = None  # frame index where speech started
        self._last_speech: int | None = None  # frame index after the last speech frame
        self._ended = False

    @property
    def speech_started_at_ms(self) -> int | None:
        """Where the speech began (the first frame of the onset), or None before the onset."""
        return None if self._started is None else self._started * self.frame_ms

    @property
    def speech_ended_at_ms(self) -> int | None:
        """Where the speech stopped (end of its last speech frame), once ``speech_ended``."""
        if not self._ended or self._last_speech is None:
            return None
        return self._last_speech * self.frame_ms

    @property
    def noise_floor_dbfs(self) -> float | None:
        """The current estimate of the line's noise level, once a frame was pushed."""
        return self._floor

    def push(self, pcm16_frame: bytes) -> str | None:
        """Feed the next audio (16-bit LE mono PCM; one frame, or any length).

        Returns:
            ``"speech_started"`` or ``"speech_ended"`` when that happens within the audio fed
            (an event beyond the first is returned by the next call), else None.

        """
        data = self._pending + pcm16_frame
        whole = len(data) - len(data) % self._frame_bytes
        self._pending = data[whole:]
        for offset in range(0, whole, self._frame_bytes):
            self._step(frame_dbfs(data[offset : offset + self._frame_bytes]))
        return self._events.popleft() if self._events else None

    def _step(self, level: float) -> None:
        index = self._frames
        self._frames += 1
        if self._ended:
            return
        floor = level if self._floor is None else self._floor
        in_speech = self._started is not None
        margin = HOLD_MARGIN_DB if in_speech else ONSET_MARGIN_DB
        speech = level > max(floor + margin, MIN_SPEECH_DBFS)
        self._floor = _next_floor(floor, level, speech, self._creep_db)
        if in_speech:
            self._continue(index, speech)
        else:
            self._await_onset(index, speech)

    def _await_onset(self, index: int, speech: bool) -> None:
        self._run = self._run + 1 if speech else 0
        if self._run >= self._onset_frames:
            self._started = index - self._run + 1
            self._last_speech = index + 1
            self._events.append(SPEECH_STARTED)

    def _continue(self, index: int, speech: bool) -> None:
        if speech:
            self._silent = 0
            self._last_speech = index + 1
        else:
            self._silent += 1
        too_long = self._started is not None and index + 1 - self._started >= self._max_frames
        if self._silent >= self._trailing_frames or too_long:
            self._ended = True
            self._events.append(SPEECH_ENDED)


def frame_dbfs(frame: bytes) -> float:
    """RMS level of 16-bit LE PCM in dB relative to full scale (`SILENCE_DBFS` for zeros)."""
    samples = np.frombuffer(frame, dtype="<i2").astype(np.float64)
    power = float(np.mean(samples * samples)) if samples.size else 0.0
    if power <= 0.0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, 10.0 * math.log10(power / 32768.0**2))


def _next_floor(floor: float, level: float, speech: bool, creep_db: float) -> float:
    if level < floor:
        return level
    if speech:
        return min(level, floor + creep_db)
    return floor + FLOOR_FOLLOW * (level - floor)
