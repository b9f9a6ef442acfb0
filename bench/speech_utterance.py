"""The caller's utterance for bench/speech.py: synthesized once, measured once, sent by all.

Every simulated caller plays the same WAV file into the line (``play@MS:PATH``), so espeak-ng
runs once per bench run instead of once per turn, and the audio on the wire is known to the
frame: where the voice begins and ends, and on which frame the server's endpointer declares
the end of speech. Those offsets turn a caller's transcript into end-of-speech → next-prompt
latencies without any clock on the server side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from speech.audio import mulaw_wav
from speech.endpointing import Endpointer
from telephony import media_stream as ms
from telephony.mulaw import mulaw_decode
from telephony.simulator.stream_audio import (
    SILENT_FRAME,
    VOICE_ONSET_DBFS,
    speak,
    utterance,
)
from web.speech_turn import PRE_ROLL_FRAMES

VOICED_RMS: Final = 32768.0 * 10.0 ** (VOICE_ONSET_DBFS / 20.0)
"""The simulator's voice-onset threshold, used for the voice's end too: espeak-ng's audio
opens and closes with digital silence, so both ends are sharp."""

TRAILING_SILENCE_FRAMES: Final = 250
"""5 s of line silence after the utterance: far more than any endpointer waits."""


@dataclass(frozen=True)
class SpokenPhrase:
    """One utterance as the line carries it, with its landmarks in 20 ms frames.

    Attributes:
        text: What is said.
        wav: The μ-law WAV file the callers play.
        frames: The 20 ms μ-law frames the simulator sends for it (read back from ``wav``
            exactly as ``play:`` reads it).
        onset_frame: The first voiced frame (the simulator's ``CallerSpoke.at_ms``).
        last_voiced_frame: The last voiced frame.
        started_frame: The frame on which our endpointer declares speech onset.
        ended_frame: The frame on which our endpointer declares the end of speech.
        lead_frames: Line silence before the utterance in the turn (the barge-in delay).

    """

    text: str
    wav: Path
    frames: tuple[bytes, ...]
    onset_frame: int
    last_voiced_frame: int
    started_frame: int
    ended_frame: int
    lead_frames: int

    @property
    def audio_seconds(self) -> float:
        """The whole utterance, leading and trailing silence included."""
        return len(self.frames) * ms.FRAME_MS / 1000

    @property
    def voiced_ms(self) -> int:
        """From the first to the end of the last voiced frame."""
        return (self.last_voiced_frame - self.onset_frame + 1) * ms.FRAME_MS

    @property
    def voice_end_after_onset_ms(self) -> int:
        """When the last voiced frame is sent, after the onset frame was (both sent whole)."""
        return (self.last_voiced_frame - self.onset_frame) * ms.FRAME_MS

    @property
    def decision_after_onset_ms(self) -> int:
        """When the frame that ends speech for the endpointer is sent, after the onset frame."""
        return (self.ended_frame - self.onset_frame) * ms.FRAME_MS

    @property
    def endpointer_wait_ms(self) -> int:
        """From the end of the voice to the endpointer's decision (its trailing silence)."""
        return self.decision_after_onset_ms - self.voice_end_after_onset_ms

    def decoded_pcm16(self) -> bytes:
        """What the server's recognizer is fed for this utterance, as 8 kHz 16-bit PCM.

        A speech turn keeps the last ``PRE_ROLL_FRAMES`` frames before and including the onset
        frame, feeds them when speech starts, then every frame up to and including the one on
        which the endpointer declares the end of speech. That is the line's silence before the
        voice, the utterance, and silence after it.
        """
        line = self._line()
        first = self.lead_frames + self.started_frame - PRE_ROLL_FRAMES + 1
        last = self.lead_frames + self.ended_frame
        return mulaw_decode(b"".join(line[max(0, first) : last + 1])).astype("<i2").tobytes()

    def _line(self) -> list[bytes]:
        silence = [SILENT_FRAME]
        return silence * self.lead_frames + list(self.frames) + silence * TRAILING_SILENCE_FRAMES


async def prepare(text: str, voice: str, workdir: Path, lead_silence_ms: int) -> SpokenPhrase:
    """Synthesize ``text`` (espeak-ng, as ``say:`` would) and measure it on the line.

    Args:
        text: What every caller says.
        voice: The espeak-ng voice.
        workdir: Where the WAV file is written.
        lead_silence_ms: Line silence the server hears in the turn before the utterance
            starts (the barge-in delay): the endpointer adapts its noise floor on it.

    Raises:
        SystemExit: The audio has no voiced frame, or the endpointer never ends it.

    """
    spoken = await speak(text, voice)
    wav = workdir / "utterance.wav"
    wav.write_bytes(mulaw_wav(b"".join(spoken.frames)))
    frames = utterance(wav.read_bytes()).frames
    voiced = [i for i, frame in enumerate(frames) if _rms(frame) > VOICED_RMS]
    if not voiced:
        raise SystemExit(f"espeak-ng said {text!r} as silence")
    lead = lead_silence_ms // ms.FRAME_MS
    started, ended = endpointer_decisions(frames, lead)
    return SpokenPhrase(text, wav, frames, voiced[0], voiced[-1], started, ended, lead)


def endpointer_decisions(frames: tuple[bytes, ...], lead_frames: int) -> tuple[int, int]:
    """The utterance frames on which a fresh endpointer declares onset and end of speech.

    The endpointer hears ``lead_frames`` of line silence, the utterance, then silence, fed
    exactly as the server feeds it (μ-law decoded to 16-bit PCM, one 20 ms frame at a time).
    Indexes are counted from the utterance's first frame.
    """
    line = [SILENT_FRAME] * lead_frames + list(frames) + [SILENT_FRAME] * TRAILING_SILENCE_FRAMES
    endpointer = Endpointer()
    started: int | None = None
    for index, frame in enumerate(line):
        change = endpointer.push(mulaw_decode(frame).astype("<i2").tobytes())
        if change == "speech_started" and started is None:
            started = index - lead_frames
        elif change == "speech_ended" and started is not None:
            return started, index - lead_frames
    raise SystemExit("the endpointer never declared the end of the bench utterance")


def _rms(frame: bytes) -> float:
    samples = mulaw_decode(frame).astype(np.float64)
    return math.sqrt(float(np.mean(samples * samples)))
