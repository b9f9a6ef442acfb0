"""Telephone audio: resampling and the WAV containers Twilio plays (μ-law: telephony.mulaw)."""

from __future__ import annotations

import io
import logging
import math
import struct
import wave
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.signal import resample_poly

# Re-exported: μ-law moved to the telephony layer, where the wire formats live.
from telephony.mulaw import Pcm16 as Pcm16
from telephony.mulaw import mulaw_decode as mulaw_decode
from telephony.mulaw import mulaw_encode as mulaw_encode

# Re-exported: WAV headers are read by the simulator too (telephony may not import speech).
from telephony.wav import TELEPHONE_RATE as TELEPHONE_RATE
from telephony.wav import WAVE_FORMAT_EXTENSIBLE as WAVE_FORMAT_EXTENSIBLE
from telephony.wav import WAVE_FORMAT_MULAW as WAVE_FORMAT_MULAW
from telephony.wav import WAVE_FORMAT_PCM as WAVE_FORMAT_PCM
from telephony.wav import WavFormatError as WavFormatError
from telephony.wav import WavInfo as WavInfo
from telephony.wav import parse_wav_header as parse_wav_header

logger = logging.getLogger(__name__)

PROMPT_PEAK_DBFS: Final = -3.0
"""dBFS: prompts peak here, leaving headroom for the μ-law clip point and for the overshoot of
the 8 kHz band limit, while every prompt sits at the same loudness as the next."""

MAX_NORMALISE_GAIN: Final = 10.0
"""Linear (+20 dB): near-silent audio is lifted at most this much, so noise is not blown up."""


def resample(pcm: Pcm16, from_rate: int, to_rate: int) -> Pcm16:
    """Change the sample rate with a polyphase filter that band-limits to the lower Nyquist.

    Args:
        pcm: Mono 16-bit samples at `from_rate`.
        from_rate: Input rate in Hz.
        to_rate: Output rate in Hz.

    Returns:
        Mono 16-bit samples at `to_rate`, clipped to the 16-bit range.

    """
    return _to_pcm16(_resample_float(pcm, from_rate, to_rate))


def read_wav_pcm16(data: bytes) -> tuple[int, Pcm16]:
    """Read a 16-bit PCM WAV file, downmixing any channels to mono.

    Args:
        data: The whole WAV file.

    Returns:
        The sample rate in Hz and the mono samples.

    Raises:
        WavFormatError: Not a WAV file, not PCM, or not 16 bits per sample.

    """
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError, struct.error) as err:
        raise WavFormatError(f"not a readable PCM WAV file: {err}") from err
    if width != 2:
        raise WavFormatError(f"expected 16-bit PCM, got {8 * width}-bit samples")
    samples = np.frombuffer(frames[: len(frames) // (2 * channels) * 2 * channels], "<i2")
    if channels == 1:
        return rate, samples.astype(np.int16)
    mono = samples.reshape(-1, channels).astype(np.float64).mean(axis=1)
    return rate, _to_pcm16(mono)


def mulaw_wav(pcm8k_ulaw: bytes, rate: int = TELEPHONE_RATE) -> bytes:
    """Wrap μ-law bytes in a WAV file (format 7, mono, 8-bit) with the `fact` chunk it needs.

    Args:
        pcm8k_ulaw: μ-law samples, one byte each.
        rate: Sample rate in Hz.

    Returns:
        The WAV file, laid out as sox writes it: RIFF, an 18-byte `fmt `, `fact`, `data`.

    """
    samples = len(pcm8k_ulaw)
    pad = b"\x00" * (samples % 2)
    fmt = struct.pack("<HHIIHHH", WAVE_FORMAT_MULAW, 1, rate, rate, 1, 8, 0)
    body = b"".join(
        (
            b"WAVE",
            _chunk(b"fmt ", fmt),
            _chunk(b"fact", struct.pack("<I", samples)),
            struct.pack("<4sI", b"data", samples),
            pcm8k_ulaw,
            pad,
        )
    )
    return struct.pack("<4sI", b"RIFF", len(body)) + body


def to_telephone_wav(wav_bytes: bytes) -> bytes:
    """Turn a 16-bit PCM WAV at any rate into an 8 kHz μ-law WAV ready for Twilio.

    The audio is resampled, its peak brought to `PROMPT_PEAK_DBFS`, and μ-law encoded.

    Args:
        wav_bytes: A 16-bit PCM WAV file (e.g. espeak-ng's 22,050 Hz output).

    Returns:
        An 8 kHz mono μ-law WAV file.

    Raises:
        WavFormatError: The input is not a readable 16-bit PCM WAV file.

    """
    rate, pcm = read_wav_pcm16(wav_bytes)
    audio = _resample_float(pcm, rate, TELEPHONE_RATE)
    return mulaw_wav(mulaw_encode(_to_pcm16(_normalise_peak(audio))))


def _chunk(tag: bytes, payload: bytes) -> bytes:
    return struct.pack("<4sI", tag, len(payload)) + payload + b"\x00" * (len(payload) % 2)


def _resample_float(pcm: Pcm16, from_rate: int, to_rate: int) -> npt.NDArray[np.float64]:
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} → {to_rate}")
    samples = np.asarray(pcm, dtype=np.float64)
    if from_rate == to_rate or samples.size == 0:
        return samples
    common = math.gcd(from_rate, to_rate)
    resampled: npt.NDArray[np.float64] = resample_poly(
        samples, to_rate // common, from_rate // common
    )
    return resampled


def _normalise_peak(audio: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak == 0.0:
        return audio
    target = 32767.0 * 10.0 ** (PROMPT_PEAK_DBFS / 20.0)
    gain = np.float64(min(target / peak, MAX_NORMALISE_GAIN))
    normalised: npt.NDArray[np.float64] = audio * gain
    return normalised


def _to_pcm16(audio: npt.NDArray[np.float64]) -> Pcm16:
    return np.clip(np.rint(audio), -32768, 32767).astype(np.int16)
