"""Engine actions → TwiML, only through twilio's ``VoiceResponse``.

Prompts before a keypad ``Listen`` go inside its ``<Gather>`` so the caller can answer before
the prompt ends; a ``<Redirect>`` after the Gather reports "no input" when it times out. A speech
``Listen`` admitted to a media stream becomes ``<Connect><Stream>``: the stream session plays the
prompts itself (so speech can interrupt them), and the Connect ``action`` takes the call back
to TwiML when the session closes the stream.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlencode

from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr import actions as act

PromptUrl = Callable[[act.Prompt], str]

PROMPT_TEXT_HEADER: Final = "X-Voicedesk-Prompt-Text"
"""Response header of a served prompt: its text, percent-encoded UTF-8. Twilio ignores it; the
simulator prints it, so a person testing a menu reads what the caller hears."""


@dataclass(frozen=True)
class WebhookUrls:
    """Where Twilio reports back, under the configured public base URL.

    ``turns=False`` leaves the wait's ``turn`` out of every URL, so the webhook applies to
    whatever the call's stored state is when it comes: the TwiML of a database outage is
    computed without the stored state, so the turn it would carry means nothing.
    """

    public_url: str
    turns: bool = True

    def _url(self, path: str, turn: int) -> str:
        if not self.turns:
            return f"{self.public_url}{path}"
        return f"{self.public_url}{path}?{urlencode({'turn': turn})}"

    def gather(self, turn: int) -> str:
        """Action URL of a Gather (digits pressed)."""
        return self._url("/twilio/gather", turn)

    def no_input(self, turn: int) -> str:
        """Redirect URL after a Gather that timed out."""
        return self._url("/twilio/no-input", turn)

    def dial(self, turn: int) -> str:
        """Action URL of a Dial (transfer ended)."""
        return self._url("/twilio/dial", turn)

    def queue(self, turn: int) -> str:
        """Action URL of an Enqueue (caller left the queue)."""
        return self._url("/twilio/queue", turn)

    def queue_wait(self, turn: int) -> str:
        """The ``waitUrl`` of an Enqueue (the next hold document)."""
        return self._url("/twilio/queue/wait", turn)

    def agent_ended(self, turn: int) -> str:
        """Action URL of the Dial into an agent's conference (the conversation ended)."""
        return self._url("/twilio/agent-ended", turn)

    def hold_audio(self, seconds: int) -> str:
        """Hold audio of about ``seconds`` (generated, no music anyone owns)."""
        return f"{self.public_url}/prompts/hold/{seconds}.wav"

    def stream_ended(self, turn: int) -> str:
        """Action URL of a Connect (the media stream closed)."""
        return self._url("/twilio/stream-ended", turn)

    @property
    def media_stream(self) -> str:
        """The websocket Twilio streams to: the public URL's host and path under ``wss://``.

        Twilio only opens ``wss`` streams, so the scheme is wss even when the public URL is a
        plain-http development address (the simulator maps it back to the server it reaches).
        """
        _, _, rest = self.public_url.partition("://")
        return f"wss://{rest}/twilio/media"


@dataclass(frozen=True)
class StreamAdmission:
    """A speech wait admitted to a media stream, with the ``<Parameter>``s its start carries."""

    parameters: Mapping[str, str]


def render(
    actions: Sequence[act.Action],
    urls: WebhookUrls,
    prompt_url: PromptUrl,
    stream: StreamAdmission | None = None,
) -> str:
    """TwiML for the call actions among ``actions`` (record actions are skipped).

    Args:
        actions: What the engine asked for, in order.
        urls: Where Twilio reports back.
        prompt_url: The public URL of a prompt's synthesized audio.
        stream: Set when a speech ``Listen`` is to be served over a media stream; otherwise
            every ``Listen`` is a keypad ``<Gather>``.

    """
    response = VoiceResponse()
    pending: list[act.Prompt] = []
    for action in actions:
        match action:
            case act.Prompt():
                pending.append(action)
            case act.Listen() if action.speech and stream is not None:
                _connect(response, action, urls, stream)
                pending = []
            case act.Listen():
                _gather(response, action, pending, urls, prompt_url)
                pending = []
            case act.Transfer():
                _play(response, pending, prompt_url)
                pending = []
                dial = response.dial(
                    action=urls.dial(action.turn), method="POST", timeout=action.timeout_seconds
                )
                dial.number(action.number)
            case act.Enqueue():
                _play(response, pending, prompt_url)
                pending = []
                response.enqueue(
                    action.queue,
                    action=urls.queue(action.turn),
                    method="POST",
                    wait_url=urls.queue_wait(action.turn),
                    wait_url_method="POST",
                )
            case act.Offer():
                gather = response.gather(
                    input="dtmf",
                    num_digits=1,
                    action=urls.gather(action.turn),
                    method="POST",
                    timeout=action.timeout_seconds,
                    action_on_empty_result=False,
                )
                _play(gather, pending, prompt_url)
                pending = []
            case act.Hold():
                _play(response, pending, prompt_url)
                pending = []
                response.play(urls.hold_audio(action.seconds))
            case act.Leave():
                _play(response, pending, prompt_url)
                pending = []
                response.leave()
            case act.ConnectAgent():
                _play(response, pending, prompt_url)
                pending = []
                dial = response.dial(action=urls.agent_ended(action.turn), method="POST")
                # Either side hanging up ends the room; the caller's Dial action then goes on
                # (to a survey), the agent's call simply ends.
                dial.conference(
                    action.room,
                    beep=False,
                    start_conference_on_enter=True,
                    end_conference_on_exit=True,
                )
            case act.Hangup():
                _play(response, pending, prompt_url)
                pending = []
                response.hangup()
    _play(response, pending, prompt_url)
    return str(response)


def agent_leg(prompt_urls: Sequence[str], room: str | None, hold_url: str) -> str:
    """TwiML for an agent who answered: a whisper, then the contact's room (or goodbye).

    Args:
        prompt_urls: What the agent hears first (who is coming).
        room: The conference the contact joins; None when the contact is gone.
        hold_url: Audio the agent hears until the contact arrives.

    """
    response = VoiceResponse()
    for url in prompt_urls:
        response.play(url)
    if room is None:
        response.hangup()
        return str(response)
    dial = response.dial()
    dial.conference(
        room,
        beep=False,
        start_conference_on_enter=True,
        end_conference_on_exit=True,
        wait_url=hold_url,
        wait_method="GET",
    )
    return str(response)


def hold(prompt_urls: Sequence[str], hold_url: str) -> str:
    """A wait document that needs no database: prompts, then hold audio (Twilio loops it)."""
    response = VoiceResponse()
    for url in prompt_urls:
        response.play(url)
    response.play(hold_url)
    return str(response)


def apology(prompt_urls: Sequence[str]) -> str:
    """Last-resort TwiML when a call cannot be handled at all: apologise, then hang up.

    Never a bare ``<Enqueue>``: without its ``waitUrl``, ``action`` and the caller's row in the
    line, no agent would ever be given the caller (the outage route does queue them properly).
    """
    response = VoiceResponse()
    for url in prompt_urls:
        response.play(url)
    response.hangup()
    return str(response)


def _gather(
    response: VoiceResponse,
    listen: act.Listen,
    prompts: Sequence[act.Prompt],
    urls: WebhookUrls,
    prompt_url: PromptUrl,
) -> None:
    attributes: dict[str, object] = {
        "input": "dtmf",
        "action": urls.gather(listen.turn),
        "method": "POST",
        "timeout": listen.timeout_seconds,
        "action_on_empty_result": False,
    }
    if listen.num_digits is not None:
        attributes["num_digits"] = listen.num_digits
    if listen.finish_on_key is not None:
        attributes["finish_on_key"] = listen.finish_on_key
    gather: Gather = response.gather(**attributes)
    _play(gather, prompts, prompt_url)
    response.redirect(urls.no_input(listen.turn), method="POST")


def _connect(
    response: VoiceResponse, listen: act.Listen, urls: WebhookUrls, stream: StreamAdmission
) -> None:
    # The prompts before the Listen are the session's to play (CallState.prompts): played
    # here as <Play>, they could not be interrupted by speech.
    connect = response.connect(action=urls.stream_ended(listen.turn), method="POST")
    target = connect.stream(url=urls.media_stream)
    for name, value in stream.parameters.items():
        target.parameter(name=name, value=value)


def _play(target: VoiceResponse | Gather, prompts: Sequence[act.Prompt], url: PromptUrl) -> None:
    for prompt in prompts:
        target.play(url(prompt))
