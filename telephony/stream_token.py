"""Signed, short-lived tokens that admit one media stream to one wait of one call.

The server renders ``<Stream><Parameter name="token" value="…"/></Stream>``; Twilio hands the
parameter back in the stream's ``start`` message. Only the holder of the auth token can mint
one, it names the CallSid and turn it was issued for, and it expires, so a stolen or replayed
websocket URL cannot listen to or speak into another call.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from telephony.fields import MAX_UNIX_SECONDS, whole_number

TOKEN_PARAMETER: Final = "token"
"""Name of the ``<Parameter>`` that carries the token."""

DEFAULT_TOKEN_TTL: Final = timedelta(seconds=60)
"""Twilio opens the stream within a second or two of fetching the TwiML; a minute tolerates a
slow network and clock skew between instances without leaving the token useful for long."""

_DOMAIN: Final = b"voicedesk-media-stream-v1"
"""Key separation: the auth token also signs webhooks, so stream tokens use a derived key."""


@dataclass(frozen=True)
class StreamGrant:
    """What a valid token admits: one call's wait."""

    call_sid: str
    turn: int


def issue(
    secret: str, grant: StreamGrant, now: datetime, ttl: timedelta = DEFAULT_TOKEN_TTL
) -> str:
    """A token for ``grant`` valid until ``now + ttl``."""
    expires = int((now + ttl).timestamp())
    body = f"{grant.call_sid}.{grant.turn}.{expires}"
    return f"{body}.{_signature(secret, body)}"


def verify(secret: str, token: str | None, call_sid: str, now: datetime) -> StreamGrant | None:
    """The grant of a genuine, unexpired token for ``call_sid``; None for anything else."""
    if not token:
        return None
    parts = token.split(".")
    if len(parts) != 4:
        return None
    sid, turn, expires, signature = parts
    expected = _signature(secret, f"{sid}.{turn}.{expires}")
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return None
    turn_number = whole_number(turn)
    expiry = whole_number(expires, MAX_UNIX_SECONDS)
    if sid != call_sid or turn_number is None or expiry is None:
        return None
    if expiry < now.timestamp():
        return None
    return StreamGrant(sid, turn_number)


def _signature(secret: str, body: str) -> str:
    key = hmac.new(secret.encode(), _DOMAIN, hashlib.sha256).digest()
    mac = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")
