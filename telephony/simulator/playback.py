"""Twilio's playback buffer on a bidirectional stream: audio the server sent, and marks behind it.

The server may send audio faster than real time; Twilio queues it and plays 20 ms per frame.
A ``mark`` waits in the queue behind the audio sent before it and goes back to the server when
that audio has played (at once when nothing is queued). ``clear`` drops the queued audio and
sends every waiting mark back at once. This class is the queue alone; the session plays a
frame every 20 ms of real time.
"""

from __future__ import annotations

from collections import deque

from telephony.media_stream import FRAME_BYTES, FRAME_MS


def bytes_to_ms(count: int) -> int:
    """Milliseconds of 8 kHz μ-law audio in ``count`` bytes."""
    return count * FRAME_MS // FRAME_BYTES


class Playback:
    """The queue of audio (``bytes``) and marks (``str``) not played yet."""

    def __init__(self) -> None:
        """Start with nothing queued."""
        self._queue: deque[bytes | str] = deque()
        self._queued_bytes = 0

    @property
    def idle(self) -> bool:
        """Whether nothing is left to play and no mark is waiting."""
        return not self._queue

    @property
    def queued_ms(self) -> int:
        """Audio waiting to play."""
        return bytes_to_ms(self._queued_bytes)

    def add_audio(self, payload: bytes) -> None:
        """Queue audio behind everything sent before."""
        if payload:
            self._queue.append(payload)
            self._queued_bytes += len(payload)

    def add_mark(self, name: str) -> tuple[str, ...]:
        """Queue a mark behind the audio sent before it.

        Returns:
            The marks to send back now: this one when nothing is queued.

        """
        if self.idle:
            return (name,)
        self._queue.append(name)
        return ()

    def play_frame(self) -> tuple[int, tuple[str, ...]]:
        """Play one 20 ms frame.

        Returns:
            How many bytes played (fewer than a frame at the end of the audio), and the
            marks reached: the audio before them has now played.

        """
        wanted = FRAME_BYTES
        reached: list[str] = []
        while self._queue and (wanted or isinstance(self._queue[0], str)):
            head = self._queue.popleft()
            if isinstance(head, str):
                reached.append(head)
                continue
            if len(head) > wanted:
                self._queue.appendleft(head[wanted:])
                head = head[:wanted]
            wanted -= len(head)
            self._queued_bytes -= len(head)
        return FRAME_BYTES - wanted, tuple(reached)

    def clear(self) -> tuple[int, tuple[str, ...]]:
        """Drop the audio not played yet.

        Returns:
            The bytes dropped, and the waiting marks, to send back at once.

        """
        dropped = self._queued_bytes
        marks = tuple(item for item in self._queue if isinstance(item, str))
        self._queue.clear()
        self._queued_bytes = 0
        return dropped, marks
