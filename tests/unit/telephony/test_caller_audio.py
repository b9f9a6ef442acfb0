"""The caller's voice: real espeak-ng speech and WAV files of any rate as 8 kHz μ-law frames."""

from __future__ import annotations

import io
import struct
import wave

import numpy as np
import pytest

from telephony.mulaw import mulaw_decode, mulaw_encode
from telephony.simulator.stream_audio import (
    CallerAudioError,
    decode_wav,
    recording,
    speak,
    utterance,
)


def pcm_wav(samples: np.ndarray, rate: int, channels: int = 1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()


def mulaw_wav(payload: bytes) -> bytes:
    fmt = struct.pack("<HHIIHHH", 7, 1, 8000, 8000, 1, 8, 0)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def with_format_tag(wav: bytes, tag: int) -> bytes:
    edited = bytearray(wav)
    struct.pack_into("<H", edited, 20, tag)  # the first field of the 'fmt ' chunk
    return bytes(edited)


def rms(frame: bytes) -> float:
    samples = mulaw_decode(frame).astype(np.float64)
    return float(np.sqrt(np.mean(samples * samples)))


def tone(rate: int, seconds: float, hz: float = 300.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


async def test_espeak_speech_becomes_frames_with_its_voice_onset() -> None:
    spoken = await speak("상담원 연결", "ko")
    assert all(len(frame) == 160 for frame in spoken.frames)
    assert 0.5 < spoken.seconds < 3.0
    levels = [rms(frame) for frame in spoken.frames]
    assert levels[spoken.onset_frame] > 100  # -50 dBFS
    assert all(level <= 100 for level in levels[: spoken.onset_frame])
    assert max(levels[spoken.onset_frame : spoken.onset_frame + 10]) > 1000  # voice, not noise


async def test_text_starting_with_a_dash_is_spoken_not_taken_for_an_option() -> None:
    spoken = await speak("-h", "en-us")
    assert spoken.seconds > 0.1


async def test_unknown_voice_is_an_error_naming_it() -> None:
    with pytest.raises(CallerAudioError, match=r"espeak-ng -v zz-none failed: .*voice"):
        await speak("hello", "zz-none")


def test_16_khz_stereo_pcm_is_resampled_to_8_khz_mono() -> None:
    stereo = np.repeat(tone(16000, 0.5), 2)
    rate, samples = decode_wav(pcm_wav(stereo, 16000, channels=2))
    assert (rate, samples.size) == (16000, 8000)
    line = utterance(pcm_wav(stereo, 16000, channels=2))
    assert len(line.frames) == 25 and line.onset_frame == 0


def test_mulaw_wav_is_taken_as_it_is() -> None:
    payload = mulaw_encode(tone(8000, 0.1))
    line = utterance(mulaw_wav(payload + b"\xff" * 60))
    assert b"".join(line.frames)[:800] == payload
    assert len(line.frames) == 6 and line.frames[-1].endswith(b"\xff" * 100)


def test_wav_streamed_to_a_pipe_is_read_to_the_end() -> None:
    wav = bytearray(pcm_wav(tone(22050, 0.2), 22050))
    struct.pack_into("<I", wav, 4, 0x7FFFF024)  # espeak-ng --stdout: sizes "until EOF"
    struct.pack_into("<I", wav, 40, 0x7FFFF000)
    rate, samples = decode_wav(bytes(wav))
    assert (rate, samples.size) == (22050, 4410)


def test_leading_silence_is_kept_and_the_onset_found_after_it() -> None:
    audio = np.concatenate([np.zeros(800, dtype=np.int16), tone(8000, 0.2)])
    line = utterance(pcm_wav(audio, 8000))
    assert line.onset_frame == 5


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a wav file", "not a RIFF/WAVE file"),
        (pcm_wav(tone(8000, 0.1), 8000)[:36], "no `data` chunk"),
        (pcm_wav(tone(8000, 0.1), 8000).replace(b"fmt ", b"junk"), "`data` chunk before any"),
        (with_format_tag(pcm_wav(tone(8000, 0.1), 8000), 3), "format tag 3 with 16 bits"),
    ],
)
def test_unusable_wav_is_refused_saying_why(data: bytes, message: str) -> None:
    with pytest.raises(CallerAudioError, match=message):
        decode_wav(data)


async def test_missing_recording_is_an_error_naming_the_file() -> None:
    with pytest.raises(CallerAudioError, match=r"cannot read /nonexistent/hello\.wav"):
        await recording("/nonexistent/hello.wav")
