"""The caller's voice on a media stream: espeak-ng speech or a WAV file, as 8 kHz μ-law frames.

Speech is real audio, synthesized by the espeak-ng command in a subprocess (the event loop
never waits on it), so the server's voice activity detection and recognizer hear what they
would hear from a phone.
"""

from __future__ import annotations

import asyncio
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.signal import resample_poly

from telephony.media_stream import FRAME_BYTES, FRAME_MS, SAMPLE_RATE
from telephony.mulaw import MULAW_SILENCE, Pcm16, mulaw_decode, mulaw_encode

ESPEAK: Final = "espeak-ng"

VOICE_ONSET_DBFS: Final = -50.0
"""dBFS: the first frame louder than this (RMS) is the voice onset. espeak-ng's output opens
with digital silence and its first voiced frame is already near -40 dBFS; a threshold below
any voice detector's puts the onset at or before the frame a server can first detect."""

_VOICE_ONSET_RMS: Final = 32768.0 * 10.0 ** (VOICE_ONSET_DBFS / 20.0)
_WAVE_FORMAT_PCM: Final = 0x0001
_WAVE_FORMAT_MULAW: Final = 0x0007
_WAVE_FORMAT_EXTENSIBLE: Final = 0xFFFE
_STREAMED_SIZES: Final = frozenset({0, 0x7FFFF000, 0xFFFFFFFF})
"""Sizes written by tools that stream WAV to a pipe (espeak-ng ``--stdout``): "until EOF"."""

SILENT_FRAME: Final = bytes([MULAW_SILENCE]) * FRAME_BYTES


class CallerAudioError(Exception):
    """The caller's audio could not be made: espeak-ng failed, or the file is not usable WAV."""


@dataclass(frozen=True)
class Utterance:
    """What the caller says, ready for the line.

    Attributes:
        frames: 20 ms μ-law frames (the last one padded with silence).
        onset_frame: Index of the first frame with voice in it (leading silence is kept:
            it is part of the recording, but the onset is where voice begins).

    """

    frames: tuple[bytes, ...]
    onset_frame: int

    @property
    def seconds(self) -> float:
        """How long it lasts."""
        return len(self.frames) * FRAME_MS / 1000


async def speak(text: str, voice: str) -> Utterance:
    """Synthesize ``text`` with espeak-ng.

    Args:
        text: What to say.
        voice: An espeak-ng voice, e.g. ``ko`` or ``en-us``.

    Raises:
        CallerAudioError: espeak-ng is missing, does not know the voice, or failed.

    """
    try:
        process = await asyncio.create_subprocess_exec(
            ESPEAK,
            "-v",
            voice,
            "--stdout",
            "--stdin",  # text on stdin: a text starting with "-" is never taken for an option
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError as err:
        raise CallerAudioError(f"{ESPEAK} is not installed; it speaks the caller's part") from err
    try:
        wav, errors = await process.communicate(text.encode())
    except asyncio.CancelledError:
        process.kill()
        await process.wait()
        raise
    if process.returncode != 0 or not wav:
        detail = errors.decode(errors="replace").strip() or f"exit code {process.returncode}"
        raise CallerAudioError(f"{ESPEAK} -v {voice} failed: {detail}")
    return utterance(wav)


async def recording(path: str) -> Utterance:
    """Read a WAV file to play into the line (read in a worker thread).

    Raises:
        CallerAudioError: The file cannot be read or is not PCM16/μ-law WAV.

    """
    try:
        data = await asyncio.to_thread(Path(path).read_bytes)
    except OSError as err:
        raise CallerAudioError(f"cannot read {path}: {err.strerror or err}") from err
    try:
        return utterance(data)
    except CallerAudioError as err:
        raise CallerAudioError(f"{path}: {err}") from err


def utterance(wav: bytes) -> Utterance:
    """Turn a WAV file (PCM16 or μ-law, any rate and channel count) into line frames."""
    rate, pcm = decode_wav(wav)
    line = mulaw_encode(to_line_rate(pcm, rate))
    padding = bytes([MULAW_SILENCE]) * (-len(line) % FRAME_BYTES)
    padded = line + padding
    frames = tuple(padded[i : i + FRAME_BYTES] for i in range(0, len(padded), FRAME_BYTES))
    return Utterance(frames, _onset(frames))


def _onset(frames: tuple[bytes, ...]) -> int:
    for index, frame in enumerate(frames):
        samples = mulaw_decode(frame).astype(np.float64)
        if math.sqrt(float(np.mean(samples * samples))) > _VOICE_ONSET_RMS:
            return index
    return 0


def to_line_rate(pcm: Pcm16, rate: int) -> Pcm16:
    """Resample mono 16-bit audio to the line's 8 kHz with a band-limiting polyphase filter."""
    if rate == SAMPLE_RATE or pcm.size == 0:
        return pcm
    common = math.gcd(rate, SAMPLE_RATE)
    resampled: npt.NDArray[np.float64] = resample_poly(
        pcm.astype(np.float64), SAMPLE_RATE // common, rate // common
    )
    return np.clip(np.rint(resampled), -32768, 32767).astype(np.int16)


def decode_wav(data: bytes) -> tuple[int, Pcm16]:
    """Read a WAV file's audio as mono 16-bit samples.

    Accepts 16-bit PCM and 8-bit μ-law (plain or ``WAVE_FORMAT_EXTENSIBLE``), any rate and
    channel count, and the "until end of file" sizes of WAV streamed to a pipe.

    Returns:
        The sample rate in Hz and the samples.

    Raises:
        CallerAudioError: Not RIFF/WAVE, no ``fmt``/``data`` chunk, or another format.

    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise CallerAudioError("not a RIFF/WAVE file")
    fmt, audio = _chunks(data)
    if len(fmt) < 16:
        raise CallerAudioError("no usable `fmt ` chunk")
    tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == _WAVE_FORMAT_EXTENSIBLE and len(fmt) >= 26:
        (tag,) = struct.unpack_from("<H", fmt, 24)
    if channels == 0 or rate == 0:
        raise CallerAudioError("`fmt ` declares no channels or no sample rate")
    if tag == _WAVE_FORMAT_PCM and bits == 16:
        usable = len(audio) // (2 * channels) * 2 * channels
        samples = np.frombuffer(audio[:usable], "<i2").astype(np.int16)
    elif tag == _WAVE_FORMAT_MULAW and bits == 8:
        samples = mulaw_decode(audio[: len(audio) // channels * channels])
    else:
        raise CallerAudioError(f"format tag {tag} with {bits} bits: expected PCM16 or μ-law")
    if channels > 1:
        mono = samples.reshape(-1, channels).astype(np.float64).mean(axis=1)
        samples = np.rint(mono).astype(np.int16)
    return rate, samples


def _chunks(data: bytes) -> tuple[bytes, bytes]:
    fmt: bytes | None = None
    offset = 12
    while offset + 8 <= len(data):
        tag, size = struct.unpack_from("<4sI", data, offset)
        body = offset + 8
        if tag == b"data":
            if fmt is None:
                raise CallerAudioError("`data` chunk before any `fmt ` chunk")
            end = len(data) if size in _STREAMED_SIZES else body + size
            return fmt, data[body:end]
        if tag == b"fmt ":
            fmt = data[body : body + size]
        offset = body + size + size % 2
    raise CallerAudioError("no `data` chunk" if fmt is not None else "no `fmt ` chunk")
