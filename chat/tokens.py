"""The customer's personal chat link: signed, bound to one chat and one phone, expiring.

A link is ``/chat/<chat id>.<expiry>.<signature>``. The signature is an HMAC over the chat id,
the customer's phone number and the expiry, under a key derived from the link secret, so:

- only the server can mint one (the secret never leaves it);
- it opens only the chat it was issued for, and only while that chat belongs to the phone it
  was sent to (a chat id changed by hand, or a link sent to another customer, fails);
- it expires (``VOICEDESK_CHAT_LINK_TTL_SECONDS``, a day by default).

The signature is checked first, so an expired link is told apart from a forged one only when it
is genuine: a tampered link never learns whether its chat exists.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from telephony.fields import MAX_UNIX_SECONDS, whole_number

_DOMAIN: Final = b"voicedesk-chat-link-v1"
"""Key separation: the secret may also sign webhooks (it defaults to the auth token)."""
SIGNATURE_BYTES: Final = 16
"""128 bits: unforgeable, and short enough for a text message."""
MAX_TOKEN_LENGTH: Final = 80


class LinkProblem(StrEnum):
    """Why a link does not open its chat."""

    INVALID = "invalid"
    """Malformed, forged or tampered with, or not this customer's chat."""
    EXPIRED = "expired"
    """Genuine, but past its expiry."""


@dataclass(frozen=True)
class LinkClaim:
    """What a link says before its signature is checked: the chat and the expiry."""

    chat_id: int
    expires: int
    signature: str


class LinkSigner:
    """Mints and checks chat links with one secret."""

    def __init__(self, secret: str, ttl: timedelta) -> None:
        """Sign with ``secret``; links stay valid for ``ttl``."""
        if not secret:
            raise ValueError("a chat link secret is required")
        self._key = hmac.new(secret.encode(), _DOMAIN, hashlib.sha256).digest()
        self.ttl = ttl

    def issue(self, chat_id: int, phone: str, now: datetime) -> str:
        """A token for ``chat_id`` sent to ``phone``, valid until ``now + ttl``."""
        expires = int((now + self.ttl).timestamp())
        return f"{chat_id}.{expires}.{self._signature(chat_id, phone, expires)}"

    def verify(self, claim: LinkClaim, phone: str, now: datetime) -> LinkProblem | None:
        """None when ``claim`` is genuine for the chat of ``phone`` and unexpired."""
        expected = self._signature(claim.chat_id, phone, claim.expires)
        if not hmac.compare_digest(claim.signature.encode(), expected.encode()):
            return LinkProblem.INVALID
        if claim.expires < now.timestamp():
            return LinkProblem.EXPIRED
        return None

    def _signature(self, chat_id: int, phone: str, expires: int) -> str:
        message = f"{chat_id}|{phone}|{expires}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()[:SIGNATURE_BYTES]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def parse(token: str) -> LinkClaim | None:
    """The claim of a well-formed token, or None (then it is :attr:`LinkProblem.INVALID`)."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    chat, expires, signature = parts
    chat_id, expiry = whole_number(chat), whole_number(expires, MAX_UNIX_SECONDS)
    if not chat_id or expiry is None or not signature:
        return None
    return LinkClaim(chat_id, expiry, signature)
