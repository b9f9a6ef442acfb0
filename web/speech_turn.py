"""One wait of a call on a media stream: play its prompts, listen, and decide what was said.

A turn plays the wait's prompts as 20 ms μ-law frames paced in real time (300 ms ahead), then
a ``mark``; the no-input timer starts when Twilio echoes that mark (the caller has heard the
prompt), not when sending started. Speech onset (the endpointer) or a key press while the
prompt plays is a barge-in: ``clear`` goes out at once and the sender stops. The caller's
speech is decoded by Vosk under the wait's grammar; our own endpointer decides when they have
finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from ivr import actions as act
from ivr import events as ev
from speech.audio import parse_wav_header
from speech.endpointing import Endpointer
from speech.grammar import Grammar
from speech.listening import SpeechEngine, Utterance
from speech.recognition import Recognition
from telephony import media_stream as ms
from telephony.mulaw import mulaw_decode

log = logging.getLogger(__name__)

Send = Callable[[str], Awaitable[None]]
Clock = Callable[[], datetime]

PRE_ROLL_FRAMES: Final = 15
"""300 ms of audio kept from before the endpointer's onset decision, so the recognizer hears
the start of the first word (onset is only declared after a few voiced frames)."""

SPEECH_GRAMMARS: Final = {"options": "phrases", "digits": "digits", "yes_no": "yes_no"}
"""The engine's Listen.grammar → the recognizer's Grammar.kind."""

FRAME_SECONDS: Final = ms.FRAME_MS / 1000

PLAYOUT_LEAD_FRAMES: Final = 15
"""300 ms of prompt audio sent ahead of real time. Twilio buffers what it is sent, so a stalled
event loop (a busy 2-core host) up to this long leaves no gap in what the caller hears; a
barge-in's ``clear`` drops the buffered lead at once, so interrupting is as quick as without."""


@dataclass(frozen=True)
class BargeIn:
    """The caller interrupted a prompt."""

    via: str
    """"speech" or "dtmf"."""
    played_ms: int
    """Prompt audio sent before the interruption."""
    clear_ms: float
    """Time from noticing the interruption to ``clear`` on the wire."""


@dataclass(frozen=True)
class TurnResult:
    """What the caller did at this wait."""

    event: ev.Event
    barge_in: BargeIn | None
    recognition: Recognition | None


class SpeechTurn:
    """Plays prompts and listens for one answer; fed by the session's socket reader."""

    def __init__(
        self,
        *,
        listen: act.Listen,
        prompt_frames: Sequence[bytes],
        stream_sid: str,
        send: Send,
        engine: SpeechEngine,
        clock: Clock,
    ) -> None:
        """Serve ``listen`` with ``prompt_frames`` (μ-law, 20 ms each) sent through ``send``."""
        self._listen = listen
        self._frames = prompt_frames
        self._stream_sid = stream_sid
        self._send = send
        self._engine = engine
        self._clock = clock
        self._mark = f"prompt-end:{listen.turn}"
        self._endpointer = Endpointer()
        self._pre_roll: deque[bytes] = deque(maxlen=PRE_ROLL_FRAMES)
        self._utterance: Utterance | None = None
        self._digits = ""
        self._player: asyncio.Task[None] | None = None
        self._played_frames = 0
        self._play_started: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._barge_in: BargeIn | None = None
        self._done: asyncio.Future[TurnResult] = asyncio.get_running_loop().create_future()
        self._ended_at = 0.0
        self._recognizing = False
        self._recognizer: asyncio.Task[None] | None = None

    @property
    def mark_name(self) -> str:
        """The mark sent after the last prompt frame."""
        return self._mark

    async def run(self) -> TurnResult:
        """Play, listen, and return what the caller did (cancel the task to abandon it)."""
        self._player = asyncio.create_task(self._play(), name=f"prompt-player:{self._mark}")
        try:
            return await asyncio.shield(self._done)
        finally:
            await self._stop()

    async def on_media(self, payload: bytes) -> None:
        """A 20 ms frame of the caller's audio."""
        if self._done.done():
            return
        pcm = mulaw_decode(payload).astype("<i2").tobytes()
        change = self._endpointer.push(pcm)
        if self._recognizing:
            return  # the answer is being decoded; what follows belongs to no question yet
        if self._utterance is None:
            self._pre_roll.append(pcm)
            if change == "speech_started":
                await self._speech_started()
            return
        self._utterance.feed(pcm)
        if change == "speech_ended":
            self._ended_at = asyncio.get_running_loop().time()
            utterance, self._utterance = self._utterance, None
            self._recognizing = True
            self._recognizer = asyncio.create_task(self._recognize(utterance), name="recognize")

    async def on_dtmf(self, digit: str) -> None:
        """A key the caller pressed."""
        if self._done.done():
            return
        await self._interrupt("dtmf")
        self._cancel_timer()
        if self._utterance is not None:
            utterance, self._utterance = self._utterance, None
            await utterance.cancel()  # the keypad wins over half-said words
        if self._listen.finish_on_key and digit == self._listen.finish_on_key:
            self._decide(ev.DigitsEntered(self._clock(), self._digits))
            return
        self._digits += digit
        if len(self._digits) >= (self._listen.num_digits or 1):
            self._decide(ev.DigitsEntered(self._clock(), self._digits))
            return
        self._start_timer()  # the caller has this long for the next key

    def on_mark(self, name: str) -> None:
        """Twilio echoed a mark: the audio before it has played."""
        if name == self._mark and self._utterance is None and not self._digits:
            self._start_timer()

    async def _speech_started(self) -> None:
        self._cancel_timer()
        await self._interrupt("speech")
        grammar = Grammar(
            kind=SPEECH_GRAMMARS.get(self._listen.grammar, "phrases"),
            phrases=self._listen.phrases,
            language=self._listen.language,
        )
        self._utterance = self._engine.utterance(grammar)
        for frame in self._pre_roll:
            self._utterance.feed(frame)
        self._pre_roll.clear()

    async def _recognize(self, utterance: Utterance) -> None:
        try:
            recognition = await utterance.finish()
        except Exception as err:  # a decoder failure fails the turn; the session apologises
            if not self._done.done():
                self._done.set_exception(err)
            return
        if self._done.done():
            return
        decided_ms = (asyncio.get_running_loop().time() - self._ended_at) * 1000
        decision_ms = round(self._endpointer.trailing_silence_ms + decided_ms)
        event = ev.SpeechRecognized(
            self._clock(),
            recognition.transcript,
            recognition.confidence,
            heard=recognition.heard,
            grammar=self._listen.grammar,
            audio_ms=round(recognition.audio_seconds * 1000),
            decision_ms=decision_ms,
        )
        self._decide(event, recognition)

    async def _interrupt(self, via: str) -> None:
        if self._player is None or self._player.done() or self._barge_in is not None:
            return
        noticed = asyncio.get_running_loop().time()
        self._player.cancel()
        await self._send(ms.clear(self._stream_sid))
        clear_ms = (asyncio.get_running_loop().time() - noticed) * 1000
        self._barge_in = BargeIn(via, self._played_ms(noticed), clear_ms)

    async def _play(self) -> None:
        loop = asyncio.get_running_loop()
        start = self._play_started = loop.time()
        for index, frame in enumerate(self._frames):
            delay = start + (index - PLAYOUT_LEAD_FRAMES) * FRAME_SECONDS - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await self._send(ms.media(self._stream_sid, frame))
            self._played_frames = index + 1
        await self._send(ms.mark(self._stream_sid, self._mark))

    def _played_ms(self, now: float) -> int:
        """Prompt audio the caller has heard: what was sent, less the lead still buffered."""
        if self._play_started is None:
            return 0
        elapsed_ms = round((now - self._play_started) * 1000)
        return min(self._played_frames * ms.FRAME_MS, elapsed_ms)

    def _start_timer(self) -> None:
        self._cancel_timer()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self._listen.timeout_seconds, self._timed_out)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        if self._digits:
            self._decide(ev.DigitsEntered(self._clock(), self._digits))
        elif self._utterance is None:
            self._decide(ev.NoInput(self._clock()))

    def _decide(self, event: ev.Event, recognition: Recognition | None = None) -> None:
        if not self._done.done():
            self._done.set_result(TurnResult(event, self._barge_in, recognition))

    async def _stop(self) -> None:
        self._cancel_timer()
        if self._player is not None:
            self._player.cancel()
            # A socket closed under the sender ends the call elsewhere (the reader sees it).
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await self._player
        if self._utterance is not None:
            await self._utterance.cancel()
        if self._recognizer is not None and not self._recognizer.done():
            self._recognizer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recognizer


def prompt_frames(wav_files: Sequence[bytes]) -> list[bytes]:
    """Split cached 8 kHz μ-law WAV prompts into 20 ms frames (the last one padded)."""
    frames: list[bytes] = []
    for wav in wav_files:
        info = parse_wav_header(wav)
        audio = wav[info.data_offset : info.data_offset + info.data_bytes]
        for start in range(0, len(audio), ms.FRAME_BYTES):
            frame = audio[start : start + ms.FRAME_BYTES]
            frames.append(frame.ljust(ms.FRAME_BYTES, b"\xff"))  # 0xFF is μ-law silence
    return frames
