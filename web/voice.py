"""Rendering a turn for Twilio: make sure every prompt's audio exists, then build the TwiML."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from config.menu import Menu, Node, Prompt, QueueNode
from ivr import actions as act
from speech.synthesis import Synthesizer
from telephony import twiml
from telephony.twiml import WebhookUrls


class VoiceRenderer:
    """Turns engine actions into TwiML whose ``<Play>`` URLs point at cached prompt audio."""

    def __init__(self, synthesizer: Synthesizer, public_url: str) -> None:
        """Render with ``synthesizer``; URLs are built under ``public_url``."""
        self._synthesizer = synthesizer
        self._public_url = public_url
        self._urls = WebhookUrls(public_url)

    def prompt_url(self, key: str) -> str:
        """The public URL of a cached prompt."""
        return f"{self._public_url}/prompts/{key}.wav"

    async def render(self, menu: Menu, actions: Sequence[act.Action]) -> str:
        """TwiML for one turn; prompts not yet synthesized are rendered first (off the loop)."""
        keys: dict[act.Prompt, str] = {}
        for action in actions:
            if isinstance(action, act.Prompt) and action not in keys:
                keys[action] = await self._synthesizer.render(action.text, action.language)
        return twiml.render(actions, self._urls, lambda p: self.prompt_url(keys[p]))

    async def apology(self, menu: Menu | None) -> str:
        """Last-resort TwiML: the menu's apology, then its fallback queue or a hang-up."""
        if menu is None:
            return twiml.apology([], None)
        text = menu.messages["error"][menu.default_language]
        key = await self._synthesizer.render(text, menu.default_language)
        return twiml.apology([self.prompt_url(key)], fallback_queue(menu))

    async def prerender(self, menu: Menu) -> int:
        """Synthesize every prompt of ``menu`` in every language; returns how many were new."""
        return await self._synthesizer.prerender(sorted(set(menu_prompts(menu))))


def fallback_queue(menu: Menu) -> str | None:
    """The queue a failing call is put in, when the menu's fallback is a queue node."""
    if menu.fallback is None:
        return None
    node = menu.nodes.get(menu.fallback)
    return node.queue if isinstance(node, QueueNode) else None


def menu_prompts(menu: Menu) -> Iterator[tuple[str, str]]:
    """Every (text, language) a call on ``menu`` can hear."""
    for node in menu.nodes.values():
        for prompt in _node_prompts(node):
            yield from ((text, lang) for lang, text in prompt.items())
    for message in menu.messages.values():
        yield from ((text, lang) for lang, text in message.items() if lang in menu.languages)


def _node_prompts(node: Node) -> Iterator[Prompt]:
    for name in ("prompt", "no_input_prompt", "no_match_prompt"):
        prompt = getattr(node, name, None)
        if prompt is not None:
            yield prompt
