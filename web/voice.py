"""Rendering a turn for Twilio: make sure every prompt's audio exists, then build the TwiML."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from config.menu import INPUT_SPEECH, Menu, MenuNode, Node, Prompt
from config.messages import CHOICE_PLACEHOLDER, MessageKey, is_spoken, placeholders
from ivr import actions as act
from ivr.choice import option_choice
from ivr.confirmation import READ_BACK_DIGITS, template_parts
from speech.admission import SpeechAdmission
from speech.synthesis import Synthesizer
from telephony import stream_token, twiml
from telephony.twiml import StreamAdmission, WebhookUrls

Clock = Callable[[], datetime]

# Hold audio an agent hears while the customer is rung (repeated by Twilio's conference).
AGENT_HOLD_SECONDS: Final = 30
# Hold audio of one wait document during a database outage: Twilio asks again when it ends,
# so an outage of seconds costs the caller at most this much before normal announcements.
OUTAGE_HOLD_SECONDS: Final = 20


@dataclass(frozen=True)
class StreamSigning:
    """What minting a media-stream token needs: the secret and "now"."""

    secret: str
    clock: Clock


class VoiceRenderer:
    """Turns engine actions into TwiML whose ``<Play>`` URLs point at cached prompt audio."""

    def __init__(
        self,
        synthesizer: Synthesizer,
        public_url: str,
        *,
        admission: SpeechAdmission | None = None,
        signing: StreamSigning | None = None,
        speech_language: str | None = None,
    ) -> None:
        """Render with ``synthesizer``; URLs are built under ``public_url``.

        Args:
            synthesizer: Where prompt audio comes from.
            public_url: The base URL Twilio knows this service by.
            admission: Speech capacity; None renders every speech node as keypad input.
            signing: Mints the media-stream tokens (required with ``admission``).
            speech_language: The one language the loaded speech model recognizes (None: any);
                a caller in another language answers speech nodes on the keypad.

        """
        self._synthesizer = synthesizer
        self._public_url = public_url
        self._urls = WebhookUrls(public_url)
        self._untracked = WebhookUrls(public_url, turns=False)
        self._admission = admission if signing is not None else None
        self._signing = signing
        self._speech_language = speech_language

    @property
    def synthesizer(self) -> Synthesizer:
        """The prompt synthesizer (the stream session reads cached audio through it)."""
        return self._synthesizer

    def for_call(self, call_sid: str, *, streaming: bool = False) -> CallRenderer:
        """A renderer for one turn of ``call_sid``.

        Args:
            call_sid: The call the TwiML is for (its stream token names it).
            streaming: The call already holds a speech session (the turn is rendered by its
                media stream), so a next speech node needs no new admission.

        """
        return CallRenderer(self, call_sid, streaming=streaming)

    def prompt_url(self, key: str) -> str:
        """The public URL of a cached prompt."""
        return f"{self._public_url}/prompts/{key}.wav"

    async def render(
        self, menu: Menu, actions: Sequence[act.Action], stream: StreamAdmission | None = None
    ) -> str:
        """TwiML for one turn; prompts not yet synthesized are rendered first (off the loop)."""
        return await self._render(actions, self._urls, stream)

    def admit(self, call_sid: str, listen: act.Listen, *, streaming: bool) -> AdmissionDecision:
        """Decide whether a speech wait is served by a media stream or by the keypad."""
        if self._admission is None or self._signing is None:
            return AdmissionDecision(None, None)  # keypad by configuration: nothing to record
        if self._speech_language not in (None, listen.language):
            return AdmissionDecision(None, None)  # no model for the caller's language
        if not streaming and not self._admission.reserve(call_sid):
            return AdmissionDecision(None, "speech capacity full")
        grant = stream_token.StreamGrant(call_sid, listen.turn)
        token = stream_token.issue(self._signing.secret, grant, self._signing.clock())
        return AdmissionDecision(StreamAdmission({stream_token.TOKEN_PARAMETER: token}), None)

    async def agent_leg(self, text: str, language: str, room: str | None) -> str:
        """TwiML for an agent who answered: ``text`` as a whisper, then the room (or goodbye)."""
        key = await self._synthesizer.render(text, language)
        hold = self._urls.hold_audio(AGENT_HOLD_SECONDS)
        return twiml.agent_leg([self.prompt_url(key)], room, hold)

    async def apology(self, menu: Menu | None) -> str:
        """Last-resort TwiML: the menu's apology, then a hang-up.

        Never an ``<Enqueue>``: a caller put in Twilio's queue without a ``waitUrl``, an
        ``action`` and a row in the line is one no agent will ever be given.
        """
        if menu is None:
            return twiml.apology([])
        return twiml.apology([await self._apology_url(menu)])

    async def outage_render(self, menu: Menu, actions: Sequence[act.Action]) -> str:
        """TwiML of a turn computed without the call's stored state (a database outage).

        Webhook URLs carry no turn (the stored state is another), and a speech wait is asked on
        the keypad: a media stream's session needs the database.
        """
        return await self._render(actions, self._untracked, None)

    async def _render(
        self, actions: Sequence[act.Action], urls: WebhookUrls, stream: StreamAdmission | None
    ) -> str:
        keys: dict[act.Prompt, str] = {}
        for action in actions:
            if isinstance(action, act.Prompt) and action not in keys:
                keys[action] = await self._synthesizer.render(action.text, action.language)
        return twiml.render(actions, urls, lambda p: self.prompt_url(keys[p]), stream)

    async def outage_hold(self, menu: Menu) -> str:
        """A queue's wait document while the database is down: apology, then hold audio."""
        hold = self._urls.hold_audio(OUTAGE_HOLD_SECONDS)
        return twiml.hold([await self._apology_url(menu)], hold)

    async def _apology_url(self, menu: Menu) -> str:
        text = menu.messages["error"][menu.default_language]
        return self.prompt_url(await self._synthesizer.render(text, menu.default_language))

    async def prerender(self, menu: Menu) -> int:
        """Synthesize every prompt of ``menu`` in every language; returns how many were new."""
        return await self._synthesizer.prerender(sorted(set(menu_prompts(menu))))


@dataclass(frozen=True)
class AdmissionDecision:
    """A media stream for a speech wait, or why it gets the keypad instead.

    ``refused`` is None with no stream when speech is switched off: no event worth recording.
    """

    stream: StreamAdmission | None
    refused: str | None


class CallRenderer:
    """Renders the turns of one webhook (or stream turn) and remembers any keypad fallback."""

    def __init__(self, voice: VoiceRenderer, call_sid: str, *, streaming: bool) -> None:
        """Render for ``call_sid`` through ``voice``."""
        self._voice = voice
        self._call_sid = call_sid
        self._streaming = streaming
        self.keypad_fallback: tuple[act.Listen, str] | None = None
        """The speech wait rendered as keypad input because of capacity, and why."""
        self.stream_turn: int | None = None
        """The turn of a speech wait that was admitted to a media stream."""

    async def __call__(self, menu: Menu, actions: Sequence[act.Action]) -> str:
        """TwiML for ``actions``, with a media stream for a speech wait when admitted."""
        listen = next((a for a in actions if isinstance(a, act.Listen) and a.speech), None)
        stream = None
        self.keypad_fallback = None
        self.stream_turn = None
        if listen is not None:
            decision = self._voice.admit(self._call_sid, listen, streaming=self._streaming)
            stream = decision.stream
            if decision.refused is not None:
                self.keypad_fallback = (listen, decision.refused)
            elif stream is not None:
                self.stream_turn = listen.turn
        return await self._voice.render(menu, actions, stream)


def menu_prompts(menu: Menu) -> Iterator[tuple[str, str]]:
    """Every (text, language) a call on ``menu`` can hear."""
    for node in menu.nodes.values():
        for prompt in _node_prompts(node):
            yield from ((text, lang) for lang, text in prompt.items())
    for key, message in menu.messages.items():
        if _fixed_and_spoken(key):
            yield from ((text, lang) for lang, text in message.items() if lang in menu.languages)
    yield from _confirmations(menu)


def _confirmations(menu: Menu) -> Iterator[tuple[str, str]]:
    """The read-back questions speech nodes can ask: one per option, digits word by word."""
    for language in menu.languages:
        template = menu.messages[MessageKey.CONFIRM][language]
        for node in menu.nodes.values():
            if isinstance(node, MenuNode) and INPUT_SPEECH in node.input:
                for index in range(len(node.options)):
                    spoken = option_choice(node, index, language).spoken
                    yield template.replace(CHOICE_PLACEHOLDER, spoken), language
        yield from ((part, language) for part in template_parts(template) if part)
        yield from ((word, language) for word in READ_BACK_DIGITS.get(language, {}).values())


def _fixed_and_spoken(key: str) -> bool:
    """Whether a message is said as written: spoken, and with nothing filled in at the time."""
    try:
        message = MessageKey(key)
    except ValueError:
        return True
    return is_spoken(message) and not placeholders(message)


def _node_prompts(node: Node) -> Iterator[Prompt]:
    for name in ("prompt", "no_input_prompt", "no_match_prompt", "thanks"):
        prompt = getattr(node, name, None)
        if prompt is not None:
            yield prompt
