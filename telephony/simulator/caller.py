"""The simulated caller: places one inbound call and follows the TwiML verb by verb, like Twilio.

Behaviour, per Twilio's TwiML voice reference:

- ``<Gather>``: see ``telephony.simulator.gather``; the caller answers with the next script
  entry (or the input provider's answer).
- ``<Dial>``: see ``telephony.simulator.dial`` (a ``<Conference>`` on the simulated network
  meets other legs in real time; anything else ends as the scenario says).
- ``<Enqueue>``: see ``telephony.simulator.queue_wait``.
- ``<Reject>`` as the call's first verb leaves it unanswered (status busy or no-answer).
- ``<Connect><Stream>``: a real websocket in real time (``telephony.simulator.stream``).
- Time is simulated: Pause lengths, Gather timeouts, queue waits are added up, never slept;
  a media stream runs in real time, as audio must, and so do waits for other calls (queue,
  conference) when ``time_scale`` is set.
- On a :class:`~telephony.simulator.network.Network` the call is reachable over the REST
  stand-in: a redirect (``Url``) or ``Status=completed`` is taken before the next verb, or at
  once while the call waits in real time.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import urljoin

import aiohttp

from telephony.simulator.dial import dial
from telephony.simulator.flow import End, GoTo, Transition
from telephony.simulator.gather import gather
from telephony.simulator.live_call import Command, HangUpNow, LiveCall
from telephony.simulator.network import Network
from telephony.simulator.queue_wait import enqueue
from telephony.simulator.scenario import CallerConfig
from telephony.simulator.stream import connect
from telephony.simulator.transcript import (
    CallTranscript,
    Heard,
    HungUp,
    InputProvider,
    InputRequest,
    Noted,
    Paused,
    Rejected,
    SeenDocument,
    SimulationError,
    Step,
    StepListener,
)
from telephony.simulator.twilio_forms import TwilioForms
from telephony.simulator.twilio_http import FetchedDocument, TwilioHttp
from telephony.simulator.twiml_rules import TwimlNode
from telephony.wav import WavFormatError, WavInfo, parse_wav_header

SAY_CHARS_PER_SECOND: Final = 12.5
"""Simulated speaking rate of ``<Say>``: about 150 words a minute (only adds up call time)."""

DTMF_TONE_SECONDS: Final = 0.5
"""Simulated length of one ``<Play digits>`` key; Twilio documents ``w`` as a 0.5 s wait."""

RECORD_TIMEOUT_DEFAULT: Final = 5
"""Seconds: Twilio's documented default ``<Record timeout>``."""


async def place_call(
    config: CallerConfig,
    *,
    input_provider: InputProvider | None = None,
    on_step: StepListener | None = None,
    session: aiohttp.ClientSession | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    network: Network | None = None,
) -> CallTranscript:
    """Place one simulated inbound call against a running voicedesk server.

    Args:
        config: Who calls, where, and the scenario.
        input_provider: Answers each Gather instead of ``config.digits`` (interactive use).
        on_step: Called with each step as it happens (live output).
        session: The HTTP session to use; a private one is opened when omitted.
        clock: Wall-clock time the call starts at (the status callback's ``Timestamp``).
        network: Make the call reachable over the REST stand-in sharing this network (its
            queue waits become queue members, its conferences meet the stand-in's phones).

    Returns:
        The transcript of the call.

    Raises:
        SimulationError: The call could not go on as Twilio would run it; carries the steps
            that happened before.

    """
    if session is None:
        async with aiohttp.ClientSession() as own_session:
            return await place_call(
                config,
                input_provider=input_provider,
                on_step=on_step,
                session=own_session,
                clock=clock,
                network=network,
            )
    live = None
    if network is not None:
        live = network.add_call(
            config.call_sid, to=config.called, from_=config.caller, direction="inbound"
        )
    call = _Call(config, session, input_provider, on_step, network=network, live=live)
    try:
        return await call.run(clock())
    except SimulationError as err:
        err.steps = tuple(call.steps)
        raise
    finally:
        call.finish()


async def answer_call(
    config: CallerConfig,
    *,
    url: str,
    method: str,
    live: LiveCall,
    network: Network,
    session: aiohttp.ClientSession,
    on_step: StepListener | None = None,
) -> CallTranscript:
    """Run an answered call the REST API placed: request ``url`` and follow its TwiML.

    Twilio requests the call's ``Url`` once the called phone answers, with ``Direction``
    ``outbound-api`` and ``CallStatus`` ``in-progress``. The status callbacks are the
    placer's business (``telephony.simulator.outbound``), so none is sent here.

    Args:
        config: The phone's side: its script, and ``direction="outbound-api"``.
        url: The call's ``Url`` (a public URL).
        method: ``GET`` or ``POST``.
        live: The call as the network knows it (REST commands reach it there).
        network: The network it is on.
        session: The HTTP session to use.
        on_step: Called with each step as it happens.

    Raises:
        SimulationError: As for :func:`place_call`.

    """
    call = _Call(config, session, None, on_step, network=network, live=live)
    call.answered = True
    try:
        fetched = await call.fetch(method, url, call.forms.call("in-progress"), "answered call")
        await call.follow_to_end(fetched)
        return call.transcript()
    except SimulationError as err:
        err.steps = tuple(call.steps)
        raise


class _Call:
    """One call in progress: its script, simulated clock and what happened so far."""

    def __init__(
        self,
        config: CallerConfig,
        session: aiohttp.ClientSession,
        input_provider: InputProvider | None,
        on_step: StepListener | None,
        *,
        network: Network | None = None,
        live: LiveCall | None = None,
    ) -> None:
        self.config = config
        self.network = network
        self.live = live
        self.steps: list[Step] = []
        self.documents: list[SeenDocument] = []
        self.elapsed = 0.0
        self.answered = False
        self.final_status = "failed"
        self._script = iter(config.digits)
        self._input = input_provider
        self._on_step = on_step
        self.forms = TwilioForms(config)
        self._http = TwilioHttp(session, config, self.record)
        self.queue_sids: dict[str, str] = {}

    def record(self, step: Step) -> None:
        """Add a step to the transcript, enforcing the loop guard."""
        if len(self.steps) >= self.config.max_steps:
            raise SimulationError(
                f"more than {self.config.max_steps} steps: the TwiML seems to loop forever"
            )
        self.steps.append(step)
        if self._on_step is not None:
            self._on_step(step)

    async def run(self, started_at: datetime) -> CallTranscript:
        """Ring the server, follow its TwiML to the end, send the status callback."""
        voice_url = self.config.base_public_url + self.config.voice_path
        fetched = await self.fetch(
            "POST", voice_url, self.forms.call("ringing"), purpose="incoming call"
        )
        await self.follow_to_end(fetched)
        ended_at = started_at + timedelta(seconds=self.elapsed)
        await self._http.post_status(
            self.config.base_public_url + self.config.status_path,
            self.forms.status(self.final_status, self._duration(), ended_at),
        )
        return self.transcript()

    async def follow_to_end(self, fetched: FetchedDocument) -> None:
        """Follow TwiML from ``fetched`` until the call ends."""
        end = await self._follow(fetched)
        self.record(end.step)
        self.final_status = end.status

    def transcript(self) -> CallTranscript:
        """What the call did so far."""
        return CallTranscript(
            call_sid=self.config.call_sid,
            steps=tuple(self.steps),
            final_status=self.final_status,
            duration_seconds=self._duration(),
            documents=tuple(self.documents),
        )

    def _duration(self) -> int:
        return math.ceil(self.elapsed) if self.answered else 0

    def finish(self) -> None:
        """Mark the call over on the network (a call that failed to simulate as failed)."""
        if self.live is not None and self.network is not None and not self.live.is_over:
            duration = self.elapsed if self.answered else 0
            self.live.end(self.final_status, self.network.clock(), duration)

    async def _follow(self, fetched: FetchedDocument) -> End:
        while True:
            outcome = await self._run_document(fetched)
            if isinstance(outcome, End):
                return outcome
            fetched = outcome.fetched

    async def _run_document(self, fetched: FetchedDocument) -> Transition:
        for verb in fetched.document.verbs:
            command = self.live.take() if self.live is not None else None
            if command is not None:
                return await self.obey(command)
            outcome = await self._run_verb(verb, fetched.url)
            if outcome is not None:
                return outcome
        return End(HungUp("server", "end of the TwiML document"))

    async def obey(self, command: Command) -> Transition:
        """Carry out a REST command: run the TwiML at its URL, or end the call."""
        if isinstance(command, HangUpNow):
            return End(HungUp("server", f"REST API: Status={command.status}"))
        form = self.forms.call("in-progress")
        return GoTo(await self.fetch(command.method, command.url, form, "redirect (REST API)"))

    async def hold(self, seconds: float, *, counted: bool = False) -> bool:
        """Spend simulated ``seconds`` in real time (``time_scale``); True when woken early.

        Args:
            seconds: Simulated seconds to spend.
            counted: They were already added to ``elapsed`` (a prompt that played); when
                woken early, the part not spent is taken back.

        """
        scale = self.config.time_scale
        woke = False
        spent = seconds
        if scale > 0 and seconds > 0:
            loop = asyncio.get_running_loop()
            begun = loop.time()
            if self.live is not None:
                woke = await self.live.sleep(seconds * scale)
            else:
                await asyncio.sleep(seconds * scale)
            if woke:
                spent = min(seconds, (loop.time() - begun) / scale)
        self.elapsed += spent - (seconds if counted else 0)
        return woke or (self.live is not None and self.live.pending is not None)

    async def _run_verb(self, verb: TwimlNode, base: str) -> Transition | None:
        if verb.name != "Reject" and not self.answered:
            self.answered = True
            if self.live is not None and self.network is not None:
                self.live.set_status("in-progress", self.network.clock())
        match verb.name:
            case "Say" | "Play" | "Pause":
                heard = await self.prompt(verb, base)
                if isinstance(heard, Heard) and heard.loops == 0:
                    return End(HungUp("caller", f"{verb.path} loops forever; caller hung up"))
                return None
            case "Gather":
                return await self.gather(verb, base, in_queue=False)
            case "Redirect":
                return GoTo(await self.redirect(verb, base, in_queue=False))
            case "Hangup":
                return End(HungUp("server", f"{verb.path}: <Hangup>"))
            case "Reject":
                return self._reject(verb)
            case "Dial":
                return await dial(self, verb, base)
            case "Enqueue":
                return await enqueue(self, verb, base)
            case "Connect":
                return await connect(self, verb, base)
            case _:
                self._note(verb)
                return None

    def _reject(self, verb: TwimlNode) -> End:
        reason = verb.get("reason", "rejected") or "rejected"
        if self.answered:
            return End(Rejected(reason))
        return End(Rejected(reason), status="busy" if reason == "busy" else "no-answer")

    def _note(self, verb: TwimlNode) -> None:
        match verb.name:
            case "Record":
                seconds = int(verb.get("timeout") or RECORD_TIMEOUT_DEFAULT)
                self.elapsed += seconds
                note = f"caller stayed silent for {seconds} s; empty recordings go unreported"
            case "Leave":
                note = "not waiting in a queue: nothing to leave"
            case _:
                note = "media forks are not simulated; the call goes on"
        self.record(Noted(verb.name, note))

    # --- what the caller hears -------------------------------------------------------------

    async def prompt(self, verb: TwimlNode, base: str) -> Heard | Paused:
        match verb.name:
            case "Pause":
                step: Heard | Paused = Paused(int(verb.get("length") or 1))
                self.elapsed += step.seconds
            case "Say":
                step = self._said(verb)
            case _:
                step = await self._played(verb, base)
        self.record(step)
        return step

    def _said(self, verb: TwimlNode) -> Heard:
        loops = int(verb.get("loop") or 1)
        seconds = len(verb.text) / SAY_CHARS_PER_SECOND * max(loops, 1)
        self.elapsed += seconds
        return Heard(text=verb.text, loops=loops, seconds=seconds)

    async def _played(self, verb: TwimlNode, base: str) -> Heard:
        loops = int(verb.get("loop") or 1)
        digits = verb.get("digits")
        if digits is not None and not verb.text:
            seconds = len(digits) * DTMF_TONE_SECONDS
            self.elapsed += seconds
            return Heard(digits=digits, loops=loops, seconds=seconds)
        url = urljoin(base, verb.text)
        data, spoken = await self._http.fetch_media(url)
        audio = self._check_audio(verb, url, data)
        seconds = audio.duration_seconds * max(loops, 1)
        self.elapsed += seconds
        return Heard(url=url, text=spoken, audio=audio, loops=loops, seconds=seconds)

    def _check_audio(self, verb: TwimlNode, url: str, data: bytes) -> WavInfo:
        try:
            audio = parse_wav_header(data)
        except WavFormatError as err:
            raise SimulationError(f"{verb.path}: {url} is not a WAV file: {err}") from err
        if self.config.require_mulaw and not audio.is_telephone_mulaw:
            raise SimulationError(
                f"{verb.path}: {url} is not 8 kHz mono μ-law: format tag {audio.format_tag}, "
                f"{audio.sample_rate} Hz, {audio.channels} channel(s), "
                f"{audio.bits_per_sample} bits"
            )
        return audio

    # --- what the caller does --------------------------------------------------------------

    async def gather(self, verb: TwimlNode, base: str, *, in_queue: bool) -> Transition | None:
        return await gather(self, verb, base, in_queue=in_queue)

    async def next_input(self, request: InputRequest) -> str | None:
        """The caller's answer at a Gather or a stream prompt; None: the caller hangs up."""
        if self._input is not None:
            return await self._input(request)
        return next(self._script, None)

    def hang_up_reason(self, where: str) -> str:
        """Why the caller hung up when it had no answer at ``where``."""
        if self._input is None:
            return f"script ran out at {where}; caller hung up"
        return f"caller hung up at {where}"

    async def open_stream(self, url: str) -> aiohttp.ClientWebSocketResponse:
        """Open a ``<Stream>`` websocket, signed as Twilio signs it."""
        return await self._http.open_stream(url)

    async def redirect(self, verb: TwimlNode, base: str, *, in_queue: bool) -> FetchedDocument:
        return await self.fetch(
            verb.get("method") or "POST",
            urljoin(base, verb.text),
            self.forms.call("in-progress"),
            purpose="redirect",
            wait_url=in_queue,
        )

    async def fetch(
        self,
        method: str,
        url: str,
        form: dict[str, str],
        purpose: str,
        *,
        wait_url: bool = False,
    ) -> FetchedDocument:
        fetched = await self._http.fetch_twiml(
            method, url, form, purpose=purpose, wait_url=wait_url
        )
        self.documents.append(SeenDocument(fetched.url, fetched.document.xml))
        return fetched
