"""The simulator's ``<Connect><Stream>`` against a small media-stream server on real sockets.

The server in this module plays voicedesk's part the way the Media Streams protocol expects:
it checks every signature (webhooks and the websocket handshake) with twilio's own
``RequestValidator`` against its public URL, plays prompts as ``media`` frames paced in real
time followed by a ``mark``, detects the caller's voice by energy, sends ``clear`` when the
caller barges in, and closes the websocket to hand the call back to TwiML.
"""

from __future__ import annotations

import argparse
import asyncio
import builtins
import io
import json
import re
import wave
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Connect, VoiceResponse

from telephony import media_stream as ms
from telephony.mulaw import mulaw_decode, mulaw_encode
from telephony.simulator import cli
from telephony.simulator.caller import place_call
from telephony.simulator.scenario import CallerConfig
from telephony.simulator.transcript import (
    CallerSpoke,
    CallTranscript,
    DtmfSent,
    Heard,
    HungUp,
    MarkEchoed,
    Noted,
    PlaybackCleared,
    SimulationError,
    StreamClosed,
    StreamHeard,
    StreamOpened,
)

PUBLIC = "https://ivr.example.com"
STREAM_URL = "wss://ivr.example.com/twilio/media"
TOKEN = "0123456789abcdef0123456789abcdef"
ACCOUNT = "AC" + "2" * 32
VOICE_RMS = 300.0
"""The server's voice detector: a frame louder than this (RMS, 16-bit scale) is voice."""

T = TypeVar("T")
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]
Conversation = Callable[["Line"], Awaitable[None]]


def tone(seconds: float, hz: float = 440.0) -> bytes:
    """A prompt: μ-law audio of a tone."""
    t = np.arange(int(8000 * seconds)) / 8000
    return mulaw_encode((6000 * np.sin(2 * np.pi * hz * t)).astype(np.int16))


def rms(frame: bytes) -> float:
    samples = mulaw_decode(frame).astype(np.float64)
    return float(np.sqrt(np.mean(samples * samples)))


@dataclass
class Line:
    """The server's end of one stream: what arrived, and the primitives a test plays with."""

    ws: web.WebSocketResponse
    loop: asyncio.AbstractEventLoop
    messages: list[tuple[float, ms.InboundMessage]] = field(default_factory=list)
    raw: list[dict[str, object]] = field(default_factory=list)
    playing: bool = False
    barge_in: bool = True
    voice_onsets: list[float] = field(default_factory=list)
    cleared_at: list[float] = field(default_factory=list)
    last_voice: float = 0.0
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def stream_sid(self) -> str:
        return next(m.stream_sid for _, m in self.messages if isinstance(m, ms.Start))

    def of_type(self, kind: type[T]) -> list[T]:
        return [message for _, message in self.messages if isinstance(message, kind)]

    async def read(self) -> None:
        async for message in self.ws:
            self.raw.append(json.loads(message.data))
            parsed = ms.parse_inbound(message.data)
            assert parsed is not None, message.data
            now = self.loop.time()
            self.messages.append((now, parsed))
            if isinstance(parsed, ms.Media) and rms(parsed.payload) > VOICE_RMS:
                await self._voice(now)
            self._changed.set()

    async def _voice(self, now: float) -> None:
        if now - self.last_voice > 0.2:
            self.voice_onsets.append(now)
            if self.playing and self.barge_in:
                self.playing = False
                self.cleared_at.append(now)
                await self.ws.send_str(ms.clear(self.stream_sid))
        self.last_voice = now

    async def until(self, condition: Callable[[], bool], within: float = 10.0) -> None:
        async with asyncio.timeout(within):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    async def play(self, audio: bytes, mark: str) -> None:
        """Send a prompt in real time, then a mark; returns when it came back or was cut."""
        await self.until(lambda: bool(self.of_type(ms.Start)))
        self.playing = True
        first = self.loop.time()
        for index in range(0, len(audio), ms.FRAME_BYTES):
            if not self.playing:
                break
            await self.ws.send_str(ms.media(self.stream_sid, audio[index : index + ms.FRAME_BYTES]))
            await asyncio.sleep(
                max(0.0, first + (index // ms.FRAME_BYTES + 1) * 0.02 - self.loop.time())
            )
        if not self.playing:
            return  # barged in on: cleared before the mark was due
        await self.ws.send_str(ms.mark(self.stream_sid, mark))
        await self.until(lambda: any(m.name == mark for m in self.of_type(ms.Mark)))
        self.playing = False

    async def speech_ended(self, quiet: float = 0.4) -> None:
        await self.until(lambda: bool(self.voice_onsets))
        await self.until(lambda: self.loop.time() - self.last_voice > quiet)

    async def keys(self, count: int) -> str:
        await self.until(lambda: len(self.of_type(ms.Dtmf)) >= count)
        return "".join(d.digit for d in self.of_type(ms.Dtmf))


@dataclass
class VoiceServer:
    """Webhook pages by path, the stream's conversation, and what arrived."""

    pages: dict[str, str]
    conversation: Conversation
    url: str = ""
    forms: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)
    handshakes: list[dict[str, str]] = field(default_factory=list)


def connect_twiml(action: str | None = "/twilio/stream-ended?turn=3", then: str = "") -> str:
    response = VoiceResponse()
    connect = Connect(action=action, method="POST") if action else Connect()
    stream = connect.stream(url=STREAM_URL)
    stream.parameter(name="token", value="v1.tok3n")
    response.append(connect)
    if then:
        response.say(then)
    return str(response)


def bye() -> str:
    response = VoiceResponse()
    response.say("Goodbye.")
    response.hangup()
    return str(response)


@pytest.fixture
async def voice_server(aiohttp_server: ServerFactory) -> VoiceServer:
    server = VoiceServer(pages={}, conversation=lambda line: line.ws.close())  # type: ignore[arg-type,return-value]
    validator = RequestValidator(TOKEN)

    async def webhook(request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        if not validator.validate(
            PUBLIC + request.raw_path, form, request.headers["X-Twilio-Signature"]
        ):
            raise web.HTTPForbidden()
        server.forms.setdefault(request.path, []).append(form)
        return web.Response(text=server.pages.get(request.path, ""), content_type="text/xml")

    async def media(request: web.Request) -> web.WebSocketResponse:
        signature = request.headers.get("X-Twilio-Signature", "")
        if not validator.validate(STREAM_URL, {}, signature):
            raise web.HTTPForbidden()
        server.handshakes.append(dict(request.headers))
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        line = Line(ws, asyncio.get_running_loop())
        server.lines.append(line)
        reader = asyncio.create_task(line.read())
        try:
            await server.conversation(line)
        finally:
            await ws.close()
            await asyncio.wait_for(reader, 5)
        return ws

    app = web.Application()
    app.router.add_get("/twilio/media", media)
    app.router.add_post("/{tail:.*}", webhook)
    started = await aiohttp_server(app)
    server.url = str(started.make_url("")).rstrip("/")
    return server


async def call(server: VoiceServer, *script: str, **scenario: object) -> CallTranscript:
    config = CallerConfig(
        server_url=server.url,
        public_url=PUBLIC,
        account_sid=ACCOUNT,
        auth_token=TOKEN,
        digits=script,
        **scenario,  # type: ignore[arg-type]
    )
    return await place_call(config)


# --- the protocol, as Twilio speaks it ----------------------------------------------------------


async def test_stream_opens_signed_and_speaks_twilios_protocol(voice_server: VoiceServer) -> None:
    async def conversation(line: Line) -> None:
        await line.play(tone(0.3), "p1")
        await line.until(lambda: len(line.of_type(ms.Media)) >= 40)

    voice_server.conversation = conversation
    voice_server.pages |= {"/twilio/voice": connect_twiml(), "/twilio/stream-ended": bye()}

    transcript = await call(voice_server, "-")

    (line,) = voice_server.lines
    assert voice_server.handshakes[0]["User-Agent"] == "Twilio.TmeWs/1.0"
    assert line.raw[0] == {"event": "connected", "protocol": "Call", "version": "1.0.0"}
    start = line.of_type(ms.Start)[0]
    assert start.call_sid == transcript.call_sid
    assert start.account_sid == ACCOUNT
    assert dict(start.custom_parameters) == {"token": "v1.tok3n"}
    assert re.fullmatch(r"MZ[0-9a-f]{32}", start.stream_sid)
    assert (start.tracks, start.encoding, start.sample_rate) == (
        ("inbound",),
        "audio/x-mulaw",
        8000,
    )
    sequence = [int(str(message["sequenceNumber"])) for message in line.raw[1:]]
    assert sequence == list(range(1, len(sequence) + 1))
    frames = line.of_type(ms.Media)
    assert [f.chunk for f in frames] == list(range(1, len(frames) + 1))
    assert [f.timestamp_ms for f in frames] == [20 * i for i in range(len(frames))]
    assert all(f.payload == b"\xff" * 160 for f in frames)  # a silent caller: μ-law silence
    (opened,) = transcript.of_type(StreamOpened)
    assert (opened.url, opened.stream_sid, dict(opened.parameters)) == (
        STREAM_URL,
        start.stream_sid,
        {"token": "v1.tok3n"},
    )


async def test_caller_frames_are_paced_in_real_time(voice_server: VoiceServer) -> None:
    async def conversation(line: Line) -> None:
        await line.until(lambda: len(line.of_type(ms.Media)) >= 101)

    voice_server.conversation = conversation
    voice_server.pages |= {"/twilio/voice": connect_twiml(), "/twilio/stream-ended": bye()}

    await call(voice_server)

    (line,) = voice_server.lines
    times = [at for at, message in line.messages if isinstance(message, ms.Media)]
    assert times[100] - times[0] == pytest.approx(2.0, abs=0.06)  # 100 frames: 2 s, no drift
    gaps = np.diff(times[:101])
    assert float(np.median(gaps)) == pytest.approx(0.02, abs=0.003)


async def test_server_closing_the_stream_posts_the_signed_connect_action(
    voice_server: VoiceServer,
) -> None:
    async def conversation(line: Line) -> None:
        await line.play(tone(0.4), "menu")
        assert await line.keys(2) == "12"

    voice_server.conversation = conversation
    voice_server.pages |= {"/twilio/voice": connect_twiml(), "/twilio/stream-ended": bye()}

    transcript = await call(voice_server, "12")

    (form,) = voice_server.forms["/twilio/stream-ended"]
    assert (form["CallSid"], form["CallStatus"], form["Direction"]) == (
        transcript.call_sid,
        "in-progress",
        "inbound",
    )
    (pressed,) = transcript.of_type(DtmfSent)
    assert pressed.keys == "12"
    (line,) = voice_server.lines
    (heard,) = transcript.of_type(StreamHeard)
    assert heard.heard_ms == 400 and not heard.cleared
    dtmf_at = [at for at, m in line.messages if isinstance(m, ms.Dtmf)]
    assert 0.08 < dtmf_at[1] - dtmf_at[0] < 0.25  # a person's pace between keys
    (closed,) = transcript.of_type(StreamClosed)
    assert closed.by == "server"
    assert isinstance(transcript.ending, HungUp) and transcript.ending.by == "server"
    assert transcript.final_status == "completed"


async def test_without_action_the_call_goes_on_with_the_next_verb(
    voice_server: VoiceServer,
) -> None:
    voice_server.pages |= {"/twilio/voice": connect_twiml(action=None, then="After the stream.")}

    transcript = await call(voice_server)

    assert "/twilio/stream-ended" not in voice_server.forms
    assert [step.by for step in transcript.of_type(StreamClosed)] == ["server"]
    assert transcript.of_type(Heard)[-1].text == "After the stream."
    assert transcript.ending == HungUp("server", "end of the TwiML document")


# --- marks and playback -------------------------------------------------------------------------


async def test_mark_comes_back_after_the_audio_before_it_has_played(
    voice_server: VoiceServer,
) -> None:
    sent: list[float] = []

    async def conversation(line: Line) -> None:
        await line.until(lambda: bool(line.of_type(ms.Start)))
        sent.append(line.loop.time())
        await line.ws.send_str(ms.media(line.stream_sid, tone(1.0)))  # all at once
        await line.ws.send_str(ms.mark(line.stream_sid, "after-1s"))
        await line.until(lambda: bool(line.of_type(ms.Mark)))
        await line.ws.send_str(ms.mark(line.stream_sid, "idle"))  # nothing queued: at once
        await line.until(lambda: len(line.of_type(ms.Mark)) == 2)

    voice_server.conversation = conversation
    voice_server.pages |= {"/twilio/voice": connect_twiml(), "/twilio/stream-ended": bye()}

    transcript = await call(voice_server, "-")

    (line,) = voice_server.lines
    marks = [(at, m.name) for at, m in line.messages if isinstance(m, ms.Mark)]
    assert [name for _, name in marks] == ["after-1s", "idle"]
    assert marks[0][0] - sent[0] == pytest.approx(1.0, abs=0.06)  # played in real time
    assert [(m.name, m.cleared) for m in transcript.of_type(MarkEchoed)] == [
        ("after-1s", False),
        ("idle", False),
    ]


async def test_clear_drops_queued_audio_and_sends_waiting_marks_back_at_once(
    voice_server: VoiceServer,
) -> None:
    async def conversation(line: Line) -> None:
        await line.until(lambda: bool(line.of_type(ms.Start)))
        await line.ws.send_str(ms.media(line.stream_sid, tone(2.0)))  # queued ahead
        await line.ws.send_str(ms.mark(line.stream_sid, "end-of-menu"))
        await asyncio.sleep(0.5)
        cleared_at = line.loop.time()
        await line.ws.send_str(ms.clear(line.stream_sid))
        await line.until(lambda: bool(line.of_type(ms.Mark)))
        assert line.messages[-1][0] - cleared_at < 0.05

    voice_server.conversation = conversation
    voice_server.pages |= {"/twilio/voice": connect_twiml(), "/twilio/stream-ended": bye()}

    transcript = await call(voice_server, "-")

    (cleared,) = transcript.of_type(PlaybackCleared)
    assert cleared.marks == ("end-of-menu",)
    assert 1400 <= cleared.dropped_ms <= 1560
    assert (cleared.onset_to_clear_ms, cleared.onset_to_clear_frames) == (None, None)
    (heard,) = transcript.of_type(StreamHeard)
    assert heard.cleared and heard.heard_ms + cleared.dropped_ms == 2000
    assert [(m.name, m.cleared) for m in transcript.of_type(MarkEchoed)] == [("end-of-menu", True)]


# --- the caller speaks ----------------------------------------------------------------------------


async def test_caller_speaks_after_the_prompt_has_played(voice_server: VoiceServer) -> None:
    async def conversation(line: Line) -> None:
        await line.play(tone(0.5), "menu")
        await line.speech_ended()

    voice_server.conversation = conversation
    voice_server.pages |= {"/twilio/voice": connect_twiml(), "/twilio/stream-ended": bye()}

    transcript = await call(voice_server, "say:상담원 연결")

    (line,) = voice_server.lines
    mark_at = next(at for at, m in line.messages if isinstance(m, ms.Mark))
    assert 0.25 < line.voice_onsets[0] - mark_at < 0.6  # the caller's reaction time
    (spoke,) = transcript.of_type(CallerSpoke)
    assert (spoke.text, spoke.barge_in) == ("상담원 연결", False)
    assert 0.5 < spoke.seconds < 3.0
    assert not transcript.of_type(PlaybackCleared)


async def test_barge_in_clears_playback_within_one_frame_of_onset(
    voice_server: VoiceServer,
) -> None:
    async def conversation(line: Line) -> None:
        await line.play(tone(4.0), "menu")
        await line.speech_ended()
        await line.play(tone(0.3, 660), "confirm")

    voice_server.conversation = conversation
    voice_server.pages |= {"/twilio/voice": connect_twiml(), "/twilio/stream-ended": bye()}

    transcript = await call(voice_server, "say@700:상담원", "-")

    (spoke,) = transcript.of_type(CallerSpoke)
    assert spoke.barge_in
    (cleared,) = transcript.of_type(PlaybackCleared)
    assert cleared.onset_to_clear_frames is not None and cleared.onset_to_clear_frames <= 1
    assert cleared.onset_to_clear_ms is not None and cleared.onset_to_clear_ms < 40
    first, second = transcript.of_type(StreamHeard)
    assert first.cleared and 700 <= first.heard_ms < 900
    assert (second.prompt, second.heard_ms, second.cleared) == (2, 300, False)
    assert [(m.name, m.cleared) for m in transcript.of_type(MarkEchoed)] == [("confirm", False)]
    kinds = [type(s) for s in transcript.steps if isinstance(s, CallerSpoke | PlaybackCleared)]
    assert kinds == [CallerSpoke, PlaybackCleared]


async def test_play_entry_streams_a_wav_file_at_any_rate(
    voice_server: VoiceServer, tmp_path: Path
) -> None:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        t = np.arange(16000) / 16000
        voice = (8000 * np.sin(2 * np.pi * 300 * t)).astype("<i2")
        wav.writeframes(np.repeat(voice, 2).tobytes())
    recording = tmp_path / "hello.wav"
    await asyncio.to_thread(recording.write_bytes, buffer.getvalue())

    async def conversation(line: Line) -> None:
        await line.play(tone(0.2), "menu")
        await line.speech_ended()

    voice_server.conversation = conversation
    voice_server.pages |= {"/twilio/voice": connect_twiml(), "/twilio/stream-ended": bye()}

    transcript = await call(voice_server, f"play:{recording}")

    (spoke,) = transcript.of_type(CallerSpoke)
    assert (spoke.path, spoke.text, spoke.seconds) == (str(recording), None, 1.0)
    (line,) = voice_server.lines
    loud = [m for m in line.of_type(ms.Media) if rms(m.payload) > VOICE_RMS]
    assert len(loud) == 50  # 1 s of 16 kHz stereo arrived as 50 frames of 8 kHz μ-law


# --- the call's end ---------------------------------------------------------------------------


async def test_script_running_out_on_a_stream_hangs_up_with_stop(voice_server: VoiceServer) -> None:
    async def conversation(line: Line) -> None:
        await line.play(tone(0.3), "menu")
        await line.until(lambda: bool(line.of_type(ms.Stop)))

    voice_server.conversation = conversation
    voice_server.pages |= {"/twilio/voice": connect_twiml(), "/twilio/stream-ended": bye()}

    transcript = await call(voice_server)

    (line,) = voice_server.lines
    (stop,) = line.of_type(ms.Stop)
    assert stop.call_sid == transcript.call_sid
    assert line.raw[-1]["event"] == "stop"  # nothing after stop
    assert "/twilio/stream-ended" not in voice_server.forms  # the call is over: no action
    (status,) = voice_server.forms["/twilio/status"]
    assert status["CallStatus"] == "completed"
    ending = transcript.ending
    assert isinstance(ending, HungUp) and ending.by == "caller"
    assert "script ran out at stream prompt 1 (Response/Connect[1]/Stream[1])" in ending.reason
    assert transcript.of_type(StreamClosed)[0].by == "caller"


async def test_caller_hangs_up_when_no_prompt_comes(voice_server: VoiceServer) -> None:
    async def conversation(line: Line) -> None:
        await line.until(lambda: bool(line.of_type(ms.Stop)))

    voice_server.conversation = conversation
    voice_server.pages |= {"/twilio/voice": connect_twiml()}

    transcript = await call(voice_server, "1", stream_patience_seconds=0.3)

    ending = transcript.ending
    assert isinstance(ending, HungUp)
    assert ending.reason == "heard nothing on the stream for 0.3 s; caller hung up"


# --- what Twilio would not accept ----------------------------------------------------------------


async def _refused(server: VoiceServer, *script: str) -> SimulationError:
    with pytest.raises(SimulationError) as caught:
        await call(server, *script)
    return caught.value


async def test_unreadable_server_message_stops_the_call(voice_server: VoiceServer) -> None:
    async def conversation(line: Line) -> None:
        await line.until(lambda: bool(line.of_type(ms.Start)))
        await line.ws.send_str(json.dumps({"event": "media", "streamSid": line.stream_sid}))
        await line.until(lambda: False, within=2)

    voice_server.conversation = conversation
    voice_server.pages |= {"/twilio/voice": connect_twiml()}

    error = await _refused(voice_server)

    assert error.reason.startswith("stream: the server sent a message Twilio cannot read:")
    assert any(isinstance(step, StreamOpened) for step in error.steps)


async def test_message_for_another_stream_stops_the_call(voice_server: VoiceServer) -> None:
    async def conversation(line: Line) -> None:
        await line.until(lambda: bool(line.of_type(ms.Start)))
        await line.ws.send_str(ms.clear("MZ" + "0" * 32))
        await line.until(lambda: False, within=2)

    voice_server.conversation = conversation
    voice_server.pages |= {"/twilio/voice": connect_twiml()}

    error = await _refused(voice_server)

    assert "a Clear for stream 'MZ000" in error.reason


async def test_stream_outside_the_public_url_cannot_be_reached(voice_server: VoiceServer) -> None:
    twiml = connect_twiml().replace(STREAM_URL, "wss://elsewhere.example.com/media")
    voice_server.pages |= {"/twilio/voice": twiml}

    error = await _refused(voice_server)

    assert error.reason.startswith("stream: wss://elsewhere.example.com/media is outside")


async def test_bad_handshake_signature_is_refused_by_the_server(voice_server: VoiceServer) -> None:
    # Signed over the URL with its query; the server checks the URL without: a bad signature.
    twiml = connect_twiml().replace("/twilio/media", "/twilio/media?x=1")
    voice_server.pages |= {"/twilio/voice": twiml}

    error = await _refused(voice_server)

    assert error.reason.endswith("refused the websocket handshake: HTTP 403")


async def test_espeak_voice_that_does_not_exist_stops_the_call(voice_server: VoiceServer) -> None:
    async def conversation(line: Line) -> None:
        await line.play(tone(0.2), "menu")
        await line.until(lambda: False, within=5)

    voice_server.conversation = conversation
    voice_server.pages |= {"/twilio/voice": connect_twiml()}

    with pytest.raises(SimulationError) as caught:
        await call(voice_server, "say:hello", voice="xx-nonexistent")

    assert "espeak-ng -v xx-nonexistent failed" in caught.value.reason


# --- the terminal ---------------------------------------------------------------------------------


@pytest.fixture
def call_parser() -> argparse.ArgumentParser:
    """Built outside the event loop, as the entry point does (argparse reads locale files)."""
    parser = argparse.ArgumentParser(prog="voicedesk call")
    cli.add_call_arguments(parser)
    parser.set_defaults(account_sid=ACCOUNT, auth_token=TOKEN)
    return parser


async def test_cli_says_and_tells_the_stream_as_it_happens(
    voice_server: VoiceServer, call_parser: argparse.ArgumentParser
) -> None:
    async def conversation(line: Line) -> None:
        await line.play(tone(2.0), "menu")
        await line.speech_ended()
        await line.play(tone(0.2), "bye")

    voice_server.conversation = conversation
    voice_server.pages |= {"/twilio/voice": connect_twiml(), "/twilio/stream-ended": bye()}
    args = call_parser.parse_args(
        ["--url", voice_server.url, "--public-url", PUBLIC, "--input", "say@500:네", "--digits=-"]
    )
    lines: list[str] = []

    code = await cli.run_from_args(args, out=lines.append)

    assert code == 0
    assert "stream opened: /twilio/media (parameters: token)" in lines
    assert any(
        re.fullmatch(r'\[0\.\d\d\] caller says "네" \(\d\.\d s, barging in\)', x) for x in lines
    )
    cleared = next(x for x in lines if "playback cleared" in x)
    assert re.search(r"\d+ ms \([01] frame\(s\)\) after the caller began to speak", cleared)
    assert any(re.fullmatch(r"\[\d\.\d\d\] stream closed by the server \(.*\)", x) for x in lines)


async def test_say_at_a_keypad_gather_is_silence_and_noted(voice_server: VoiceServer) -> None:
    response = VoiceResponse()
    response.gather(num_digits=1, action="/twilio/gather", timeout=3).say("Press 1.")
    response.say("Nothing pressed.")
    voice_server.pages |= {"/twilio/voice": str(response)}

    transcript = await call(voice_server, "say:상담원")

    (note,) = transcript.of_type(Noted)
    assert note.note == (
        "caller answered by saying '상담원'; a keypad menu hears no keys in speech: silence"
    )
    assert "/twilio/gather" not in voice_server.forms


async def test_cli_asks_at_each_stream_prompt_and_says_plain_text(
    voice_server: VoiceServer,
    call_parser: argparse.ArgumentParser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def conversation(line: Line) -> None:
        await line.play(tone(0.3), "menu")
        await line.speech_ended()
        await line.play(tone(0.2), "anything-else")
        await line.until(lambda: bool(line.of_type(ms.Stop)))

    voice_server.conversation = conversation
    voice_server.pages |= {"/twilio/voice": connect_twiml()}
    typed = iter(["잔액 조회"])

    def terminal(_prompt: str) -> str:
        try:
            return next(typed)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr(builtins, "input", terminal)
    args = call_parser.parse_args(["--url", voice_server.url, "--public-url", PUBLIC])
    lines: list[str] = []

    code = await cli.run_from_args(args, out=lines.append)

    assert code == 0
    assert (
        lines.count(
            "stream prompt 1 playing: keys, '-' for silence, text to say when it ends, "
            "say@MS:TEXT to barge in, play:PATH; Ctrl-D hangs up"
        )
        == 1
    )
    assert any(re.fullmatch(r'\[\d\.\d\d\] caller says "잔액 조회" \(.*\)', x) for x in lines)
    assert any(
        x.endswith("(caller hung up at stream prompt 2 (Response/Connect[1]/Stream[1]))")
        for x in lines
    )
