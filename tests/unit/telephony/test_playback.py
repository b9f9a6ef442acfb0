"""Twilio's playback queue: audio plays 20 ms per frame, marks wait behind it, clear drops it."""

from __future__ import annotations

from telephony.simulator.playback import Playback, bytes_to_ms

FRAME = b"\x10" * 160


def test_mark_with_nothing_queued_goes_back_at_once() -> None:
    playback = Playback()
    assert playback.add_mark("idle") == ("idle",)
    assert playback.idle


def test_mark_goes_back_with_the_frame_that_plays_the_audio_before_it() -> None:
    playback = Playback()
    playback.add_audio(FRAME * 2)
    assert playback.add_mark("end") == ()
    assert playback.play_frame() == (160, ())
    assert playback.play_frame() == (160, ("end",))
    assert playback.idle


def test_frames_play_across_chunk_boundaries_and_marks_between_them() -> None:
    playback = Playback()
    playback.add_audio(b"\x01" * 100)
    playback.add_mark("first")
    playback.add_audio(b"\x02" * 100)
    playback.add_mark("second")
    assert playback.queued_ms == 25
    assert playback.play_frame() == (160, ("first",))
    assert playback.play_frame() == (40, ("second",))
    assert playback.play_frame() == (0, ())


def test_clear_drops_the_audio_and_returns_every_waiting_mark() -> None:
    playback = Playback()
    playback.add_audio(FRAME * 50)
    playback.add_mark("a")
    playback.add_audio(FRAME)
    playback.add_mark("b")
    playback.play_frame()
    assert playback.clear() == (50 * 160, ("a", "b"))
    assert playback.idle and playback.queued_ms == 0
    assert playback.add_mark("after") == ("after",)


def test_empty_audio_queues_nothing() -> None:
    playback = Playback()
    playback.add_audio(b"")
    assert playback.idle
    assert bytes_to_ms(8000) == 1000
