"""Twilio's side of the HTTP exchange: signed form requests to public URLs, checked answers.

Twilio signs the URL it was configured with (the server's public base URL, path and query)
while the simulator's TCP connection goes to ``server_url``; every public URL is mapped onto
the server before connecting, and a URL outside the public base cannot be reached offline.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Final
from urllib.parse import unquote, urlencode, urlsplit

import aiohttp
from twilio.request_validator import RequestValidator

from telephony.simulator.scenario import CallerConfig
from telephony.simulator.transcript import Requested, SimulationError, Step
from telephony.simulator.twiml_rules import Document, TwimlRejected, check_twiml
from telephony.twiml import PROMPT_TEXT_HEADER

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT: Final = timedelta(seconds=15)
"""Twilio waits 15 s for the answer to a voice webhook; a slower answer is a failure."""

TWIML_CONTENT_TYPES: Final = frozenset({"text/xml", "application/xml"})
FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
USER_AGENT: Final = "TwilioProxy/1.1"
"""The User-Agent of Twilio's webhook requests."""
STREAM_USER_AGENT: Final = "Twilio.TmeWs/1.0"
"""The User-Agent of Twilio's Media Streams websocket handshake."""

StepSink = Callable[[Step], None]


@dataclass(frozen=True)
class FetchedDocument:
    """Checked TwiML and the public URL it came from (relative URLs resolve against it)."""

    url: str
    document: Document


class TwilioHttp:
    """Makes the requests Twilio would make for one call, signed, and checks the answers."""

    def __init__(self, session: aiohttp.ClientSession, config: CallerConfig, record: StepSink):
        """Talk to ``config.server_url`` through ``session``; report each request to ``record``."""
        self._session = session
        self._config = config
        self._validator = RequestValidator(config.auth_token)
        self._record = record

    async def fetch_twiml(
        self,
        method: str,
        url: str,
        form: Mapping[str, str],
        *,
        purpose: str,
        wait_url: bool = False,
    ) -> FetchedDocument:
        """Request TwiML the way Twilio does and check it.

        Args:
            method: ``GET`` (form in the query string) or ``POST`` (form in the body).
            url: The absolute public URL.
            form: The webhook parameters.
            purpose: What the request is for, for the transcript and errors.
            wait_url: Check the answer as an ``<Enqueue waitUrl>`` document.

        Raises:
            SimulationError: The server was unreachable, did not answer 200, answered
                something other than XML, or TwiML that Twilio would refuse.

        """
        status, content_type, body = await self._send(method, url, form, purpose)
        if status != 200:
            raise SimulationError(f"{purpose}: {method} {url} answered HTTP {status}")
        if content_type not in TWIML_CONTENT_TYPES:
            raise SimulationError(
                f"{purpose}: {method} {url} answered Content-Type {content_type!r}, not XML"
            )
        text = body.decode("utf-8", errors="replace")
        try:
            return FetchedDocument(url, check_twiml(text, wait_url=wait_url))
        except TwimlRejected as err:
            raise SimulationError(
                f"{purpose}: {url} answered TwiML Twilio would refuse: {err.reason}"
            ) from err

    async def fetch_media(self, url: str) -> tuple[bytes, str | None]:
        """GET a file to ``<Play>``; anything but 200 is a failure.

        Returns:
            The file, and what it says when the server tells (voicedesk's prompt-text header).

        """
        status, _, body, headers = await self._exchange("GET", url, {}, "play")
        if status != 200:
            raise SimulationError(f"play: GET {url} answered HTTP {status}")
        spoken = headers.get(PROMPT_TEXT_HEADER)
        return body, None if spoken is None else unquote(spoken)

    async def open_stream(self, url: str) -> aiohttp.ClientWebSocketResponse:
        """Open a ``<Stream>`` websocket the way Twilio does.

        The handshake carries ``X-Twilio-Signature`` over the public ``wss://`` URL with no
        parameters, as Twilio signs Media Streams connections.

        Args:
            url: The ``<Stream url>``: under the public URL, with ``wss`` for its scheme.

        Returns:
            The open websocket; the caller closes it.

        Raises:
            SimulationError: The URL is outside the public URL, or the server refused or
                did not answer the handshake.

        """
        target = self._stream_on_server(url)
        headers = {
            "X-Twilio-Signature": self._validator.compute_signature(url, {}),
            "User-Agent": STREAM_USER_AGENT,
        }
        log.debug("websocket %s (signed as %s)", target, url)
        try:
            async with asyncio.timeout(WEBHOOK_TIMEOUT.total_seconds()):
                return await self._session.ws_connect(target, headers=headers, autoping=True)
        except aiohttp.WSServerHandshakeError as err:
            raise SimulationError(
                f"stream: {url} refused the websocket handshake: HTTP {err.status}"
            ) from err
        except (aiohttp.ClientError, TimeoutError) as err:
            raise SimulationError(f"stream: connecting to {url} failed: {err!r}") from err

    async def post_status(self, url: str, form: Mapping[str, str]) -> None:
        """POST the status callback; Twilio only needs a 2xx and ignores the body."""
        status, _, _ = await self._send("POST", url, form, "status callback")
        if not 200 <= status < 300:
            raise SimulationError(f"status callback: POST {url} answered HTTP {status}")

    async def send_callback(self, method: str, url: str, form: Mapping[str, str]) -> int:
        """Send a status callback (``GET`` or ``POST``) and return the HTTP status answered.

        Twilio logs an error answer and goes on, so only an unreachable URL raises.

        Raises:
            SimulationError: The URL is outside the public URL, or could not be reached.

        """
        status, _, _ = await self._send(method, url, form, "status callback")
        return status

    async def _send(
        self, method: str, url: str, form: Mapping[str, str], purpose: str
    ) -> tuple[int, str, bytes]:
        status, content_type, payload, _ = await self._exchange(method, url, form, purpose)
        return status, content_type, payload

    async def _exchange(
        self, method: str, url: str, form: Mapping[str, str], purpose: str
    ) -> tuple[int, str, bytes, Mapping[str, str]]:
        signed_url, body = _signed_request(method, url, form)
        headers = {
            "X-Twilio-Signature": self._validator.compute_signature(signed_url, body),
            "I-Twilio-Idempotency-Token": secrets.token_hex(16),
            "User-Agent": USER_AGENT,
        }
        if method == "POST":
            headers["Content-Type"] = FORM_CONTENT_TYPE
        target = self._on_server(signed_url)
        log.debug("%s %s (signed as %s)", method, target, signed_url)
        try:
            async with self._session.request(
                method,
                target,
                data=urlencode(body) if method == "POST" else None,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT.total_seconds()),
                allow_redirects=False,
            ) as response:
                payload = await response.read()
                self._record(Requested(method, signed_url, response.status, purpose))
                return response.status, response.content_type, payload, response.headers
        except (aiohttp.ClientError, TimeoutError) as err:
            raise SimulationError(f"{purpose}: {method} {signed_url} failed: {err!r}") from err

    def _stream_on_server(self, public: str) -> str:
        # Twilio connects with TLS (wss) to the public URL; the server behind it may speak
        # plain ws, as its webhooks may speak plain http behind a TLS-terminating proxy.
        scheme, sep, rest = public.partition("://")
        if scheme != "wss" or not sep:
            raise SimulationError(f"stream: {public} is not a wss:// URL")
        public_scheme = urlsplit(self._config.base_public_url).scheme
        try:
            server = self._on_server(f"{public_scheme}://{rest}")
        except SimulationError:
            raise SimulationError(
                f"stream: {public} is outside the public URL {self._config.base_public_url}; "
                "offline, the simulator can reach only the voicedesk server"
            ) from None
        return "ws" + server.removeprefix("http")

    def _on_server(self, public: str) -> str:
        base = self._config.base_public_url
        rest = public[len(base) :]
        if not public.startswith(base) or rest[:1] not in ("", "/", "?"):
            raise SimulationError(
                f"{public} is outside the public URL {base}; offline, the simulator can "
                "reach only the voicedesk server"
            )
        return self._config.base_server_url + rest


def _signed_request(method: str, url: str, form: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The URL Twilio signs and the body parameters it signs with it.

    For GET, Twilio appends the parameters to the query string and signs the whole URL.
    """
    if method == "GET" and form:
        separator = "&" if "?" in url else "?"
        return url + separator + urlencode(form), {}
    return url, dict(form)
