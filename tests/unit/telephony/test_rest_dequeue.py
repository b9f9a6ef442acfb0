"""Simulated inbound callers waiting in ``<Enqueue>`` are real queue members of the REST stand-in.

The callers share the stand-in's network: they wait in real time (``time_scale``), the Queue
Members list shows them in the order they came, and a REST dequeue or call redirect wakes
the waiting caller at once: the ``action`` gets ``QueueResult=redirected`` and the caller
follows the new URL's TwiML (not the action's answer), as Twilio documents.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from telephony.rest import RestRejectedError, TwilioRest
from telephony.simulator.caller import place_call
from telephony.simulator.rest_api import RestStandIn
from telephony.simulator.scenario import CallerConfig
from telephony.simulator.transcript import CallTranscript, Enqueued, Heard, HungUp

ACCOUNT = "AC" + "3" * 32
TOKEN = "00112233445566778899aabbccddeeff"
PUBLIC = "https://ivr.example.com"
WAIT_SCALE = 0.001
"""Real seconds per simulated second in the queue: an hour of waiting is 3.6 s at most."""

ServerFactory = Callable[..., Awaitable[TestServer]]


@dataclass
class Customer:
    pages: dict[str, str] = field(default_factory=dict)
    received: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    server_url: str = ""

    def forms(self, path: str) -> list[dict[str, str]]:
        return [form for got, form in self.received if got == path]


def _twiml(build: Callable[[VoiceResponse], object]) -> str:
    response = VoiceResponse()
    build(response)
    return str(response)


@pytest.fixture
async def customer(aiohttp_server: ServerFactory) -> Customer:
    app_customer = Customer(
        pages={
            "/twilio/voice": _twiml(
                lambda r: r.enqueue("support", wait_url="/wait", action="/left")
            ),
            "/wait": _twiml(lambda r: (r.say("잠시만 기다려 주십시오."), r.pause(length=10))),
            "/left": _twiml(lambda r: r.say("action answer")),
            "/agent": _twiml(lambda r: (r.say("상담원을 연결합니다."), r.hangup())),
        }
    )

    async def handle(request: web.Request) -> web.Response:
        form = {name: str(value) for name, value in (await request.post()).items()}
        signature = request.headers.get("X-Twilio-Signature", "")
        if not RequestValidator(TOKEN).validate(PUBLIC + request.raw_path, form, signature):
            raise web.HTTPForbidden()
        app_customer.received.append((request.path, form))
        page = app_customer.pages.get(request.path)
        if page is None:
            return web.Response(status=204)
        return web.Response(text=page, content_type="text/xml")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    server = await aiohttp_server(app)
    app_customer.server_url = str(server.make_url("")).rstrip("/")
    return app_customer


@pytest.fixture
async def twilio(customer: Customer) -> AsyncIterator[RestStandIn]:
    async with RestStandIn(ACCOUNT, TOKEN, server_url=customer.server_url, public_url=PUBLIC) as s:
        yield s


@pytest.fixture
async def rest(twilio: RestStandIn) -> AsyncIterator[TwilioRest]:
    async with TwilioRest(ACCOUNT, TOKEN, api_base=twilio.url) as client:
        yield client


def _caller(customer: Customer, caller: str = "+821011112222") -> CallerConfig:
    return CallerConfig(
        server_url=customer.server_url,
        public_url=PUBLIC,
        account_sid=ACCOUNT,
        auth_token=TOKEN,
        caller=caller,
        queue_seconds=3600,
        time_scale=WAIT_SCALE,
    )


def _waiting(twilio: RestStandIn, config: CallerConfig) -> asyncio.Task[CallTranscript]:
    return asyncio.create_task(place_call(config, network=twilio.network))


async def _members(twilio: RestStandIn) -> list[dict[str, object]]:
    queue = twilio.network.queue("support")
    url = f"{twilio.url}/2010-04-01/Accounts/{ACCOUNT}/Queues/{queue.sid}/Members.json"
    headers = {"Authorization": aiohttp.encode_basic_auth(ACCOUNT, TOKEN)}
    async with aiohttp.ClientSession(headers=headers) as http, http.get(url) as response:
        assert response.status == 200
        body = await response.json()
    members: list[dict[str, object]] = body["queue_members"]
    return members


async def test_a_rest_dequeue_wakes_the_caller_who_follows_the_new_twiml(
    customer: Customer, twilio: RestStandIn, rest: TwilioRest
) -> None:
    config = _caller(customer)
    call = _waiting(twilio, config)
    await twilio.network.wait_for_member("support", config.call_sid)
    begun = time.monotonic()

    await rest.dequeue_member("support", config.call_sid, f"{PUBLIC}/agent")
    transcript = await call

    assert time.monotonic() - begun < 1.0  # woken at once, not after the hour of waiting
    (enqueued,) = transcript.of_type(Enqueued)
    assert (enqueued.queue, enqueued.result) == ("support", "redirected")
    assert enqueued.seconds < 3600
    (left,) = customer.forms("/left")
    assert left["QueueResult"] == "redirected"
    assert left["QueueSid"] == twilio.network.queue("support").sid
    (agent,) = customer.forms("/agent")
    assert (agent["CallSid"], agent["CallStatus"]) == (config.call_sid, "in-progress")
    heard = [step.text for step in transcript.of_type(Heard)]
    assert heard[-1] == "상담원을 연결합니다." and "action answer" not in heard
    assert transcript.ending == HungUp("server", "Response/Hangup[1]: <Hangup>")
    assert await _members(twilio) == []
    assert customer.forms("/twilio/status")[0]["CallStatus"] == "completed"


async def test_members_are_listed_in_the_order_they_came_with_real_positions(
    customer: Customer, twilio: RestStandIn, rest: TwilioRest
) -> None:
    first, second = _caller(customer, "+821011110001"), _caller(customer, "+821011110002")
    first_call = _waiting(twilio, first)
    await twilio.network.wait_for_member("support", first.call_sid)
    second_call = _waiting(twilio, second)
    await twilio.network.wait_for_member("support", second.call_sid)

    members = await _members(twilio)
    waiting = await rest.fetch_call(first.call_sid)
    await rest.dequeue_member("support", second.call_sid, f"{PUBLIC}/agent")
    await second_call
    remaining = await _members(twilio)
    await rest.hangup_call(first.call_sid)
    first_transcript = await first_call

    assert [(m["call_sid"], m["position"]) for m in members] == [
        (first.call_sid, 1),
        (second.call_sid, 2),
    ]
    assert all(isinstance(m["wait_time"], int) for m in members)
    assert (waiting.to, waiting.status) == (first.called, "in-progress")
    second_wait = next(f for f in customer.forms("/wait") if f["CallSid"] == second.call_sid)
    assert (second_wait["QueuePosition"], second_wait["CurrentQueueSize"]) == ("2", "2")
    assert [(m["call_sid"], m["position"]) for m in remaining] == [(first.call_sid, 1)]
    assert first_transcript.of_type(Enqueued)[0].result == "hangup"
    assert first_transcript.ending == HungUp("server", "REST API: Status=completed")


async def test_redirecting_the_call_itself_also_takes_it_out_of_the_queue(
    customer: Customer, twilio: RestStandIn, rest: TwilioRest
) -> None:
    config = _caller(customer)
    call = _waiting(twilio, config)
    await twilio.network.wait_for_member("support", config.call_sid)

    await rest.redirect_call(config.call_sid, f"{PUBLIC}/agent")
    transcript = await call

    assert transcript.of_type(Enqueued)[0].result == "redirected"
    assert [f["QueueResult"] for f in customer.forms("/left")] == ["redirected"]
    assert len(customer.forms("/agent")) == 1


async def test_a_second_dequeue_of_the_same_caller_is_not_found(
    customer: Customer, twilio: RestStandIn, rest: TwilioRest
) -> None:
    config = _caller(customer)
    call = _waiting(twilio, config)
    await twilio.network.wait_for_member("support", config.call_sid)

    await rest.dequeue_member("support", config.call_sid, f"{PUBLIC}/agent")
    with pytest.raises(RestRejectedError, match="was not found") as raised:
        await rest.dequeue_member("support", config.call_sid, f"{PUBLIC}/agent")
    await call

    assert raised.value.status == 404
    assert len(customer.forms("/agent")) == 1


async def test_leave_in_the_wait_document_still_leaves_the_network_queue(
    customer: Customer, twilio: RestStandIn
) -> None:
    customer.pages["/wait"] = _twiml(lambda r: (r.say("콜백을 예약했습니다."), r.leave()))

    transcript = await place_call(_caller(customer), network=twilio.network)

    assert transcript.of_type(Enqueued)[0].result == "leave"
    assert [f["QueueResult"] for f in customer.forms("/left")] == ["leave"]
    assert await _members(twilio) == []


async def test_a_caller_left_waiting_gives_up_after_its_queue_seconds(
    customer: Customer, twilio: RestStandIn
) -> None:
    config = CallerConfig(
        server_url=customer.server_url,
        public_url=PUBLIC,
        account_sid=ACCOUNT,
        auth_token=TOKEN,
        queue_seconds=30,
        time_scale=0.01,
    )
    begun = time.monotonic()

    transcript = await place_call(config, network=twilio.network)

    assert 0.25 <= time.monotonic() - begun < 3  # 30 simulated seconds took 0.3 s real
    (enqueued,) = transcript.of_type(Enqueued)
    assert enqueued.result == "hangup"
    assert 30 <= enqueued.seconds < 30 + 12.5  # the prompt under way plays out (Say + Pause)
    assert twilio.network.call(config.call_sid) is not None
    assert twilio.network.call(config.call_sid).status == "completed"  # type: ignore[union-attr]
