"""Telephone audio: G.711 μ-law, resampling, and the WAV containers Twilio plays."""

from __future__ import annotations

import io
import logging
import math
import struct
import wave
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.signal import resample_poly

logger = logging.getLogger(__name__)

Pcm16 = npt.NDArray[np.int16]

TELEPHONE_RATE: Final = 8000
"""Hz: Twilio's `<Play>` and Media Streams speak 8 kHz μ-law; anything else is transcoded."""

WAVE_FORMAT_PCM: Final = 0x0001
WAVE_FORMAT_MULAW: Final = 0x0007
WAVE_FORMAT_EXTENSIBLE: Final = 0xFFFE

PROMPT_PEAK_DBFS: Final = -3.0
"""dBFS: prompts peak here, leaving headroom for the μ-law clip point and for the overshoot of
the 8 kHz band limit, while every prompt sits at the same loudness as the next."""

MAX_NORMALISE_GAIN: Final = 10.0
"""Linear (+20 dB): near-silent audio is lifted at most this much, so noise is not blown up."""

# G.711 μ-law, bit for bit as in CPython's audioop (itself Sun's reference g711.c): 16-bit
# samples are taken as 14-bit magnitudes, biased, and coded as a 3-bit segment + 4-bit step.
_ULAW_BIAS_14: Final = 0x84 >> 2
_ULAW_CLIP_14: Final = 8159
_ULAW_SEGMENT_ENDS: Final = np.array(
    [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32
)


class WavFormatError(ValueError):
    """The bytes are not a WAV file this module can read (garbage, truncated, wrong format)."""


@dataclass(frozen=True, slots=True)
class WavInfo:
    """What a WAV header says about its audio."""

    format_tag: int
    channels: int
    sample_rate: int
    bits_per_sample: int
    data_bytes: int
    duration_seconds: float
    data_offset: int
    """Where the audio starts: `data[info.data_offset : info.data_offset + info.data_bytes]`."""

    @property
    def is_telephone_mulaw(self) -> bool:
        """True for the only format Twilio plays without transcoding: 8 kHz mono 8-bit μ-law."""
        return (
            self.format_tag == WAVE_FORMAT_MULAW
            and self.channels == 1
            and self.sample_rate == TELEPHONE_RATE
            and self.bits_per_sample == 8
        )


def _ulaw_decode_table() -> Pcm16:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    magnitude = (((codes & 0x0F) << 3) + 0x84) << ((codes & 0x70) >> 4)
    return np.where(codes & 0x80, 0x84 - magnitude, magnitude - 0x84).astype(np.int16)


_ULAW_DECODE: Final[Pcm16] = _ulaw_decode_table()


def mulaw_encode(pcm: Pcm16) -> bytes:
    """Encode 16-bit linear PCM as G.711 μ-law, one byte per sample.

    Args:
        pcm: Mono 16-bit samples.

    Returns:
        The μ-law bytes; identical to `audioop.lin2ulaw(pcm.tobytes(), 2)`.

    """
    value = np.asarray(pcm, dtype=np.int16).astype(np.int32) >> 2
    mask = np.where(value < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(value), _ULAW_CLIP_14) + _ULAW_BIAS_14
    segment = np.searchsorted(_ULAW_SEGMENT_ENDS, magnitude)
    step = (magnitude >> (np.minimum(segment, 7) + 1)) & 0x0F
    code = np.where(segment >= 8, 0x7F, (segment << 4) | step)
    return (code ^ mask).astype(np.uint8).tobytes()


def mulaw_decode(data: bytes) -> Pcm16:
    """Decode G.711 μ-law bytes to 16-bit linear PCM.

    Args:
        data: μ-law bytes, one per sample.

    Returns:
        The samples; identical to `audioop.ulaw2lin(data, 2)`.

    """
    return _ULAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


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


def parse_wav_header(data: bytes) -> WavInfo:
    """Walk a WAV file's RIFF chunks and describe its audio.

    Tolerates any extra chunks (`fact`, `LIST`, …) and the pad byte after odd-sized chunks.

    Args:
        data: The whole WAV file.

    Returns:
        The format, layout and length of the audio.

    Raises:
        WavFormatError: Not RIFF/WAVE, truncated, or without a usable `fmt ` or `data` chunk.

    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavFormatError("not a RIFF/WAVE file")
    (riff_size,) = struct.unpack_from("<I", data, 4)
    if riff_size + 8 > len(data):
        raise WavFormatError(f"truncated: RIFF declares {riff_size + 8} bytes, got {len(data)}")
    fmt, data_offset, data_bytes = _find_fmt_and_data(data, end=riff_size + 8)
    if len(fmt) < 16:
        raise WavFormatError(f"`fmt ` chunk too short: {len(fmt)} bytes")
    tag, channels, rate, _, block_align, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == WAVE_FORMAT_EXTENSIBLE and len(fmt) >= 26:
        (tag,) = struct.unpack_from("<H", fmt, 24)  # first field of the SubFormat GUID
    if channels == 0 or rate == 0 or block_align == 0:
        raise WavFormatError("`fmt ` declares zero channels, rate or block size")
    return WavInfo(
        format_tag=tag,
        channels=channels,
        sample_rate=rate,
        bits_per_sample=bits,
        data_bytes=data_bytes,
        duration_seconds=data_bytes // block_align / rate,
        data_offset=data_offset,
    )


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


def _find_fmt_and_data(data: bytes, end: int) -> tuple[bytes, int, int]:
    fmt: bytes | None = None
    offset = 12
    while offset + 8 <= end:
        tag, size = struct.unpack_from("<4sI", data, offset)
        body = offset + 8
        if tag == b"data":
            if fmt is None:
                raise WavFormatError("`data` chunk comes before any `fmt ` chunk")
            if body + size > end:
                raise WavFormatError(f"truncated `data` chunk: declares {size} bytes")
            return fmt, body, size
        if tag == b"fmt ":
            fmt = data[body : body + size]
        offset = body + size + size % 2
    raise WavFormatError("no `data` chunk" if fmt is not None else "no `fmt ` chunk")


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
