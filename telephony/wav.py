"""WAV headers as Twilio plays them (μ-law or PCM): read by the server and the simulator."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

TELEPHONE_RATE: Final = 8000
"""Hz: Twilio's `<Play>` and Media Streams speak 8 kHz μ-law; anything else is transcoded."""

WAVE_FORMAT_PCM: Final = 0x0001
WAVE_FORMAT_MULAW: Final = 0x0007
WAVE_FORMAT_EXTENSIBLE: Final = 0xFFFE


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
