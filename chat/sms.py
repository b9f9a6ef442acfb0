"""The built-in SMS bridge: chat texts go out as plain SMS through Twilio's Messages API."""

from __future__ import annotations

from typing import Protocol

from chat.outbox import AgentText, LinkText
from telephony.rest import RestRejectedError


class Texts(Protocol):
    """The part of the Twilio REST API that sends texts (``telephony.rest.TwilioRest``)."""

    async def send_sms(
        self, *, to: str, from_: str, body: str, status_callback: str | None = None
    ) -> str:
        """Send a text; returns its MessageSid."""
        ...


class SmsChannel:
    """:class:`chat.outbox.ChatChannel` over plain SMS; replies come to ``POST /twilio/sms``."""

    def __init__(self, texts: Texts, caller_id: str | None) -> None:
        """Send through ``texts`` from ``caller_id``, or from the number the customer dialled."""
        self._texts = texts
        self._caller_id = caller_id

    async def send_link(self, link: LinkText, body: str) -> str:
        """Text the link message."""
        return await self._texts.send_sms(
            to=link.phone, from_=self._sender(link.from_number), body=body
        )

    async def send_agent_text(self, text: AgentText) -> str:
        """Text the agent's message, signed with the agent's name."""
        body = text.body if not text.agent_name else f"{text.agent_name}: {text.body}"
        return await self._texts.send_sms(
            to=text.phone, from_=self._sender(text.from_number), body=body
        )

    def _sender(self, dialled: str | None) -> str:
        sender = self._caller_id or dialled
        if not sender:
            raise RestRejectedError(
                "no number to text from: set VOICEDESK_TWILIO_CALLER_ID "
                "(this chat did not start with a call to one of ours)"
            )
        return sender
