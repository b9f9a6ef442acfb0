"""G.711 μ-law, the 8 kHz telephone codec of Twilio's ``<Play>`` audio and Media Streams."""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

Pcm16 = npt.NDArray[np.int16]

MULAW_SILENCE: Final = 0xFF
"""The μ-law code of a zero sample: what an idle phone line carries."""

# G.711 μ-law, bit for bit as in CPython's audioop (itself Sun's reference g711.c): 16-bit
# samples are taken as 14-bit magnitudes, biased, and coded as a 3-bit segment + 4-bit step.
_ULAW_BIAS_14: Final = 0x84 >> 2
_ULAW_CLIP_14: Final = 8159
_ULAW_SEGMENT_ENDS: Final = np.array(
    [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32
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
        The μ-law bytes; identical to ``audioop.lin2ulaw(pcm.tobytes(), 2)``.

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
        The samples; identical to ``audioop.ulaw2lin(data, 2)``.

    """
    return _ULAW_DECODE[np.frombuffer(data, dtype=np.uint8)]
