"""A minimal third-party Twilio-style client for tests: signs like Twilio, parses TwiML by hand.

Deliberately independent of voicedesk's own simulator, so the webhooks are checked by a second
implementation of Twilio's side: only twilio's RequestValidator, aiohttp and ElementTree.
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp
from twilio.request_validator import RequestValidator

# TwiML verbs our server may answer with, and the attributes Twilio documents for each.
ALLOWED: dict[str, set[str]] = {
    "Response": set(),
    "Play": {"loop", "digits"},
    "Say": {"voice", "language", "loop"},
    "Pause": {"length"},
    "Gather": {
        "action",
        "method",
        "timeout",
        "numDigits",
        "finishOnKey",
        "input",
        "actionOnEmptyResult",
        "language",
        "hints",
        "speechTimeout",
        "partialResultCallback",
    },
    "Redirect": {"method"},
    "Dial": {
        "action",
        "method",
        "timeout",
        "callerId",
        "timeLimit",
        "hangupOnStar",
        "answerOnBridge",
        "record",
    },
    "Number": {"sendDigits", "url", "method"},
    "Enqueue": {"action", "method", "waitUrl", "waitUrlMethod"},
    "Hangup": set(),
    "Leave": set(),
}
CHILDREN: dict[str, set[str]] = {
    "Response": {
        "Play",
        "Say",
        "Pause",
        "Gather",
        "Redirect",
        "Dial",
        "Enqueue",
        "Hangup",
        "Leave",
    },
    "Gather": {"Play", "Say", "Pause"},
    "Dial": {"Number"},
}


def parse_twiml(text: str) -> ET.Element:
    """Parse and check a TwiML document: only documented verbs, nesting and attributes."""
    root = ET.fromstring(text)
    assert root.tag == "Response", f"root is {root.tag}"
    _check(root)
    return root


def _check(element: ET.Element) -> None:
    assert element.tag in ALLOWED, f"unknown verb {element.tag}"
    unknown = set(element.attrib) - ALLOWED[element.tag]
    assert not unknown, f"{element.tag} has undocumented attributes {unknown}"
    for child in element:
        assert child.tag in CHILDREN.get(element.tag, set()), f"{child.tag} inside {element.tag}"
        _check(child)
    if element.tag == "Gather":
        assert element.get("input", "dtmf") in {"dtmf", "speech", "dtmf speech"}
        assert int(element.get("timeout", "5")) >= 1
        if "numDigits" in element.attrib:
            assert int(element.attrib["numDigits"]) >= 1
        assert element.get("finishOnKey", "#") in {"", *"0123456789*#"}
    if element.tag in {"Gather", "Redirect", "Dial", "Enqueue"}:
        assert element.get("method", "POST") in {"GET", "POST"}


@dataclass(frozen=True)
class WavFormat:
    format_tag: int
    channels: int
    sample_rate: int
    bits: int
    data_bytes: int


def wav_format(data: bytes) -> WavFormat:
    """The fmt and data chunks of a RIFF WAVE file (written here, not imported from voicedesk)."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", "not a RIFF WAVE file"
    pos, fmt, size = 12, None, None
    while pos + 8 <= len(data):
        chunk, length = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if chunk == b"fmt ":
            fmt = struct.unpack("<HHIIHH", data[pos + 8 : pos + 24])
        elif chunk == b"data":
            size = length
        pos += 8 + length + (length & 1)
    assert fmt is not None and size is not None, "missing fmt or data chunk"
    return WavFormat(fmt[0], fmt[1], fmt[2], fmt[5], size)


@dataclass
class TwilioStyleCall:
    """One call's worth of Twilio-side requests against a server behind a public URL."""

    session: aiohttp.ClientSession
    server_url: str
    public_url: str
    auth_token: str
    call_sid: str
    caller: str = "+821012345678"
    called: str = "+8215881234"
    documents: list[ET.Element] = field(default_factory=list)
    sequence: int = 0

    def sign(self, public: str, params: dict[str, str]) -> str:
        return str(RequestValidator(self.auth_token).compute_signature(public, params))

    async def post(
        self,
        url: str,
        extra: dict[str, str] | None = None,
        *,
        signature: str | None = None,
        status: str = "in-progress",
    ) -> aiohttp.ClientResponse:
        public = url if url.startswith("http") else self.public_url + url
        params = {
            "AccountSid": "AC" + "1" * 32,
            "ApiVersion": "2010-04-01",
            "CallSid": self.call_sid,
            "CallStatus": status,
            "Direction": "inbound",
            "From": self.caller,
            "To": self.called,
            "Caller": self.caller,
            "Called": self.called,
            **(extra or {}),
        }
        sig = self.sign(public, params) if signature is None else signature
        parts = urlsplit(public)
        local = self.server_url + parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"X-Twilio-Signature": sig} if sig else {}
        return await self.session.post(local, data=params, headers=headers)

    async def twiml(
        self, url: str, extra: dict[str, str] | None = None, status: str = "in-progress"
    ) -> ET.Element:
        async with await self.post(url, extra, status=status) as response:
            assert response.status == 200, await response.text()
            assert response.content_type in {"text/xml", "application/xml"}
            document = parse_twiml(await response.text())
        self.documents.append(document)
        return document

    async def fetch_play(self, url: str) -> WavFormat:
        parts = urlsplit(url)
        async with self.session.get(self.server_url + parts.path) as response:
            assert response.status == 200
            assert response.content_type in {"audio/wav", "audio/x-wav"}
            return wav_format(await response.read())

    async def status_callback(self, status: str = "completed", duration: int = 42) -> int:
        self.sequence += 1
        async with await self.post(
            "/twilio/status",
            {
                "CallDuration": str(duration),
                "SequenceNumber": str(self.sequence),
                "Timestamp": "Mon, 23 Nov 2026 01:02:03 +0000",
                "CallbackSource": "call-progress-events",
            },
            status=status,
        ) as response:
            return response.status
