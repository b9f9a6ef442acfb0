"""What Twilio does with a call or message created over REST: ring, answer, report, deliver.

A call is ``queued`` when created, then, per the called phone's behaviour: ``initiated`` →
``ringing`` → answered (``in-progress``) after ``ring_seconds`` → over (``completed``), or
``busy``, ``failed``, ``no-answer`` (rang out the call's ``Timeout``), ``canceled`` (ended over
REST while ringing). Each step requested in ``StatusCallbackEvent`` is reported to
``StatusCallback``, signed with the account's auth token, with Twilio's call progress
parameters (``CallStatus``, ``Direction=outbound-api``, ``SequenceNumber`` counting the
callbacks sent, ``Timestamp``, ``CallbackSource``, and ``CallDuration`` with the final status);
with no events asked for, only the final one is sent, as Twilio does.

Ringing and talking take ``time_scale`` real seconds per simulated second (0: none) and wake
at once for a REST command. A ``signal_only`` phone hangs up after ``talk_seconds``; a
``follow_twiml`` phone requests the ``Url`` and follows the TwiML like the simulated caller.
A message is ``queued``, then ``sent`` and ``delivered`` (``undelivered`` to a phone that
``failed``), each reported to its ``StatusCallback``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import urlsplit

import aiohttp

from telephony.simulator.caller import answer_call
from telephony.simulator.live_call import Command, HangUpNow, LiveCall, RedirectTo
from telephony.simulator.network import Network
from telephony.simulator.phones import Phone
from telephony.simulator.rest_record import PlacedCall, SentCallback, SentMessage
from telephony.simulator.scenario import CallerConfig
from telephony.simulator.transcript import CallTranscript, SimulationError, Step
from telephony.simulator.twilio_forms import API_VERSION, TwilioForms
from telephony.simulator.twilio_http import TwilioHttp

log = logging.getLogger(__name__)

UNDELIVERED_ERROR_CODE: Final = "30003"
"""Twilio's error code for a message to an unreachable handset."""

CallbackSink = Callable[[SentCallback], None]


@dataclass(frozen=True)
class Webhooks:
    """Where webhooks go: the customer's server, and the public URL Twilio knows it by.

    Attributes:
        server_url: Where to connect.
        public_url: The base of the URLs given over REST (what is signed); None: the same.

    """

    server_url: str
    public_url: str | None = None


@dataclass(frozen=True)
class Line:
    """What every call and message the stand-in places shares."""

    session: aiohttp.ClientSession
    account_sid: str
    auth_token: str
    network: Network
    time_scale: float
    webhooks: Webhooks | None
    on_callback: CallbackSink


@dataclass(frozen=True)
class CallOrder:
    """A create-call request, checked."""

    to: str
    from_: str
    url: str
    method: str
    status_callback: str | None
    status_callback_method: str
    status_events: tuple[str, ...]
    timeout_seconds: int


@dataclass
class CallRecord:
    """A placed call: the order, the live call, and what came of it."""

    order: CallOrder
    live: LiveCall
    phone: Phone
    rest_status: int = 201
    transcript: CallTranscript | None = None
    error: str | None = None

    def snapshot(self) -> PlacedCall:
        """The call as it stands now."""
        order = self.order
        return PlacedCall(
            sid=self.live.sid,
            to=order.to,
            from_=order.from_,
            url=order.url,
            method=order.method,
            status_callback=order.status_callback,
            status_events=order.status_events,
            timeout_seconds=order.timeout_seconds,
            created_at=self.live.date_created,
            rest_status=self.rest_status,
            status=self.live.status,
            duration_seconds=self.live.duration_seconds,
            transcript=self.transcript,
            error=self.error,
        )


@dataclass
class MessageRecord:
    """A message created over REST and its delivery status."""

    sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    created_at: datetime
    status: str = "queued"
    phone: Phone = field(default_factory=Phone)

    def snapshot(self) -> SentMessage:
        """The message as it stands now."""
        return SentMessage(
            self.sid,
            self.to,
            self.from_,
            self.body,
            self.status_callback,
            self.created_at,
            self.status,
        )


def webhook_config(
    line: Line, *, call_sid: str, caller: str, called: str, url: str
) -> CallerConfig:
    """The simulator's view of one outbound call: who, and where its webhooks go.

    Without configured webhooks, they go to the URLs as given (the origin of ``url``).
    """
    if line.webhooks is not None:
        server, public = line.webhooks.server_url, line.webhooks.public_url
    else:
        parts = urlsplit(url)
        server, public = f"{parts.scheme}://{parts.netloc}", None
    return CallerConfig(
        server_url=server,
        public_url=public,
        account_sid=line.account_sid,
        auth_token=line.auth_token,
        caller=caller,
        called=called,
        call_sid=call_sid,
        direction="outbound-api",
        time_scale=line.time_scale,
    )


async def run_call(record: CallRecord, line: Line) -> None:
    """Take a placed call from ``queued`` to its final status, reporting each step."""
    await _OutboundCall(record, line).run()


class _OutboundCall:
    """One placed call in progress, on a simulated clock starting at its creation."""

    def __init__(self, record: CallRecord, line: Line) -> None:
        self.record = record
        self.order = record.order
        self.live = record.live
        self.line = line
        base = webhook_config(
            line,
            call_sid=self.live.sid,
            caller=self.order.from_,
            called=self.order.to,
            url=self.order.url,
        )
        phone = record.phone
        self.config = replace(base, digits=phone.script, bridged_seconds=phone.talk_seconds)
        self.forms = TwilioForms(self.config)
        self.http = TwilioHttp(line.session, self.config, _unrecorded)
        self.sequence = 0
        self.elapsed = 0.0
        self.answered_at: float | None = None

    async def run(self) -> None:
        self.live.start_time = self._at()  # dialing starts at once: no CPS queue simulated
        await self._report("initiated", "initiated")
        phone = self.record.phone
        if phone.behaviour in ("failed", "busy"):
            await self._end(phone.behaviour)
            return
        self.live.set_status("ringing", self._at())
        await self._report("ringing", "ringing")
        answers = phone.behaviour == "answer" and phone.ring_seconds < self.order.timeout_seconds
        command = await self._pass(phone.ring_seconds if answers else self.order.timeout_seconds)
        if isinstance(command, HangUpNow):
            await self._end("canceled")
            return
        if not answers:
            await self._end("no-answer")
            return
        url, method = self.order.url, self.order.method
        if isinstance(command, RedirectTo):  # a new Url while ringing: used on answer
            url, method = command.url, command.method
        await self._answered()
        await self._end(await self._talk(url, method))

    async def _answered(self) -> None:
        self.answered_at = self.elapsed
        self.live.set_status("in-progress", self._at())
        await self._report("answered", "in-progress")

    async def _talk(self, url: str, method: str) -> str:
        """Talk until the call is over; its final status."""
        if self.record.phone.mode == "signal_only":
            command = await self._pass(self.record.phone.talk_seconds)
            if not isinstance(command, RedirectTo):
                return "completed"
            url, method = command.url, command.method
        try:
            transcript = await answer_call(
                self.config,
                url=url,
                method=method,
                live=self.live,
                network=self.line.network,
                session=self.line.session,
            )
        except SimulationError as err:
            log.warning("call %s to %s: %s", self.live.sid, self.order.to, err.reason)
            self.record.error = err.reason
            return "completed"  # Twilio says "an application error has occurred", hangs up
        self.record.transcript = transcript
        self.elapsed += transcript.duration_seconds
        return transcript.final_status

    async def _pass(self, seconds: float) -> Command | None:
        """Let simulated ``seconds`` go by; a REST command ends it early and is returned."""
        scale = self.line.time_scale
        if scale > 0 and seconds > 0:
            loop = asyncio.get_running_loop()
            begun = loop.time()
            while (
                self.live.pending is None and (left := seconds - (loop.time() - begun) / scale) > 0
            ):
                await self.live.sleep(left * scale)
            seconds = min(seconds, (loop.time() - begun) / scale)
        self.elapsed += seconds
        return self.live.take()

    async def _end(self, status: str) -> None:
        duration = 0.0 if self.answered_at is None else self.elapsed - self.answered_at
        self.live.end(status, self._at(), duration)
        await self._report("completed", status, self.live.duration_seconds or 0)

    def _at(self) -> datetime:
        return self.live.date_created + timedelta(seconds=self.elapsed)

    async def _report(self, event: str, status: str, duration: int | None = None) -> None:
        url = self.order.status_callback
        if url is None or event not in (self.order.status_events or ("completed",)):
            return
        form = self.forms.progress(status, self.sequence, self._at(), duration)
        http_status = await _deliver(self.http, self.order.status_callback_method, url, form)
        self.line.on_callback(
            SentCallback(self.live.sid, event, status, self.sequence, url, http_status)
        )
        self.sequence += 1


async def deliver_message(message: MessageRecord, line: Line) -> None:
    """Take a message from ``queued`` to delivered (or undelivered), reporting each step."""
    outcome = "undelivered" if message.phone.behaviour == "failed" else "delivered"
    for status in ("sent", outcome):
        message.status = status
        if message.status_callback is None:
            continue
        config = webhook_config(
            line,
            call_sid=message.sid,
            caller=message.from_,
            called=message.to,
            url=message.status_callback,
        )
        form = {
            "AccountSid": line.account_sid,
            "ApiVersion": API_VERSION,
            "MessageSid": message.sid,
            "SmsSid": message.sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "From": message.from_,
            "To": message.to,
        }
        if status == "undelivered":
            form["ErrorCode"] = UNDELIVERED_ERROR_CODE
        http = TwilioHttp(line.session, config, _unrecorded)
        http_status = await _deliver(http, "POST", message.status_callback, form)
        line.on_callback(
            SentCallback(message.sid, status, status, 0, message.status_callback, http_status)
        )


def _unrecorded(_: Step) -> None:
    """Callback requests are recorded as ``SentCallback``s, not as transcript steps."""


async def _deliver(http: TwilioHttp, method: str, url: str, form: dict[str, str]) -> int | None:
    """Send a callback; Twilio logs a failure and goes on, so None says it was not received."""
    try:
        return await http.send_callback(method, url, form)
    except SimulationError as err:
        log.warning("status callback not delivered: %s", err.reason)
        return None
