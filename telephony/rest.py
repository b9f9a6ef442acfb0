"""The Twilio REST API as voicedesk uses it: calls, call updates, queue members, SMS, Conversations.

The only place REST calls live. It drives the real ``twilio`` library's ``Client`` with its
asynchronous HTTP client (``*_async`` methods), so the event loop never waits on Twilio; the
``api`` and ``conversations`` domains' base URL can point at the simulator's stand-in
(``VOICEDESK_TWILIO_API_BASE``), since Twilio's cloud cannot be reached from our machines.

Every failure leaves as one of two errors, because the caller's next move depends only on this:

- :class:`RestRejectedError`: Twilio answered 4xx. Nothing happened; retrying the same request
  is pointless.
- :class:`RestUncertainError`: a timeout, a connection error, a 5xx or an unreadable answer.
  The request may or may not have taken effect (a call may have been placed): look before
  trying again.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client

DEFAULT_TIMEOUT_SECONDS: Final = 10.0
"""Seconds one REST operation may take, pages included: Twilio answers in well under a second;
a request hanging longer is treated as uncertain rather than holding a dial slot for minutes
(aiohttp's own default is 5 minutes)."""

DEFAULT_STATUS_EVENTS: Final = ("initiated", "ringing", "answered", "completed")
"""Every call progress event Twilio offers: the dialer records each step of a callback call."""

DEFAULT_RING_TIMEOUT_SECONDS: Final = 30
"""Seconds Twilio lets an outbound call ring: long enough for a person to reach the phone,
short enough to give up before most voicemail systems answer (Twilio's default is 60)."""

CONVERSATION_EXISTS: Final = 50353
"""Twilio's code for "Conversation with provided unique name already exists" (409)."""

ALREADY_PARTICIPANT: Final = frozenset({50416, 50433, 50437})
"""Twilio's codes for a participant (or its address and proxy address binding) already there."""

_EXPLICIT_ENVIRONMENT: Final[Mapping[str, str]] = {"TWILIO_EDGE": "", "TWILIO_REGION": ""}
"""Given to ``Client`` instead of ``os.environ``, which it reads otherwise: configuration is read
once, at the entry point, and a stray ``TWILIO_REGION`` would rewrite the stand-in's host."""


class TelephonyRestError(Exception):
    """A Twilio REST request failed.

    Attributes:
        status: The HTTP status Twilio answered, or None when no answer came.
        code: Twilio's error code (e.g. 20404), when it gave one.

    """

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class RestRejectedError(TelephonyRestError):
    """Twilio answered 4xx: the request was refused and nothing happened."""


class RestUncertainError(TelephonyRestError):
    """No clear answer (timeout, connection error, 5xx): it may or may not have happened."""


@dataclass(frozen=True)
class OutboundCall:
    """A call to place.

    Attributes:
        to: The number to call (E.164).
        from_: Our number the call comes from (E.164).
        url: Where Twilio asks for TwiML once the call is answered.
        status_callback: Where Twilio reports the call's progress.
        status_events: The progress events to report.
        timeout_seconds: How long to let it ring.

    """

    to: str
    from_: str
    url: str
    status_callback: str
    status_events: tuple[str, ...] = DEFAULT_STATUS_EVENTS
    timeout_seconds: int = DEFAULT_RING_TIMEOUT_SECONDS


@dataclass(frozen=True)
class CallInfo:
    """What Twilio's call log says about one call."""

    sid: str
    to: str
    status: str
    start_time: datetime | None


class TwilioRest:
    """The Twilio REST API for one account, over the real ``twilio`` client."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        api_base: str | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        """Talk to Twilio as ``account_sid``.

        Args:
            account_sid: The ``AC…`` account SID.
            auth_token: The account's auth token.
            api_base: Base URL of the ``api`` domain instead of ``https://api.twilio.com``
                (the simulator's stand-in).
            timeout_seconds: Limit for one operation; beyond it the outcome is uncertain.

        """
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds: must be positive")
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._api_base = api_base.rstrip("/") if api_base else None
        self._timeout = timeout_seconds
        self._client: Any = None
        self._http: AsyncTwilioHttpClient | None = None

    async def create_call(self, call: OutboundCall) -> str:
        """Place a call.

        Returns:
            Its CallSid.

        Raises:
            RestRejectedError: Twilio refused it; no call was placed.
            RestUncertainError: The call may or may not have been placed.

        """
        async with self._boundary(f"create call to {call.to}"):
            created = await self._account().calls.create_async(
                to=call.to,
                from_=call.from_,
                url=call.url,
                method="POST",
                status_callback=call.status_callback,
                status_callback_event=list(call.status_events),
                status_callback_method="POST",
                timeout=call.timeout_seconds,
            )
            return str(created.sid)

    async def find_calls(self, *, to: str, started_after: datetime) -> list[CallInfo]:
        """Calls to ``to`` that started at or after ``started_after`` (crash reconciliation).

        Twilio filters by start time; the list is filtered again here to the second, since
        Twilio documents its filter by date. A call still queued at Twilio has no start time
        yet, so the calls to ``to`` that are queued are asked for too: a call Twilio accepted is
        in one list or the other.

        Args:
            to: The number called (E.164).
            started_after: Timezone-aware lower bound.

        Raises:
            ValueError: ``started_after`` is naive.
            TelephonyRestError: The log could not be read.

        """
        if started_after.tzinfo is None:
            raise ValueError("started_after: must be timezone-aware")
        since = started_after.astimezone(UTC).replace(microsecond=0)
        async with self._boundary(f"list calls to {to}"):
            started = await self._account().calls.list_async(to=to, start_time_after=since)
            queued = await self._account().calls.list_async(to=to, status="queued")
        found = {call.sid: call for call in map(_call_info, (*started, *queued))}
        return [
            call for call in found.values() if call.start_time is None or call.start_time >= since
        ]

    async def fetch_call(self, call_sid: str) -> CallInfo:
        """One call's current state.

        Raises:
            RestRejectedError: Twilio has no such call.
            RestUncertainError: No clear answer.

        """
        async with self._boundary(f"fetch call {call_sid}"):
            return _call_info(await self._account().calls(call_sid).fetch_async())

    async def redirect_call(self, call_sid: str, url: str) -> None:
        """Make a live call leave what it is doing and run the TwiML at ``url`` (POST).

        Raises:
            RestRejectedError: No such call, or it is over.
            RestUncertainError: No clear answer.

        """
        async with self._boundary(f"redirect call {call_sid}"):
            await self._account().calls(call_sid).update_async(url=url, method="POST")

    async def hangup_call(self, call_sid: str) -> None:
        """End a call (``Status=completed``).

        Raises:
            RestRejectedError: No such call.
            RestUncertainError: No clear answer.

        """
        async with self._boundary(f"hang up call {call_sid}"):
            await self._account().calls(call_sid).update_async(status="completed")

    async def dequeue_member(self, queue: str, call_sid: str, url: str) -> None:
        """Take a waiting call out of a queue; it runs the TwiML at ``url`` (POST).

        Args:
            queue: The queue's friendly name (the text of ``<Enqueue>``).
            call_sid: The waiting call.
            url: The TwiML the call runs next (e.g. joining the agent's conference).

        Raises:
            RestRejectedError: No such queue, or the call is not waiting in it.
            RestUncertainError: No clear answer.

        """
        async with self._boundary(f"dequeue {call_sid} from {queue}"):
            queues = await self._account().queues.list_async()
            sids = [q.sid for q in queues if q.friendly_name == queue]
            if not sids:
                raise RestRejectedError(f"dequeue {call_sid}: there is no queue named {queue!r}")
            member = self._account().queues(sids[0]).members(call_sid)
            await member.update_async(url=url, method="POST")

    async def send_sms(
        self, *, to: str, from_: str, body: str, status_callback: str | None = None
    ) -> str:
        """Send a text message.

        Returns:
            Its MessageSid.

        Raises:
            RestRejectedError: Twilio refused it; nothing was sent.
            RestUncertainError: It may or may not have been sent.

        """
        async with self._boundary(f"send SMS to {to}"):
            options = {} if status_callback is None else {"status_callback": status_callback}
            message = await self._account().messages.create_async(
                to=to, from_=from_, body=body, **options
            )
            return str(message.sid)

    async def create_conversation(self, *, unique_name: str, friendly_name: str) -> str:
        """Create a Conversation, or find the one already created with ``unique_name``.

        The unique name makes a retry after an uncertain answer safe: Twilio refuses a second
        conversation with it (409, code 50353), and the existing one is fetched instead.

        Returns:
            Its ConversationSid (``CH…``).

        Raises:
            RestRejectedError: Twilio refused it.
            RestUncertainError: It may or may not have been created.

        """
        async with self._boundary(f"create conversation {unique_name}"):
            conversations = self._conversations().conversations
            try:
                created = await conversations.create_async(
                    unique_name=unique_name, friendly_name=friendly_name
                )
            except TwilioRestException as err:
                if err.code != CONVERSATION_EXISTS:
                    raise
                created = await conversations(unique_name).fetch_async()
            return str(created.sid)

    async def add_sms_participant(
        self, conversation_sid: str, *, address: str, proxy_address: str
    ) -> str:
        """Add a phone to a Conversation as an SMS participant (already there: fine).

        Args:
            conversation_sid: The conversation.
            address: The customer's number (E.164).
            proxy_address: Our number the conversation texts them from.

        Returns:
            The participant's SID (``MB…``), new or the one already in the conversation.

        Raises:
            RestRejectedError: Twilio refused it, e.g. the number is bound to another open
                conversation with the same proxy address (409, code 50416).
            RestUncertainError: It may or may not have been added.

        """
        async with self._boundary(f"add {address} to conversation {conversation_sid}"):
            participants = self._conversations().conversations(conversation_sid).participants
            try:
                added = await participants.create_async(
                    messaging_binding_address=address,
                    messaging_binding_proxy_address=proxy_address,
                )
                return str(added.sid)
            except TwilioRestException as err:
                if err.code not in ALREADY_PARTICIPANT:
                    raise
                # The same codes name a binding held by *another* conversation: only this
                # conversation's own participant list tells whether the customer is in it.
                for participant in await participants.list_async():
                    binding = participant.messaging_binding or {}
                    if (binding.get("address"), binding.get("proxy_address")) == (
                        address,
                        proxy_address,
                    ):
                        return str(participant.sid)
                raise

    async def post_conversation_message(
        self, conversation_sid: str, *, author: str, body: str
    ) -> str:
        """Post a message to a Conversation; Twilio texts it to its SMS participants.

        Returns:
            The message's SID (``IM…``).

        Raises:
            RestRejectedError: Twilio refused it; nothing was posted.
            RestUncertainError: It may or may not have been posted.

        """
        async with self._boundary(f"post to conversation {conversation_sid}"):
            messages = self._conversations().conversations(conversation_sid).messages
            message = await messages.create_async(author=author, body=body)
            return str(message.sid)

    async def close_conversation(self, conversation_sid: str) -> None:
        """Close a Conversation (``State=closed``): it frees the customer's SMS binding.

        Raises:
            RestRejectedError: No such conversation.
            RestUncertainError: No clear answer.

        """
        async with self._boundary(f"close conversation {conversation_sid}"):
            await self._conversations().conversations(conversation_sid).update_async(state="closed")

    async def close(self) -> None:
        """Close the HTTP connections; the object may be used again afterwards."""
        http, self._http, self._client = self._http, None, None
        if http is not None:
            await http.close()

    async def __aenter__(self) -> TwilioRest:
        """Use as ``async with TwilioRest(…) as rest``."""
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Close on the way out."""
        await self.close()

    def _account(self) -> Any:
        return self._twilio().api.v2010.account

    def _conversations(self) -> Any:
        return self._twilio().conversations.v1

    def _twilio(self) -> Any:
        # Built on first use, inside the running loop: the HTTP client opens an aiohttp session.
        if self._client is None:
            self._http = AsyncTwilioHttpClient()
            client = Client(
                self._account_sid,
                self._auth_token,
                http_client=self._http,
                environment=dict(_EXPLICIT_ENVIRONMENT),
            )
            if self._api_base is not None:
                client.api.base_url = self._api_base
                client.conversations.base_url = self._api_base
            self._client = client
        return self._client

    @asynccontextmanager
    async def _boundary(self, what: str) -> AsyncIterator[None]:
        """Run one operation under the timeout; translate what the libraries raise, once."""
        try:
            async with asyncio.timeout(self._timeout):
                yield
        except TelephonyRestError:
            raise
        except TwilioRestException as err:
            raise _by_status(f"{what}: {err.msg}", err.status, err.code) from err
        except TwilioException as err:
            status = _status_of(err)
            raise _by_status(f"{what}: {err}", status, getattr(err, "code", None)) from err
        except TimeoutError as err:
            raise RestUncertainError(f"{what}: no answer within {self._timeout} s") from err
        except (aiohttp.ClientError, json.JSONDecodeError) as err:
            raise RestUncertainError(f"{what}: {err!r}") from err


def _by_status(message: str, status: int | None, code: object) -> TelephonyRestError:
    twilio_code = code if isinstance(code, int) else None
    if status is not None and 400 <= status < 500:
        return RestRejectedError(message, status=status, code=twilio_code)
    return RestUncertainError(message, status=status, code=twilio_code)


def _status_of(err: TwilioException) -> int | None:
    """The HTTP status behind a twilio error that does not carry it as an attribute."""
    status = getattr(err, "status", None)
    if isinstance(status, int):
        return status
    for arg in err.args:  # a page that could not be read carries the response
        if isinstance(arg, TwilioResponse):
            return int(arg.status_code)
    return None


def _call_info(call: Any) -> CallInfo:
    start = call.start_time
    return CallInfo(
        sid=str(call.sid),
        to=str(call.to or ""),
        status=str(call.status or ""),
        start_time=start if isinstance(start, datetime) else None,
    )
