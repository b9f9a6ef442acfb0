"""Requests signed exactly as Twilio signs them (twilio's own RequestValidator).

The signature covers the public URL as requested (path and raw query) and the form's fields,
so the query is sent already encoded: the server must see the very bytes that were signed.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlencode, urlsplit

import aiohttp
from twilio.request_validator import RequestValidator
from yarl import URL

from tests.support.running_app import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL

FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Answer:
    """What the server answered."""

    status: int
    content_type: str
    body: bytes


def query_string(query: Mapping[str, str]) -> str:
    """``?a=1&b=2`` percent-encoded as Twilio would request it ('' for no query)."""
    return "?" + urlencode(query) if query else ""


def signature(public_url: str, form: Mapping[str, str]) -> str:
    """Twilio's ``X-Twilio-Signature`` of a POST to ``public_url`` with ``form``."""
    return str(RequestValidator(AUTH_TOKEN).compute_signature(public_url, dict(form)))


async def post_signed(
    http: aiohttp.ClientSession, server_url: str, path_qs: str, form: Mapping[str, str]
) -> Answer:
    """POST ``form`` to ``path_qs`` (path and encoded query), signed for the public URL."""
    headers = {
        "X-Twilio-Signature": signature(PUBLIC_URL + path_qs, form),
        "Content-Type": FORM_CONTENT_TYPE,
    }
    url = URL(server_url.rstrip("/") + path_qs, encoded=True)
    body = urlencode(form).encode()
    async with http.post(url, data=body, headers=headers) as response:
        return Answer(response.status, response.content_type, await response.read())


def new_call_sid() -> str:
    """A fresh CallSid of Twilio's shape."""
    return "CA" + uuid.uuid4().hex


def call_form(call_sid: str, caller: str = "+821012345678", **fields: str) -> dict[str, str]:
    """The fields Twilio posts with every voice webhook of an inbound call."""
    return {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "From": caller,
        "To": "+8215881234",
        "Caller": caller,
        "Called": "+8215881234",
        **fields,
    }


def local_path(public_url: str) -> str:
    """The path and query of one of our public URLs (a TwiML action)."""
    parts = urlsplit(public_url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def twiml(answer: Answer) -> ET.Element:
    """The TwiML document of an answer (asserting it is one)."""
    assert answer.status == 200, (answer.status, answer.body[:300])
    root = ET.fromstring(answer.body)
    assert root.tag == "Response", root.tag
    return root
