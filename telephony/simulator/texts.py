"""A customer's text message, delivered the way Twilio delivers it to a messaging webhook.

Twilio POSTs an inbound SMS to the number's messaging URL as a signed form (``MessageSid``,
``SmsSid``, ``AccountSid``, ``From``, ``To``, ``Body``, ``NumMedia``…) and expects TwiML
(``<Response>``, maybe with ``<Message>`` replies) back within 15 seconds.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlencode

import aiohttp
from twilio.request_validator import RequestValidator

from telephony.simulator.transcript import SimulationError

SMS_PATH: Final = "/twilio/sms"
TIMEOUT_SECONDS: Final = 15.0


@dataclass(frozen=True)
class TextReply:
    """What the server answered to a text: the HTTP status and its TwiML."""

    message_sid: str
    status: int
    twiml: str


def new_message_sid() -> str:
    """A fresh MessageSid in Twilio's format (``SM`` and 32 hex digits)."""
    return "SM" + secrets.token_hex(16)


async def send_text(
    *,
    server_url: str,
    public_url: str,
    account_sid: str,
    auth_token: str,
    from_: str,
    to: str,
    body: str,
    message_sid: str | None = None,
) -> TextReply:
    """Deliver a customer's text to ``server_url`` as Twilio would, signed for ``public_url``.

    Raises:
        SimulationError: The server could not be reached.

    """
    sid = message_sid or new_message_sid()
    form = {
        "MessageSid": sid,
        "SmsSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": account_sid,
        "MessagingServiceSid": "",
        "From": from_,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    status, twiml = await post_signed(
        server_url, public_url, SMS_PATH, form, auth_token, TIMEOUT_SECONDS, "text"
    )
    return TextReply(sid, status, twiml)


async def post_signed(
    server_url: str,
    public_url: str,
    path: str,
    form: dict[str, str],
    auth_token: str,
    timeout_seconds: float,
    what: str,
) -> tuple[int, str]:
    """POST ``form`` to ``server_url + path`` signed for ``public_url + path``, as Twilio does.

    Returns:
        The HTTP status and the body answered.

    Raises:
        SimulationError: The server could not be reached.

    """
    signed_url = public_url.rstrip("/") + path
    headers = {
        "X-Twilio-Signature": RequestValidator(auth_token).compute_signature(signed_url, form),
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": "TwilioProxy/1.1",
        "I-Twilio-Idempotency-Token": secrets.token_hex(16),
    }
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                server_url.rstrip("/") + path,
                data=urlencode(form),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout_seconds),
            ) as response,
        ):
            return response.status, await response.text()
    except (aiohttp.ClientError, TimeoutError) as err:
        raise SimulationError(f"{what} to {signed_url} failed: {err!r}") from err
