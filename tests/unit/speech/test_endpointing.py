"""The endpointer on real espeak-ng speech over a phone line, clean, noisy and silent."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np
import numpy.typing as npt
import pytest

from speech.endpointing import SPEECH_ENDED, SPEECH_STARTED, Endpointer, frame_dbfs

Speak = Callable[..., bytes]
Render = Callable[..., npt.NDArray[np.int16]]

FRAME_BYTES = 320  # 20 ms of 16-bit PCM at 8 kHz
LEAD_MS = 300


def frames(pcm: bytes, size: int = FRAME_BYTES) -> Iterator[bytes]:
    for offset in range(0, len(pcm), size):
        yield pcm[offset : offset + size]


def events(endpointer: Endpointer, pcm: bytes, size: int = FRAME_BYTES) -> list[tuple[str, int]]:
    """Every event with the stream time (ms) at the end of the frame that produced it."""
    found = []
    fed = 0
    for frame in frames(pcm, size):
        fed += len(frame)
        event = endpointer.push(frame)
        if event:
            found.append((event, fed // 16))
    return found


def speech_extent_ms(speech: npt.NDArray[np.int16]) -> tuple[int, int]:
    """Where espeak-ng's speech starts and stops on the line (ms), from the clean samples."""
    loud = np.flatnonzero(np.abs(speech.astype(np.int32)) > 0.05 * int(np.max(np.abs(speech))))
    return LEAD_MS + int(loud[0]) // 8, LEAD_MS + (int(loud[-1]) + 1) // 8


def white_noise(seconds: float, dbfs: float, seed: int = 1) -> bytes:
    noise = np.random.default_rng(seed).standard_normal(int(seconds * 8000))
    return np.rint(noise * 32768 * 10 ** (dbfs / 20)).astype("<i2").tobytes()


@pytest.mark.parametrize("snr_db", [None, 15.0])
def test_speech_start_and_end_are_found_on_clean_and_noisy_lines(
    speak: Speak, espeak_8k: Render, snr_db: float | None
) -> None:
    text = "다시 말해 주세요"
    start, stop = speech_extent_ms(espeak_8k(text))
    endpointer = Endpointer()
    found = events(endpointer, speak(text, snr_db=snr_db, tail=1.0))
    assert [name for name, _ in found] == [SPEECH_STARTED, SPEECH_ENDED]
    assert endpointer.speech_started_at_ms == pytest.approx(start, abs=80)
    assert endpointer.speech_ended_at_ms == pytest.approx(stop, abs=150)
    ended_at, speech_ended_at = found[1][1], endpointer.speech_ended_at_ms
    assert speech_ended_at is not None
    assert ended_at - speech_ended_at == pytest.approx(460, abs=20)


def test_onset_is_reported_within_a_tenth_of_a_second_for_barge_in(speak: Speak) -> None:
    endpointer = Endpointer()
    found = events(endpointer, speak("상담원 연결", snr_db=15.0))
    started_at = endpointer.speech_started_at_ms
    assert started_at is not None
    assert found[0][0] == SPEECH_STARTED
    assert found[0][1] - started_at <= 100


def test_pause_between_words_does_not_end_the_answer(speak: Speak, espeak_8k: Render) -> None:
    start, stop = (ms - LEAD_MS for ms in speech_extent_ms(espeak_8k("잔액")))
    word = speak("잔액", lead=0.0, tail=0.0)[16 * start : 16 * stop]  # espeak-ng's pauses cut
    pause = bytes(2 * 8 * 250)  # 250 ms of digital silence, shorter than the trailing silence
    endpointer = Endpointer()
    found = events(endpointer, bytes(2400) + word + pause + word + bytes(16000))
    assert [name for name, _ in found] == [SPEECH_STARTED, SPEECH_ENDED]
    assert found[1][1] > 300 + 2 * len(word) // 16 + 250


def test_line_noise_alone_is_no_speech() -> None:
    endpointer = Endpointer()
    assert events(endpointer, white_noise(4.0, -35.0)) == []
    floor = endpointer.noise_floor_dbfs
    assert floor is not None
    assert floor == pytest.approx(-35.0, abs=2.0)


def test_digital_silence_and_idle_line_noise_are_no_speech() -> None:
    idle = np.random.default_rng(2).integers(-3, 4, size=16000).astype("<i2").tobytes()
    assert events(Endpointer(), bytes(32000) + idle) == []


def test_endless_speech_is_cut_at_the_maximum(speak: Speak) -> None:
    babble = speak("오늘 날씨가 정말 좋네요", lead=0.0, tail=0.0) * 6
    endpointer = Endpointer(max_speech_ms=2000, trailing_silence_ms=5000)
    found = events(endpointer, babble)
    started = endpointer.speech_started_at_ms
    assert started is not None
    assert [name for name, _ in found] == [SPEECH_STARTED, SPEECH_ENDED]
    assert found[1][1] - started == pytest.approx(2000, abs=20)


def test_each_event_is_reported_once(speak: Speak) -> None:
    answer = speak("네")
    found = events(Endpointer(), answer + answer + answer)
    assert [name for name, _ in found] == [SPEECH_STARTED, SPEECH_ENDED]


def test_audio_cut_anyhow_gives_the_same_times(speak: Speak) -> None:
    pcm = speak("카드 분실", snr_db=15.0)
    by_frame, by_odd_piece = Endpointer(), Endpointer()
    framed = [name for name, _ in events(by_frame, pcm)]
    pieces = []
    for piece in frames(pcm, 333):
        event = by_odd_piece.push(piece)
        while event:
            pieces.append(event)
            event = by_odd_piece.push(b"")
    assert pieces == framed
    assert by_odd_piece.speech_started_at_ms == by_frame.speech_started_at_ms
    assert by_odd_piece.speech_ended_at_ms == by_frame.speech_ended_at_ms


def test_noise_that_rises_for_good_ends_the_false_utterance_by_itself() -> None:
    endpointer = Endpointer(max_speech_ms=60000)
    found = events(endpointer, white_noise(2.0, -60.0) + white_noise(10.0, -48.0, seed=3))
    assert [name for name, _ in found] == [SPEECH_STARTED, SPEECH_ENDED]
    assert found[1][1] - 2000 < 6000


def test_frame_level_is_rms_in_dbfs() -> None:
    full_scale_square = np.array([32767, -32767] * 80, dtype="<i2").tobytes()
    assert frame_dbfs(full_scale_square) == pytest.approx(0.0, abs=0.01)
    assert frame_dbfs(bytes(320)) == -96.0


def test_a_frame_costs_microseconds() -> None:
    endpointer = Endpointer()
    noise = white_noise(2.0, -30.0)
    began = time.perf_counter()
    for frame in frames(noise):
        endpointer.push(frame)
    per_frame = (time.perf_counter() - began) / (len(noise) / FRAME_BYTES)
    assert per_frame < 200e-6
