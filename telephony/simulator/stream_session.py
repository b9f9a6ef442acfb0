"""Twilio's end of one ``<Connect><Stream>`` websocket, in real time, as a phone line behaves.

Every 20 ms of wall-clock time (paced by deadlines on the loop's clock, so pacing never drifts)
the line sends one ``media`` frame of the caller's audio, silence unless the caller speaks, and
plays one frame of the server's queued audio, sending marks back once the audio before them has
played. A ``clear`` drops the queue and sends the waiting marks back at once.

A *prompt* is a burst of the server's audio: it begins with audio arriving while no prompt is
playing and ends when nothing has been left to play for ``REACTION_SECONDS`` (the caller's
reaction time), or at a ``clear``. Each prompt is one chance for the caller to answer.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

import aiohttp

from telephony import media_stream as ms
from telephony.simulator.playback import Playback, bytes_to_ms
from telephony.simulator.stream_audio import SILENT_FRAME, Utterance
from telephony.simulator.transcript import (
    CallerSpoke,
    DtmfSent,
    MarkEchoed,
    PlaybackCleared,
    SimulationError,
    Step,
    StreamHeard,
)

FRAME_SECONDS: Final = ms.FRAME_MS / 1000

REACTION_SECONDS: Final = 0.3
"""A caller starts to answer about 300 ms after a prompt ends; a gap in the server's audio
shorter than that is still the same prompt."""

DTMF_GAP_SECONDS: Final = 0.12
"""Between two keys: a 50-70 ms tone and a pause, about as fast as a person presses keys."""

Builder = Callable[[int], str]
"""Writes one message from its ``sequenceNumber``."""


@dataclass
class Prompt:
    """One burst of the server's audio.

    Attributes:
        number: Its number in the stream, from 1.
        started_at: Loop time its first audio arrived.
        heard_bytes: μ-law bytes played so far.
        last_sound: Loop time of its last audio, arrived or played.
        finished: Set when it has ended (played out, or cleared).

    """

    number: int
    started_at: float
    heard_bytes: int = 0
    last_sound: float = 0.0
    finished: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class _Speaking:
    utterance: Utterance
    text: str | None
    path: str | None
    done: asyncio.Event
    sent: int = 0


@dataclass(frozen=True)
class _Onset:
    at: float
    chunk: int


class StreamSession:
    """The line between the caller and the server for one stream."""

    def __init__(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        *,
        stream_sid: str,
        call_sid: str,
        account_sid: str,
        record: Callable[[Step], None],
    ) -> None:
        """Take over an open websocket; nothing is sent before ``start``."""
        self.stream_sid = stream_sid
        self._ws = ws
        self._call_sid = call_sid
        self._account_sid = account_sid
        self._record = record
        self._loop = asyncio.get_running_loop()
        self._send_lock = asyncio.Lock()
        self._closed = False
        self._sequence = 0
        self._chunk = 0
        self._started_at = self._loop.time()
        self.playback = Playback()
        self._prompts: list[Prompt] = []
        self._playing: Prompt | None = None
        self._prompt_began = asyncio.Event()
        self._speaking: _Speaking | None = None
        self._onset: _Onset | None = None

    def now_ms(self) -> int:
        """Milliseconds since the stream started."""
        return round((self._loop.time() - self._started_at) * 1000)

    async def start(self, parameters: Mapping[str, str]) -> None:
        """Send ``connected`` and ``start``, as Twilio does once the websocket is open."""
        self._started_at = self._loop.time()
        await self._send_text(ms.connected_message())
        await self._send(
            lambda sequence: ms.start_message(
                stream_sid=self.stream_sid,
                call_sid=self._call_sid,
                account_sid=self._account_sid,
                custom_parameters=parameters,
                sequence=sequence,
            )
        )

    # --- the line, every 20 ms ----------------------------------------------------------------

    async def run_line(self) -> None:
        """Send the caller's frames and play the server's audio in real time, until cancelled."""
        first = self._loop.time()
        ticks = 0
        while True:
            delay = first + ticks * FRAME_SECONDS - self._loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            ticks += 1
            await self._send_caller_frame()
            await self._play_frame()

    async def _send_caller_frame(self) -> None:
        speaking = self._speaking
        frame = SILENT_FRAME
        if speaking is not None:
            frame = speaking.utterance.frames[speaking.sent]
        self._chunk += 1
        chunk = self._chunk
        await self._send(
            lambda sequence: ms.media_message(
                stream_sid=self.stream_sid,
                payload=frame,
                chunk=chunk,
                timestamp_ms=(chunk - 1) * ms.FRAME_MS,
                sequence=sequence,
            )
        )
        if speaking is not None:
            self._spoke_frame(speaking)

    def _spoke_frame(self, speaking: _Speaking) -> None:
        if speaking.sent == speaking.utterance.onset_frame:
            self._onset = _Onset(self._loop.time(), self._chunk)
            self._record(
                CallerSpoke(
                    text=speaking.text,
                    path=speaking.path,
                    at_ms=self.now_ms(),
                    seconds=speaking.utterance.seconds,
                    barge_in=not self.playback.idle,
                )
            )
        speaking.sent += 1
        if speaking.sent == len(speaking.utterance.frames):
            self._speaking = None
            speaking.done.set()

    async def _play_frame(self) -> None:
        played, marks = self.playback.play_frame()
        now = self._loop.time()
        if played and self._playing is not None:
            self._playing.heard_bytes += played
            self._playing.last_sound = now
        for name in marks:
            await self._echo(name, cleared=False)
        playing = self._playing
        if playing and self.playback.idle and now - playing.last_sound >= REACTION_SECONDS:
            self._end_prompt(playing, cleared=False)

    def finish(self) -> None:
        """The stream is over: a prompt still playing ends where it got to."""
        if self._playing is not None:
            self._end_prompt(self._playing, cleared=False)

    def _end_prompt(self, prompt: Prompt, *, cleared: bool) -> None:
        self._playing = None
        self._record(
            StreamHeard(
                prompt=prompt.number,
                at_ms=round((prompt.started_at - self._started_at) * 1000),
                heard_ms=bytes_to_ms(prompt.heard_bytes),
                cleared=cleared,
                ended_ms=self.now_ms(),
            )
        )
        prompt.finished.set()

    # --- what the server sends ------------------------------------------------------------------

    async def receive(self) -> None:
        """Handle the server's messages until it closes the websocket.

        Raises:
            SimulationError: The server sent something Twilio would not accept.

        """
        async for message in self._ws:
            if message.type is aiohttp.WSMsgType.TEXT:
                await self._handle(message.data)
            elif message.type is aiohttp.WSMsgType.BINARY:
                raise SimulationError("stream: the server sent a binary message; Twilio reads text")
            elif message.type is aiohttp.WSMsgType.ERROR:
                raise SimulationError(f"stream: websocket error: {self._ws.exception()!r}")
        self._closed = True

    async def _handle(self, text: str) -> None:
        message = ms.parse_outbound(text)
        if message is None:
            raise SimulationError(f"stream: the server sent a message Twilio cannot read: {text!r}")
        if message.stream_sid != self.stream_sid:
            raise SimulationError(
                f"stream: a {type(message).__name__} for stream {message.stream_sid!r}, "
                f"not {self.stream_sid!r}"
            )
        match message:
            case ms.OutboundMedia(payload=payload):
                self._audio_arrived(payload)
            case ms.OutboundMark(name=name):
                for echoed in self.playback.add_mark(name):
                    await self._echo(echoed, cleared=False)
            case ms.Clear():
                await self._clear()

    def _audio_arrived(self, payload: bytes) -> None:
        now = self._loop.time()
        if self._playing is None:
            self._playing = Prompt(len(self._prompts) + 1, started_at=now)
            self._prompts.append(self._playing)
            began, self._prompt_began = self._prompt_began, asyncio.Event()
            began.set()
        self._playing.last_sound = now
        self.playback.add_audio(payload)

    async def _clear(self) -> None:
        dropped, marks = self.playback.clear()
        arrived = self._loop.time()
        if self._playing is not None:
            self._end_prompt(self._playing, cleared=True)
        for name in marks:
            await self._echo(name, cleared=True)
        onset, self._onset = self._onset, None
        self._record(
            PlaybackCleared(
                at_ms=self.now_ms(),
                dropped_ms=bytes_to_ms(dropped),
                marks=marks,
                onset_to_clear_ms=None if onset is None else round((arrived - onset.at) * 1000, 1),
                onset_to_clear_frames=None if onset is None else self._chunk - onset.chunk,
            )
        )

    async def _echo(self, name: str, *, cleared: bool) -> None:
        await self._send(
            lambda sequence: ms.mark_message(
                stream_sid=self.stream_sid, name=name, sequence=sequence
            )
        )
        self._record(MarkEchoed(name, self.now_ms(), cleared))

    # --- what the caller does -------------------------------------------------------------------

    async def next_prompt(self, *, after: int, patience: float) -> Prompt | None:
        """The first prompt numbered above ``after``, waiting for it to begin if need be.

        Returns:
            The prompt, or None when none began within ``patience`` seconds.

        """
        deadline = self._loop.time() + patience
        while len(self._prompts) <= after:
            began = self._prompt_began
            try:
                async with asyncio.timeout_at(deadline):
                    await began.wait()
            except TimeoutError:
                return None
        return self._prompts[after]

    async def sleep_until(self, at: float) -> None:
        """Wait until loop time ``at``."""
        await asyncio.sleep(max(0.0, at - self._loop.time()))

    async def speak(self, utterance: Utterance, *, text: str | None, path: str | None) -> None:
        """Send ``utterance`` in place of silence, a frame per tick; returns once all is sent."""
        speaking = _Speaking(utterance, text, path, asyncio.Event())
        if utterance.frames:
            self._speaking = speaking
            await speaking.done.wait()

    async def press(self, keys: str) -> None:
        """Press ``keys``: one ``dtmf`` message each, a person's pace apart."""
        self._record(DtmfSent(keys, self.now_ms()))
        for index, key in enumerate(keys):
            if index:
                await asyncio.sleep(DTMF_GAP_SECONDS)
            await self._send(functools.partial(self._dtmf, key))

    def _dtmf(self, digit: str, sequence: int) -> str:
        return ms.dtmf_message(stream_sid=self.stream_sid, digit=digit, sequence=sequence)

    async def hang_up(self) -> None:
        """End the call from the caller's side: ``stop``, then close the websocket."""
        await self._send(
            lambda sequence: ms.stop_message(
                stream_sid=self.stream_sid,
                call_sid=self._call_sid,
                account_sid=self._account_sid,
                sequence=sequence,
            )
        )
        await self._ws.close()
        self._closed = True

    # --- sending ----------------------------------------------------------------------------

    async def _send(self, build: Builder) -> None:
        """Send one numbered message; every message after ``connected`` takes the next number."""
        async with self._send_lock:
            if self._closed or self._ws.closed:
                return
            self._sequence += 1
            await self._send_locked(build(self._sequence))

    async def _send_text(self, text: str) -> None:
        async with self._send_lock:
            await self._send_locked(text)

    async def _send_locked(self, text: str) -> None:
        try:
            await self._ws.send_str(text)
        except (ConnectionError, aiohttp.ClientError):
            # The server went away mid-send; ``receive`` sees the close and ends the stream.
            self._closed = True
