"""``/twilio/media``: the bidirectional Media Streams websocket of speech-enabled calls.

A session admits the stream (signed token, capacity), then serves the call's waits one after
another: each :class:`~web.speech_turn.SpeechTurn` plays and listens, and its answer steps the
call through the same :class:`~calls.service.CallService` as the webhooks. While the next wait is
a speech wait the stream goes on; otherwise the session closes the socket and Twilio fetches the
``<Connect>`` action, which replays the TwiML the last step stored (queue, transfer, keypad
menu, hang-up). Nothing about the call lives only here: the state row is the truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Final

from aiohttp import WSMessage, WSMsgType, web

from calls.service import CallService, Wait
from config.limits import MEDIA_STREAM_MESSAGE_BYTES
from speech.admission import SpeechAdmission
from speech.listening import SpeechEngine
from telephony import media_stream as ms
from telephony import stream_token
from web import outage
from web.keys import ADMISSION, CALLS, JOURNAL, SETTINGS, SPEECH, VOICE
from web.speech_turn import SpeechTurn, TurnResult, prompt_frames
from web.voice import VoiceRenderer

log = logging.getLogger(__name__)

START_TIMEOUT_SECONDS: Final = 10.0
"""Twilio sends ``connected`` and ``start`` right after the handshake; a socket that has not
started by then is not Twilio (or is broken) and must not hold a connection open."""


@dataclass
class StreamStats:
    """What one stream carried, recorded when it ends."""

    media_frames: int = 0
    malformed: int = 0
    turns: int = 0
    barge_ins: int = 0
    outcome: str = "closed"
    notes: list[str] = field(default_factory=list)


class CallerGoneError(Exception):
    """The stream stopped (the caller hung up, or Twilio ended the stream)."""


class MediaSession:
    """One media stream of one call."""

    def __init__(self, request: web.Request, ws: web.WebSocketResponse) -> None:
        """Serve the stream on ``ws`` with the application's services."""
        app = request.app
        self._ws = ws
        self._calls: CallService = app[CALLS]
        self._journal = app[JOURNAL]
        self._voice: VoiceRenderer = app[VOICE]
        self._engine: SpeechEngine = app[SPEECH]
        self._admission: SpeechAdmission = app[ADMISSION]
        self._secret = app[SETTINGS].twilio_auth_token.get_secret_value()
        self._stats = StreamStats()
        self._turn: SpeechTurn | None = None
        self._gone = asyncio.Event()
        self._start: ms.Start | None = None
        self._first_wait: Wait | None = None

    async def run(self) -> None:
        """Serve the stream until the call leaves speech or the caller hangs up."""
        start = await self._await_start()
        if start is None:
            return
        self._start = start
        call_sid = start.call_sid
        if not await self._admit(start):
            return
        reader = asyncio.create_task(self._read(), name=f"media-reader:{call_sid}")
        try:
            await self._serve(call_sid)
        except CallerGoneError:
            self._stats.outcome = "caller_gone"
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await reader
            self._admission.close(call_sid)
            await self._record_end(call_sid)

    async def _await_start(self) -> ms.Start | None:
        try:
            async with asyncio.timeout(START_TIMEOUT_SECONDS):
                async for message in self._ws:
                    parsed = self._parse(message)
                    if isinstance(parsed, ms.Start):
                        return parsed
        except TimeoutError:
            log.warning("media stream sent no start within %.0f s", START_TIMEOUT_SECONDS)
        return None

    async def _admit(self, start: ms.Start) -> bool:
        token = start.custom_parameters.get(stream_token.TOKEN_PARAMETER)
        grant = stream_token.verify(self._secret, token, start.call_sid, self._calls.clock())
        if grant is None:
            # Unauthenticated: anyone can open this socket and name a CallSid, so a refused
            # token writes nothing (as a forged webhook writes nothing); the log keeps it.
            await self._refuse(start, "missing, forged or expired stream token", record=False)
            return False
        if not self._admission.open(start.call_sid):
            await self._refuse(start, "speech capacity full at stream start")
            return False
        wait = await self._calls.current_wait(start.call_sid)
        if wait is None or wait.listen.turn != grant.turn or not wait.listen.speech:
            self._admission.close(start.call_sid)
            await self._refuse(start, "the call is no longer at the wait this stream was for")
            return False
        self._first_wait = wait
        return True

    async def _serve(self, call_sid: str) -> None:
        wait: Wait | None = self._first_wait
        while wait is not None:
            result = await self._run_turn(wait)
            renderer = self._voice.for_call(call_sid, streaming=True)
            try:
                await self._calls.advance(call_sid, result.event, wait.listen.turn, renderer)
            except Exception as err:  # the caller must hear an apology, not silence
                log.exception("call %s: stream turn failed", call_sid)
                await self._calls.fail(call_sid, f"{type(err).__name__} in media stream", renderer)
                return
            await self._record_turn(call_sid, wait, result)
            if renderer.stream_turn is None:
                return  # the next step is not a speech wait: hand back to TwiML
            wait = await self._calls.current_wait(call_sid)
            if wait is None or wait.listen.turn != renderer.stream_turn:
                return

    async def _run_turn(self, wait: Wait) -> TurnResult:
        assert self._start is not None
        audio = []
        synthesizer = self._voice.synthesizer
        for prompt in wait.prompts:
            key = await synthesizer.render(prompt.text, prompt.language)
            wav = await synthesizer.read(key)
            if wav is not None:
                audio.append(wav)
        turn = SpeechTurn(
            listen=wait.listen,
            prompt_frames=prompt_frames(audio),
            stream_sid=self._start.stream_sid,
            send=self._ws.send_str,
            engine=self._engine,
            clock=self._calls.clock,
        )
        self._turn = turn
        self._stats.turns += 1
        running = asyncio.create_task(turn.run(), name=f"speech-turn:{wait.listen.turn}")
        gone = asyncio.create_task(self._gone.wait())
        try:
            await asyncio.wait({running, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            self._turn = None
        if not running.done():
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            raise CallerGoneError
        return running.result()

    async def _read(self) -> None:
        try:
            async for message in self._ws:
                parsed = self._parse(message)
                if isinstance(parsed, ms.Stop):
                    break
                await self._dispatch(parsed)
        finally:
            self._gone.set()

    async def _dispatch(self, parsed: ms.InboundMessage | None) -> None:
        turn = self._turn
        match parsed:
            case ms.Media():
                self._stats.media_frames += 1
                if turn is not None:
                    await turn.on_media(parsed.payload)
            case ms.Dtmf() if turn is not None:
                await turn.on_dtmf(parsed.digit)
            case ms.Mark() if turn is not None:
                turn.on_mark(parsed.name)
            case _:
                pass

    def _parse(self, message: WSMessage) -> ms.InboundMessage | None:
        if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
            return None
        parsed = ms.parse_inbound(message.data)
        if parsed is None:
            self._stats.malformed += 1
        return parsed

    async def _refuse(self, start: ms.Start, reason: str, *, record: bool = True) -> None:
        log.warning("call %r: media stream refused: %s", start.call_sid, reason)
        self._stats.outcome = "refused"
        if not record:
            return
        await self._note(
            start.call_sid,
            "media_stream_refused",
            {"stream_sid": start.stream_sid, "reason": reason},
        )

    async def _record_turn(self, call_sid: str, wait: Wait, result: TurnResult) -> None:
        if result.barge_in is None:
            return
        self._stats.barge_ins += 1
        barge = result.barge_in
        await self._note(
            call_sid,
            "barge_in",
            {
                "node": wait.listen.node,
                "turn": wait.listen.turn,
                "via": barge.via,
                "played_ms": barge.played_ms,
                "clear_ms": round(barge.clear_ms, 2),
            },
            key=f"barge_in:{wait.listen.turn}",
        )

    async def _record_end(self, call_sid: str) -> None:
        assert self._start is not None
        stats = self._stats
        await self._note(
            call_sid,
            "media_stream_ended",
            {
                "stream_sid": self._start.stream_sid,
                "outcome": stats.outcome,
                "turns": stats.turns,
                "media_frames": stats.media_frames,
                "malformed_messages": stats.malformed,
                "barge_ins": stats.barge_ins,
            },
            key=f"stream_ended:{self._start.stream_sid}",
        )

    async def _note(
        self, call_sid: str, what: str, details: dict[str, object], key: str | None = None
    ) -> None:
        entry = outage.note_entry(call_sid, what, details, key, self._calls.clock())
        try:
            # Written now, or journaled (database down) and replayed when it is back.
            await self._journal.submit(outage.CALL_NOTE, entry)
        except Exception:  # an unknown CallSid or a full disk must not kill the socket
            log.exception("call %s: could not record %s %s", call_sid, what, details)


async def media_stream(request: web.Request) -> web.WebSocketResponse:
    """The websocket Twilio opens for ``<Connect><Stream>``."""
    ws = web.WebSocketResponse(max_msg_size=MEDIA_STREAM_MESSAGE_BYTES)
    await ws.prepare(request)
    if ADMISSION not in request.app:  # speech is switched off: no stream is expected
        await ws.close()
        return ws
    try:
        await MediaSession(request, ws).run()
    except Exception:  # last line of defence of the socket: the Connect action takes over
        log.exception("media stream failed")
    finally:
        await ws.close()
    return ws


def routes() -> list[web.RouteDef]:
    """The media stream route."""
    return [web.get("/twilio/media", media_stream)]
