"""μ-law coding, resampling and WAV containers, checked against audioop and sox."""

from __future__ import annotations

import io
import struct
import subprocess
import warnings
import wave
from pathlib import Path

import numpy as np
import pytest

from speech.audio import (
    TELEPHONE_RATE,
    WAVE_FORMAT_MULAW,
    WAVE_FORMAT_PCM,
    WavFormatError,
    mulaw_decode,
    mulaw_encode,
    mulaw_wav,
    parse_wav_header,
    read_wav_pcm16,
    resample,
    to_telephone_wav,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

EVERY_SAMPLE = np.arange(-32768, 32768, dtype=np.int16)


def pcm_wav(samples: np.ndarray, rate: int, channels: int = 1, width: int = 2) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return buffer.getvalue()


def tone(freq_hz: float, rate: int, seconds: float, amplitude: float) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.int16)


def level_at(samples: np.ndarray, rate: int, freq_hz: float) -> float:
    window = np.hanning(samples.size)
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * window))
    freqs = np.fft.rfftfreq(samples.size, 1 / rate)
    band = np.abs(freqs - freq_hz) < 20
    return float(spectrum[band].max() / (window.sum() / 2))


def test_mulaw_decode_matches_audioop_for_every_code() -> None:
    codes = bytes(range(256))

    assert mulaw_decode(codes).tobytes() == audioop.ulaw2lin(codes, 2)


def test_mulaw_encode_matches_audioop_for_every_sample() -> None:
    assert mulaw_encode(EVERY_SAMPLE) == audioop.lin2ulaw(EVERY_SAMPLE.tobytes(), 2)


def test_mulaw_round_trip_stays_within_half_a_quantisation_step() -> None:
    in_range = EVERY_SAMPLE[np.abs(EVERY_SAMPLE.astype(np.int32)) <= 32124]
    magnitude = np.abs(in_range.astype(np.int32))

    error = np.abs(mulaw_decode(mulaw_encode(in_range)).astype(np.int32) - in_range)

    # A segment's step is 1/16 of its lower edge (|x| + 132); G.711 also drops 2 low bits.
    assert np.all(error <= (magnitude + 132) / 32 + 4)


def test_mulaw_reencoding_a_decoded_code_gives_the_code_back() -> None:
    codes = bytes(range(256))
    negative_zero, positive_zero = 0x7F, 0xFF

    recoded = mulaw_encode(mulaw_decode(codes))

    assert recoded == bytes(positive_zero if c == negative_zero else c for c in codes)


def test_mulaw_clips_full_scale_to_the_loudest_codes() -> None:
    assert mulaw_encode(np.array([32767, -32768], dtype=np.int16)) == bytes([0x80, 0x00])


def test_resample_to_8k_keeps_speech_band_and_filters_what_would_alias() -> None:
    audio = tone(1000, 22050, 1.0, 8000) + tone(6000, 22050, 1.0, 8000)

    out = resample(audio, 22050, TELEPHONE_RATE)

    assert out.dtype == np.int16
    assert out.size == TELEPHONE_RATE
    assert level_at(out, TELEPHONE_RATE, 1000) == pytest.approx(8000, rel=0.02)
    # 6 kHz is above the 4 kHz Nyquist limit: unfiltered, it would fold onto 2 kHz.
    assert level_at(out, TELEPHONE_RATE, 2000) < 8000 * 0.01


def test_resample_same_rate_returns_the_samples() -> None:
    audio = tone(440, 8000, 0.1, 1000)

    assert np.array_equal(resample(audio, 8000, 8000), audio)


def test_read_wav_pcm16_returns_rate_and_mono_samples() -> None:
    audio = tone(440, 16000, 0.1, 5000)

    rate, samples = read_wav_pcm16(pcm_wav(audio, 16000))

    assert rate == 16000
    assert np.array_equal(samples, audio)


def test_read_wav_pcm16_downmixes_stereo_by_averaging() -> None:
    left = np.full(100, 1000, dtype=np.int16)
    right = np.full(100, -3000, dtype=np.int16)
    stereo = np.column_stack([left, right]).ravel()

    _, samples = read_wav_pcm16(pcm_wav(stereo, 8000, channels=2))

    assert samples.dtype == np.int16
    assert np.all(samples == -1000)


def test_read_wav_pcm16_rejects_8_bit_audio_with_a_value_error() -> None:
    eight_bit = pcm_wav(np.full(100, 128, dtype=np.uint8), 8000, width=1)

    with pytest.raises(WavFormatError, match="16-bit") as caught:
        read_wav_pcm16(eight_bit)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("data", [b"", b"not a wav file at all", mulaw_wav(b"\xff" * 10)])
def test_read_wav_pcm16_rejects_what_is_not_pcm_wav(data: bytes) -> None:
    with pytest.raises(WavFormatError):
        read_wav_pcm16(data)


@pytest.mark.parametrize("samples", [8000, 8001])
def test_mulaw_wav_is_byte_identical_to_sox(tmp_path: Path, samples: int) -> None:
    source, target = tmp_path / "in.wav", tmp_path / "out.wav"
    source.write_bytes(pcm_wav(tone(440, 8000, 2.0, 9000)[:samples], 8000))
    subprocess.run(["sox", str(source), "-e", "u-law", str(target)], check=True)
    by_sox = target.read_bytes()
    info = parse_wav_header(by_sox)

    payload = by_sox[info.data_offset : info.data_offset + info.data_bytes]

    assert info.data_bytes == samples
    assert mulaw_wav(payload) == by_sox


def test_mulaw_wav_header_round_trips_through_the_parser() -> None:
    payload = mulaw_encode(tone(440, 8000, 0.5, 9000))

    wav = mulaw_wav(payload)
    info = parse_wav_header(wav)

    assert (info.format_tag, info.channels, info.sample_rate, info.bits_per_sample) == (
        WAVE_FORMAT_MULAW,
        1,
        8000,
        8,
    )
    assert info.is_telephone_mulaw
    assert info.data_bytes == len(payload) == 4000
    assert info.duration_seconds == pytest.approx(0.5)
    assert wav[info.data_offset : info.data_offset + info.data_bytes] == payload
    assert struct.unpack_from("<I", wav, 4)[0] == len(wav) - 8


def test_mulaw_wav_pads_an_odd_data_chunk_and_counts_the_pad_in_riff() -> None:
    wav = mulaw_wav(b"\xff" * 7)

    assert len(wav) % 2 == 0
    assert struct.unpack_from("<I", wav, 4)[0] == len(wav) - 8
    assert parse_wav_header(wav).data_bytes == 7


def test_parse_wav_header_skips_list_and_odd_sized_chunks() -> None:
    fmt = struct.pack("<HHIIHH", WAVE_FORMAT_PCM, 2, 44100, 176400, 4, 16)
    chunks = (
        struct.pack("<4sI", b"fmt ", len(fmt))
        + fmt
        + struct.pack("<4sI", b"LIST", 5)
        + b"INFOx\x00"  # 5 bytes + pad
        + struct.pack("<4sI", b"data", 4 * 4410)
        + b"\x00" * (4 * 4410)
    )
    wav = b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks

    info = parse_wav_header(wav)

    assert (info.format_tag, info.channels, info.sample_rate, info.bits_per_sample) == (
        WAVE_FORMAT_PCM,
        2,
        44100,
        16,
    )
    assert info.duration_seconds == pytest.approx(0.1)
    assert not info.is_telephone_mulaw


def test_parse_wav_header_reads_a_python_wave_file() -> None:
    info = parse_wav_header(pcm_wav(tone(440, 22050, 2.0, 1000), 22050))

    assert info.format_tag == WAVE_FORMAT_PCM
    assert info.sample_rate == 22050
    assert info.duration_seconds == pytest.approx(2.0)


def riff(*chunks: tuple[bytes, bytes]) -> bytes:
    body = b"".join(
        struct.pack("<4sI", tag, len(payload)) + payload + b"\x00" * (len(payload) % 2)
        for tag, payload in chunks
    )
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


MULAW_FMT = struct.pack("<HHIIHHH", WAVE_FORMAT_MULAW, 1, 8000, 8000, 1, 8, 0)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "not a RIFF/WAVE"),
        (b"<html>Not Found</html>", "not a RIFF/WAVE"),
        (b"RIFF\x04\x00\x00\x00AVI ", "not a RIFF/WAVE"),
        (mulaw_wav(b"\xff" * 100)[:-10], "truncated: RIFF"),
        (riff((b"fmt ", MULAW_FMT), (b"data", b"\xff" * 100))[:-50], "truncated: RIFF"),
        (riff((b"JUNK", b"1234")), "no `fmt `"),
        (riff((b"fmt ", MULAW_FMT), (b"JUNK", b"1234")), "no `data`"),
        (riff((b"data", b"\xff" * 4), (b"fmt ", MULAW_FMT)), "before any `fmt `"),
        (riff((b"fmt ", MULAW_FMT[:12]), (b"data", b"\xff")), "too short"),
        (riff((b"fmt ", bytes(16)), (b"data", b"\xff")), "zero channels"),
    ],
)
def test_parse_wav_header_rejects_garbage_clearly(data: bytes, problem: str) -> None:
    with pytest.raises(WavFormatError, match=problem):
        parse_wav_header(data)


def test_parse_wav_header_rejects_a_data_chunk_running_past_the_file() -> None:
    wav = bytearray(mulaw_wav(b"\xff" * 100))
    struct.pack_into("<I", wav, 54, 5000)  # the data chunk's size field

    with pytest.raises(WavFormatError, match="truncated `data`"):
        parse_wav_header(bytes(wav))


def test_to_telephone_wav_converts_espeak_style_audio_to_8k_mulaw() -> None:
    quiet = tone(700, 22050, 1.5, 3000)

    wav = to_telephone_wav(pcm_wav(quiet, 22050))
    info = parse_wav_header(wav)
    decoded = mulaw_decode(wav[info.data_offset : info.data_offset + info.data_bytes])

    assert info.is_telephone_mulaw
    assert info.duration_seconds == pytest.approx(1.5, abs=0.001)
    # Brought up to -3 dBFS (≈ 23,197), within μ-law's step at that level.
    assert np.abs(decoded).max() == pytest.approx(23197, rel=0.04)


def test_to_telephone_wav_keeps_silence_silent() -> None:
    wav = to_telephone_wav(pcm_wav(np.zeros(22050, dtype=np.int16), 22050))
    info = parse_wav_header(wav)

    assert info.duration_seconds == pytest.approx(1.0)
    assert not mulaw_decode(wav[info.data_offset :]).any()
