"""The simulated caller: places one inbound call and follows the TwiML verb by verb, like Twilio.

Behaviour, per Twilio's TwiML voice reference:

- ``<Gather>``: nested prompts play, then the caller answers with the next script entry (or
  the input provider). The finish key ends it and is stripped from ``Digits``; reaching
  ``numDigits`` ends it at once. Silence requests nothing and the call goes on with the verb
  after ``</Gather>``, unless ``actionOnEmptyResult="true"``. Pressing only the finish key
  counts as input and is submitted with empty ``Digits``. A script that runs out at a
  Gather means the caller hangs up.
- ``<Dial>`` without ``action``: "the original caller is still on the line", so the call goes
  on with the next verb (the document's end hangs up); with ``action``, its answer goes on.
- ``<Enqueue>``: the caller waits ``queue_seconds`` (``waitUrl`` documents are run and
  re-requested meanwhile), then the scenario's ``queue_result`` happens, unless the wait
  document ends it first (``<Leave>``, ``<Hangup>``). The answer to the ``action`` request
  after a hang-up is checked, then ignored: the call is over.
- ``<Reject>`` as the call's first verb leaves it unanswered (status busy or no-answer).
- ``<Connect><Stream>``: a real websocket in real time (``telephony.simulator.stream``).
- Script entries that speak (``say:``, ``play:``) at a ``<Gather>``: Twilio hears no keys, so
  the caller counts as silent (noted in the transcript).
- Time is simulated: Pause lengths, Gather timeouts, queue waits are added up, never slept;
  only a media stream runs in real time, as audio must.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import urljoin

import aiohttp

from telephony.simulator.flow import End, GoTo, Transition
from telephony.simulator.keypad import press_keys
from telephony.simulator.queue_wait import enqueue
from telephony.simulator.scenario import CallerConfig, new_sid
from telephony.simulator.script import Keys, PlayAudio, Say, describe_entry, parse_entry
from telephony.simulator.stream import connect
from telephony.simulator.transcript import (
    CallTranscript,
    Dialed,
    Gathered,
    GatherPrompt,
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

GATHER_TIMEOUT_DEFAULT: Final = 5
DIAL_TIMEOUT_DEFAULT: Final = 30
RECORD_TIMEOUT_DEFAULT: Final = 5
"""Seconds: Twilio's documented defaults for these attributes."""


async def place_call(
    config: CallerConfig,
    *,
    input_provider: InputProvider | None = None,
    on_step: StepListener | None = None,
    session: aiohttp.ClientSession | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> CallTranscript:
    """Place one simulated inbound call against a running voicedesk server.

    Args:
        config: Who calls, where, and the scenario.
        input_provider: Answers each Gather instead of ``config.digits`` (interactive use).
        on_step: Called with each step as it happens (live output).
        session: The HTTP session to use; a private one is opened when omitted.
        clock: Wall-clock time the call starts at (the status callback's ``Timestamp``).

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
            )
    call = _Call(config, session, input_provider, on_step)
    try:
        return await call.run(clock())
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
    ) -> None:
        self.config = config
        self.steps: list[Step] = []
        self.documents: list[SeenDocument] = []
        self.elapsed = 0.0
        self.answered = False
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
        end = await self._follow(fetched)
        self.record(end.step)
        duration = math.ceil(self.elapsed) if self.answered else 0
        ended_at = started_at + timedelta(seconds=self.elapsed)
        await self._http.post_status(
            self.config.base_public_url + self.config.status_path,
            self.forms.status(end.status, duration, ended_at),
        )
        return CallTranscript(
            call_sid=self.config.call_sid,
            steps=tuple(self.steps),
            final_status=end.status,
            duration_seconds=duration,
            documents=tuple(self.documents),
        )

    async def _follow(self, fetched: FetchedDocument) -> End:
        while True:
            outcome = await self._run_document(fetched)
            if isinstance(outcome, End):
                return outcome
            fetched = outcome.fetched

    async def _run_document(self, fetched: FetchedDocument) -> Transition:
        for verb in fetched.document.verbs:
            outcome = await self._run_verb(verb, fetched.url)
            if outcome is not None:
                return outcome
        return End(HungUp("server", "end of the TwiML document"))

    async def _run_verb(self, verb: TwimlNode, base: str) -> Transition | None:
        if verb.name != "Reject":
            self.answered = True
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
                return await self._dial(verb, base)
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
        prompts = tuple([await self.prompt(child, base) for child in verb.children])
        prompt = GatherPrompt(
            path=verb.path,
            action_url=urljoin(base, verb.get("action") or base),
            num_digits=int(verb.attributes["numDigits"])
            if "numDigits" in verb.attributes
            else None,
            finish_on_key=verb.get("finishOnKey", "#") or "",
            timeout_seconds=int(verb.get("timeout") or GATHER_TIMEOUT_DEFAULT),
            accepts_dtmf="dtmf" in (verb.get("input") or "dtmf").split(),
            in_queue=in_queue,
            prompts=prompts,
        )
        entry = await self.next_input(prompt)
        if entry is None:
            return End(HungUp("caller", self.hang_up_reason(prompt.path)))
        keys = self._keys_at_gather(verb, prompt, entry)
        presses = press_keys(keys, num_digits=prompt.num_digits, finish_on_key=prompt.finish_on_key)
        if presses.timed_out:
            self.elapsed += prompt.timeout_seconds
        pressed = bool(presses.digits or presses.finished_on_key)
        submit = pressed or verb.get("actionOnEmptyResult") == "true"
        self.record(
            Gathered(
                digits=presses.digits if keys else None,
                finished_on_key=presses.finished_on_key,
                timeout_seconds=prompt.timeout_seconds,
                timed_out=presses.timed_out,
                submitted=submit,
            )
        )
        if not submit:
            return None
        form = self.forms.gather(presses.digits, presses.finished_on_key)
        method = verb.get("method") or "POST"
        return GoTo(
            await self.fetch(
                method, prompt.action_url, form, purpose="gather action", wait_url=in_queue
            )
        )

    def _keys_at_gather(self, verb: TwimlNode, prompt: GatherPrompt, text: str) -> str:
        """The keys Twilio hears at a Gather; speaking into a keypad menu is silence."""
        try:
            entry = parse_entry(text)
        except ValueError as err:
            raise SimulationError(f"{prompt.path}: {err}") from err
        match entry:
            case Keys(keys=keys) if prompt.accepts_dtmf:
                return keys
            case Say() | PlayAudio() if "speech" in (verb.get("input") or "dtmf").split():
                note = "speech recognition in <Gather> is not simulated: heard as silence"
                self.record(Noted("Gather", f"caller answered by {describe_entry(entry)}; {note}"))
            case Say() | PlayAudio():
                note = "a keypad menu hears no keys in speech: silence"
                self.record(Noted("Gather", f"caller answered by {describe_entry(entry)}; {note}"))
        return ""

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

    async def _dial(self, verb: TwimlNode, base: str) -> Transition | None:
        status = self.config.dial_status
        duration = self.config.dial_duration if status == "completed" else 0
        ringing = int(verb.get("timeout") or DIAL_TIMEOUT_DEFAULT) if status == "no-answer" else 0
        self.elapsed += duration + ringing
        self.record(Dialed(_dial_target(verb), status, duration))
        action = verb.get("action")
        if action is None:
            return None
        form = self.forms.dial(status, new_sid("CA"), duration)
        url = urljoin(base, action)
        return GoTo(await self.fetch(verb.get("method") or "POST", url, form, "dial action"))

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


def _dial_target(verb: TwimlNode) -> str:
    if verb.text:
        return verb.text
    return ", ".join(f"{noun.name} {noun.text}".strip() for noun in verb.children)
