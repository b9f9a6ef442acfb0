"""The app's rate limits, and who the client is: the limiters every route shares.

- customer chat messages, per socket and per chat link (``chat_pages``);
- chat page loads and socket connections, per client address (``chat_pages``);
- failed API key checks, per client address (``api``'s middleware and the agent console).

A request over a limit gets 429 with ``Retry-After`` (a socket message: an error that says how
long to wait); nothing already accepted is touched. The client address is the socket's peer,
or the last ``X-Forwarded-For`` entry when ``VOICEDESK_TRUST_FORWARDED_FOR`` says a proxy that
appends it stands in front (any earlier entry is whatever the client chose to send).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Final

from aiohttp import hdrs, web

from config.settings import Settings
from web.rate_limit import MonotonicClock, RateLimiter

ADDRESS_CHARS: Final = 64
"""A client address as a key: an IPv6 address with a zone is under 64 characters."""
UNKNOWN_ADDRESS: Final = "unknown"


@dataclass(frozen=True)
class Throttles:
    """The limiters of one app (one process)."""

    chat_socket_per_minute: int
    chat_link: RateLimiter
    chat_page: RateLimiter
    auth_failures: RateLimiter
    trust_forwarded_for: bool
    clock: MonotonicClock

    @classmethod
    def from_settings(cls, settings: Settings, clock: MonotonicClock) -> Throttles:
        """The limits ``settings`` configures, on ``clock``."""
        return cls(
            chat_socket_per_minute=settings.chat_socket_messages_per_minute,
            chat_link=RateLimiter(settings.chat_link_messages_per_minute, clock=clock),
            chat_page=RateLimiter(settings.chat_page_requests_per_minute, clock=clock),
            auth_failures=RateLimiter(settings.auth_failures_per_minute, clock=clock),
            trust_forwarded_for=settings.trust_forwarded_for,
            clock=clock,
        )

    def chat_socket(self) -> RateLimiter:
        """A new customer socket's own limiter (one key: the socket)."""
        return RateLimiter(self.chat_socket_per_minute, clock=self.clock, max_keys=1)

    def admit_chat_request(self, request: web.Request) -> None:
        """Count a chat page load or socket connection of the client.

        Raises:
            web.HTTPTooManyRequests: The client is over its rate.

        """
        if wait := self.chat_page.take(self.client_address(request)):
            raise too_many_requests(wait, "too many chat requests from your address")

    def admit_key_check(self, request: web.Request, *, as_json: bool = False) -> str:
        """The client whose API key is about to be checked, unless it failed too often.

        Refused before its key is looked at: otherwise one success among the 429s would still
        confirm a guess. Tell :meth:`key_check_failed` when the key is wrong.

        Raises:
            web.HTTPTooManyRequests: The client is over its rate of failed checks.

        """
        client = self.client_address(request)
        if wait := self.auth_failures.wait(client):
            raise too_many_requests(wait, "too many failed API key checks", as_json=as_json)
        return client

    def key_check_failed(self, client: str) -> None:
        """Count a failed API key check of ``client``."""
        self.auth_failures.take(client)

    def take_chat_message(self, socket_rate: RateLimiter, chat_id: int) -> float:
        """Take a customer message of one socket and chat; else the seconds to wait."""
        wait = max(socket_rate.wait(None), self.chat_link.wait(chat_id))
        if not wait:
            socket_rate.take(None)
            self.chat_link.take(chat_id)
        return wait

    def client_address(self, request: web.Request) -> str:
        """The address of the client behind ``request`` (see the module's docstring)."""
        if self.trust_forwarded_for:
            hops = [
                hop.strip()
                for header in request.headers.getall(hdrs.X_FORWARDED_FOR, [])
                for hop in header.split(",")
            ]
            if hops and hops[-1]:
                return hops[-1][:ADDRESS_CHARS]
        return request.remote or UNKNOWN_ADDRESS


def retry_after(wait: float) -> int:
    """Whole seconds to tell a client to wait (at least 1)."""
    return max(1, math.ceil(wait))


def too_many_requests(wait: float, message: str, *, as_json: bool = False) -> web.HTTPException:
    """A 429 saying ``message`` (plain text, or ``{"error": …}``) with ``Retry-After``."""
    seconds = retry_after(wait)
    text = f"{message}; try again in {seconds} s"
    return web.HTTPTooManyRequests(
        text=json.dumps({"error": text}) if as_json else text,
        content_type="application/json" if as_json else "text/plain",
        headers={hdrs.RETRY_AFTER: str(seconds)},
    )
