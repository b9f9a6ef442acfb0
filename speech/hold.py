"""Hold audio: a quiet, slowly changing chime generated here, so no one's music is played.

Soft sine chords (a I–vi–IV–V progression in C, one chord every two seconds) with a gentle
attack and decay, at a level well below speech so announcements stand out against it; 8 kHz
μ-law WAV like every prompt. Deterministic: the same length always gives the same bytes, so
the audio can be cached by any proxy.
"""

from __future__ import annotations

from functools import cache
from typing import Final

import numpy as np

from speech.audio import TELEPHONE_RATE, mulaw_wav
from telephony.mulaw import mulaw_encode

# Chords as frequencies in Hz: C major, A minor, F major, G major (middle octave, inside the
# telephone band of 300-3400 Hz so nothing is filtered away).
CHORDS: Final = (
    (523.25, 659.25, 783.99),
    (440.00, 523.25, 659.25),
    (349.23, 440.00, 523.25),
    (392.00, 493.88, 587.33),
)
CHORD_SECONDS: Final = 2.0
# About -24 dBFS: clearly background, about a quarter of a prompt's loudness.
LEVEL: Final = 0.06
# Hold documents are requested again when they end; a bound keeps one response small.
MAX_SECONDS: Final = 600


@cache
def hold_wav(seconds: int) -> bytes:
    """``seconds`` of hold audio (1 to ``MAX_SECONDS``) as an 8 kHz μ-law WAV file."""
    if not 1 <= seconds <= MAX_SECONDS:
        raise ValueError(f"hold audio is 1 to {MAX_SECONDS} seconds, not {seconds}")
    per_chord = int(CHORD_SECONDS * TELEPHONE_RATE)
    t = np.arange(per_chord) / TELEPHONE_RATE
    envelope = np.minimum(1.0, t / 0.3) * np.exp(-t / 1.2)
    chords = [
        envelope * sum(np.sin(2 * np.pi * f * t) for f in chord) / len(chord) for chord in CHORDS
    ]
    count = int(np.ceil(seconds / CHORD_SECONDS))
    audio = np.concatenate([chords[i % len(chords)] for i in range(count)])
    audio = audio[: seconds * TELEPHONE_RATE] * LEVEL
    pcm = np.round(audio * 32767).astype(np.int16)
    return mulaw_wav(mulaw_encode(pcm))
