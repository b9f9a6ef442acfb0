"""The stand-in for Twilio's REST API: an aiohttp server on a local port, for one account.

Endpoints (under ``/2010-04-01/Accounts/{AccountSid}``): ``Calls.json`` (create, list),
``Calls/{Sid}.json`` (fetch, update: redirect or end), ``Queues.json`` (create, list),
``Queues/{Sid}.json``, ``Queues/{Sid}/Members.json``, ``Queues/{Sid}/Members/{CallSid}.json``
(fetch, dequeue), ``Messages.json`` (create), ``Messages/{Sid}.json``; and the Conversations API
under ``/v1/Conversations`` (``telephony.simulator.conversations``: point the client's
``conversations`` domain here too). Requests need HTTP Basic auth with the account SID and auth
token (401 with Twilio's error body otherwise); bad input gets Twilio's 400/404 error bodies.
What the calls then do is ``telephony.simulator.outbound``; what was asked and done is recorded
(:attr:`RestStandIn.record`).

Usage::

    async with RestStandIn(ACCOUNT, TOKEN, server_url=app_url, time_scale=0.01) as twilio:
        twilio.phones["+821055512345"] = Phone(mode="follow_twiml", script=("1",))
        rest = TwilioRest(ACCOUNT, TOKEN, api_base=twilio.url)
        ...
        await twilio.settle()
        assert not twilio.record.duplicate_dials()
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Final

from aiohttp import web

from telephony.simulator import conversations
from telephony.simulator import rest_params as params
from telephony.simulator.conversations import ConversationStore
from telephony.simulator.network import Network
from telephony.simulator.outbound import Webhooks
from telephony.simulator.phones import PhoneBook, RestFault
from telephony.simulator.rest_params import RestRefusal
from telephony.simulator.rest_record import RecordedRequest, StandInRecord
from telephony.simulator.rest_resources import (
    JsonObject,
    account_path,
    call_json,
    error_json,
    member_json,
    message_json,
    page_json,
    queue_json,
)
from telephony.simulator.switchboard import Placement, Switchboard

SWITCHBOARD: Final = web.AppKey("switchboard", Switchboard)
LOCALHOST: Final = "127.0.0.1"
FAULT_CODE: Final = 20500
"""Twilio's error code for its own internal server error."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RestStandIn:
    """Twilio's REST API for one account on a local port, with phones, queues and rooms."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        server_url: str | None = None,
        public_url: str | None = None,
        phones: PhoneBook | None = None,
        time_scale: float = 0.0,
        network: Network | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """Serve ``account_sid`` (Basic auth with ``auth_token``, which also signs webhooks).

        Args:
            account_sid: The ``AC…`` account.
            auth_token: Its auth token.
            server_url: Where webhooks (TwiML, status callbacks) connect; None: the URLs as
                given. :meth:`deliver_to` sets it later (a server started afterwards).
            public_url: The base of the URLs given over REST, when ``server_url`` differs.
            phones: How called numbers behave; by default every number answers and hangs up.
            time_scale: Real seconds per simulated second for ringing and talking (0: none).
            network: Share a network with simulated inbound callers (a new one by default).
            clock: Wall-clock time, for the resources' timestamps.

        """
        if time_scale < 0:
            raise ValueError("time_scale: must not be negative")
        webhooks = None if server_url is None else Webhooks(server_url, public_url)
        self.network = network or Network(clock)
        self.switchboard = Switchboard(
            account_sid,
            auth_token,
            phones=phones or PhoneBook(),
            network=self.network,
            time_scale=time_scale,
            webhooks=webhooks,
        )
        self.conversations = ConversationStore(account_sid, self.network.clock)
        """The Conversations API's state; ``faults`` makes its answers go wrong."""
        self._runner: web.AppRunner | None = None
        self.url = ""

    @property
    def phones(self) -> PhoneBook:
        """How called numbers behave (``stand_in.phones["+82…"] = Phone(…)``)."""
        return self.switchboard.phones

    @property
    def record(self) -> StandInRecord:
        """Everything asked and done so far."""
        return replace(
            self.switchboard.record(),
            conversations=self.conversations.created(),
            participants=self.conversations.participants(),
            conversation_messages=self.conversations.messages(),
        )

    def deliver_to(self, server_url: str, public_url: str | None = None) -> None:
        """Send webhooks of calls placed from now on to ``server_url``."""
        self.switchboard.webhooks = Webhooks(server_url, public_url)

    def app(self) -> web.Application:
        """The aiohttp application (for a test server of one's own); opens the switchboard."""
        app = web.Application(middlewares=[_recording, _refusals, _basic_auth])
        app[SWITCHBOARD] = self.switchboard
        app.cleanup_ctx.append(self._switchboard_open)
        _add_routes(app, account_path("{account}"))
        conversations.add_routes(app, self.conversations)
        return app

    async def start(self, host: str = LOCALHOST, port: int = 0) -> str:
        """Listen on ``host:port`` (0: any free port); the base URL for ``api_base``."""
        self._runner = web.AppRunner(self.app())
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0]
        self.url = f"http://{host}:{bound[1]}"
        return self.url

    async def settle(self) -> None:
        """Wait until every call and message placed so far is over."""
        await self.switchboard.settle()

    async def close(self) -> None:
        """Stop listening; calls still running are cut off."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> RestStandIn:
        """Start on a free local port."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Close."""
        await self.close()

    async def _switchboard_open(self, _: web.Application) -> AsyncIterator[None]:
        await self.switchboard.open()
        yield
        await self.switchboard.close()


def _add_routes(app: web.Application, base: str) -> None:
    router = app.router
    router.add_post(f"{base}/Calls.json", _create_call)
    router.add_get(f"{base}/Calls.json", _list_calls)
    router.add_get(f"{base}/Calls/{{sid}}.json", _fetch_call)
    router.add_post(f"{base}/Calls/{{sid}}.json", _update_call)
    router.add_post(f"{base}/Queues.json", _create_queue)
    router.add_get(f"{base}/Queues.json", _list_queues)
    router.add_get(f"{base}/Queues/{{queue}}.json", _fetch_queue)
    router.add_get(f"{base}/Queues/{{queue}}/Members.json", _list_members)
    router.add_get(f"{base}/Queues/{{queue}}/Members/{{call}}.json", _fetch_member)
    router.add_post(f"{base}/Queues/{{queue}}/Members/{{call}}.json", _dequeue_member)
    router.add_post(f"{base}/Messages.json", _send_message)
    router.add_get(f"{base}/Messages/{{sid}}.json", _fetch_message)


# --- middlewares ---------------------------------------------------------------------------


@web.middleware
async def _recording(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Record every request with the status it got (outermost: sees refusals too)."""
    form = await _form(request) if request.method == "POST" else {}
    arrived = request.app[SWITCHBOARD].network.clock()
    response = await handler(request)
    request.app[SWITCHBOARD].note(
        RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            form=form,
            status=response.status,
            at=arrived,
        )
    )
    return response


@web.middleware
async def _refusals(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn a refusal, or a route that does not exist, into Twilio's error body."""
    try:
        return await handler(request)
    except RestRefusal as refusal:
        return _json(error_json(refusal.status, refusal.code, refusal.message), refusal.status)
    except web.HTTPNotFound:
        return _json(
            error_json(404, 20404, f"The requested resource {request.path} was not found"), 404
        )
    except web.HTTPMethodNotAllowed:
        return _json(error_json(405, 20004, f"Method not allowed: {request.method}"), 405)


@web.middleware
async def _basic_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """HTTP Basic with the account SID and auth token; the path must name that account."""
    switchboard = request.app[SWITCHBOARD]
    user, password = _credentials(request.headers.get("Authorization", ""))
    if not (
        hmac.compare_digest(user, switchboard.account_sid)
        and hmac.compare_digest(password, switchboard.auth_token)
    ):
        raise RestRefusal(401, 20003, "Authenticate")
    account = request.match_info.get("account")
    if account is not None and account != switchboard.account_sid:
        raise params.not_found(request.path)
    return await handler(request)


def _credentials(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    return user, password


# --- handlers ------------------------------------------------------------------------------


async def _create_call(request: web.Request) -> web.Response:
    switchboard = request.app[SWITCHBOARD]
    placement = switchboard.place_call(params.call_order(await _form(request)))
    await _delay(placement.fault)
    if placement.call is None or _fails(placement.fault):
        return _fault_answer(placement)
    return _json(call_json(switchboard.account_sid, placement.call.live), 201)


async def _list_calls(request: web.Request) -> web.Response:
    switchboard = request.app[SWITCHBOARD]
    query = _query(request)
    calls = switchboard.calls(params.call_filter(query))
    records = [call_json(switchboard.account_sid, call) for call in calls]
    return _page(request, "calls", records, params.paging(query))


async def _fetch_call(request: web.Request) -> web.Response:
    switchboard = request.app[SWITCHBOARD]
    call = switchboard.call(request.match_info["sid"], request.path)
    return _json(call_json(switchboard.account_sid, call))


async def _update_call(request: web.Request) -> web.Response:
    switchboard = request.app[SWITCHBOARD]
    update = params.call_update(await _form(request))
    call = await switchboard.update_call(request.match_info["sid"], update, request.path)
    return _json(call_json(switchboard.account_sid, call))


async def _create_queue(request: web.Request) -> web.Response:
    switchboard = request.app[SWITCHBOARD]
    name, max_size = params.queue_order(await _form(request))
    queue = switchboard.create_queue(name, max_size)
    return _json(queue_json(switchboard.account_sid, queue, switchboard.network.clock()), 201)


async def _list_queues(request: web.Request) -> web.Response:
    switchboard = request.app[SWITCHBOARD]
    query = _query(request)
    name = params.one(query, "FriendlyName")
    now = switchboard.network.clock()
    records = [
        queue_json(switchboard.account_sid, queue, now)
        for queue in switchboard.network.queues
        if name is None or queue.friendly_name == name
    ]
    return _page(request, "queues", records, params.paging(query))


async def _fetch_queue(request: web.Request) -> web.Response:
    switchboard = request.app[SWITCHBOARD]
    queue = switchboard.queue(request.match_info["queue"], request.path)
    return _json(queue_json(switchboard.account_sid, queue, switchboard.network.clock()))


async def _list_members(request: web.Request) -> web.Response:
    switchboard = request.app[SWITCHBOARD]
    queue = switchboard.queue(request.match_info["queue"], request.path)
    records = [
        member_json(switchboard.account_sid, queue, member, position)
        for position, member in enumerate(queue.members, start=1)
    ]
    return _page(request, "queue_members", records, params.paging(_query(request)))


async def _fetch_member(request: web.Request) -> web.Response:
    switchboard = request.app[SWITCHBOARD]
    queue = switchboard.queue(request.match_info["queue"], request.path)
    member = queue.member(request.match_info["call"])
    if member is None:
        raise params.not_found(request.path)
    position = queue.position(member.call.sid) or 1
    return _json(member_json(switchboard.account_sid, queue, member, position))


async def _dequeue_member(request: web.Request) -> web.Response:
    switchboard = request.app[SWITCHBOARD]
    queue = switchboard.queue(request.match_info["queue"], request.path)
    url, method = params.member_update(await _form(request))
    member, position = await switchboard.dequeue(
        queue, request.match_info["call"], url, method, request.path
    )
    return _json(member_json(switchboard.account_sid, queue, member, position))


async def _send_message(request: web.Request) -> web.Response:
    switchboard = request.app[SWITCHBOARD]
    placement = switchboard.send_message(params.message_order(await _form(request)))
    await _delay(placement.fault)
    if placement.message is None or _fails(placement.fault):
        return _fault_answer(placement)
    return _json(message_json(switchboard.account_sid, placement.message), 201)


async def _fetch_message(request: web.Request) -> web.Response:
    switchboard = request.app[SWITCHBOARD]
    message = switchboard.message(request.match_info["sid"], request.path)
    return _json(message_json(switchboard.account_sid, message))


# --- rendering -----------------------------------------------------------------------------


async def _form(request: web.Request) -> dict[str, tuple[str, ...]]:
    posted = await request.post()
    return {name: tuple(str(v) for v in posted.getall(name)) for name in set(posted.keys())}


def _query(request: web.Request) -> dict[str, tuple[str, ...]]:
    return {name: tuple(request.query.getall(name)) for name in set(request.query.keys())}


def _page(
    request: web.Request, key: str, records: list[JsonObject], paging: params.Paging
) -> web.Response:
    return _json(page_json(key, records, request.path, paging.page, paging.size))


async def _delay(fault: RestFault | None) -> None:
    if fault is not None and fault.delay_seconds > 0:
        await asyncio.sleep(fault.delay_seconds)


def _fails(fault: RestFault | None) -> bool:
    return fault is not None and fault.status is not None


def _fault_answer(placement: Placement) -> web.Response:
    status = placement.fault.status if placement.fault and placement.fault.status else 500
    return _json(error_json(status, FAULT_CODE, "Internal Server Error (injected fault)"), status)


def _json(body: JsonObject, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, content_type="application/json")
