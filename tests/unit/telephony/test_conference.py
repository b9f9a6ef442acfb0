"""``<Dial><Conference>``: an inbound caller and a stand-in phone meet in one room, in real time.

The inbound caller (``place_call`` on the stand-in's network) waits in the room; the agent leg
is a call placed over REST to a ``follow_twiml`` phone whose TwiML joins the same room with
``endConferenceOnExit``. When the agent hangs up the room ends, the caller's ``<Dial action>``
gets ``DialCallStatus=completed`` and the caller goes on to the survey.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Dial, VoiceResponse

from telephony.rest import OutboundCall, TwilioRest
from telephony.simulator.caller import place_call
from telephony.simulator.phones import Phone
from telephony.simulator.rest_api import RestStandIn
from telephony.simulator.scenario import CallerConfig
from telephony.simulator.transcript import CallTranscript, Dialed, Gathered, HungUp
from telephony.simulator.twiml_rules import TwimlRejected, check_twiml

ACCOUNT = "AC" + "4" * 32
TOKEN = "a" * 32
PUBLIC = "https://ivr.example.com"
OURS = "+8215880000"
AGENT = "+821077778888"
SCALE = 0.01
"""Real seconds per simulated second: a 20 s conversation takes 0.2 s."""

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


def _room(response: VoiceResponse, *, action: str | None = None, moderator: bool) -> None:
    dial = Dial(action=action) if action else Dial()
    dial.conference(
        "agent-7-room",
        start_conference_on_enter=True,
        end_conference_on_exit=moderator,
        beep=False,
        wait_url="",
    )
    response.append(dial)


@pytest.fixture
async def customer(aiohttp_server: ServerFactory) -> Customer:
    app_customer = Customer(
        pages={
            "/twilio/voice": _twiml(lambda r: _room(r, action="/twilio/dial", moderator=False)),
            "/twilio/dial": _twiml(
                lambda r: r.gather(num_digits=1, action="/twilio/survey").say("상담은 어떠셨나요?")
            ),
            "/twilio/survey": _twiml(lambda r: (r.say("감사합니다."), r.hangup())),
            "/agent-leg": _twiml(lambda r: _room(r, moderator=True)),
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
    async with RestStandIn(
        ACCOUNT, TOKEN, server_url=customer.server_url, public_url=PUBLIC, time_scale=SCALE
    ) as stand_in:
        yield stand_in


@pytest.fixture
async def rest(twilio: RestStandIn) -> AsyncIterator[TwilioRest]:
    async with TwilioRest(ACCOUNT, TOKEN, api_base=twilio.url) as client:
        yield client


def _caller(customer: Customer, **scenario: object) -> CallerConfig:
    settings: dict[str, object] = {
        "server_url": customer.server_url,
        "public_url": PUBLIC,
        "account_sid": ACCOUNT,
        "auth_token": TOKEN,
        "time_scale": SCALE,
        "bridged_seconds": 600,
        "digits": ("5",),
    }
    return CallerConfig(**(settings | scenario))  # type: ignore[arg-type]


async def _in_room(twilio: RestStandIn, call_sid: str) -> None:
    def inside() -> bool:
        room = twilio.network.conferences.room("agent-7-room")
        return room is not None and call_sid in room.participants

    await asyncio.wait_for(twilio.network.wait_until(inside), timeout=5)


def _agent_call() -> OutboundCall:
    return OutboundCall(
        to=AGENT,
        from_=OURS,
        url=f"{PUBLIC}/agent-leg",
        status_callback=f"{PUBLIC}/agent-status",
    )


async def _meet(
    customer: Customer, twilio: RestStandIn, rest: TwilioRest, config: CallerConfig
) -> CallTranscript:
    caller = asyncio.create_task(place_call(config, network=twilio.network))
    await _in_room(twilio, config.call_sid)
    await rest.create_call(_agent_call())
    transcript = await asyncio.wait_for(caller, timeout=10)
    await twilio.settle()
    return transcript


async def test_the_agent_leaving_ends_the_room_and_the_caller_goes_on_to_the_survey(
    customer: Customer, twilio: RestStandIn, rest: TwilioRest
) -> None:
    twilio.phones[AGENT] = Phone(mode="follow_twiml", ring_seconds=2, talk_seconds=20)
    config = _caller(customer)

    transcript = await _meet(customer, twilio, rest, config)

    (dial,) = customer.forms("/twilio/dial")
    assert dial["DialCallStatus"] == "completed"
    assert 20 <= int(dial["DialCallDuration"]) <= 40  # ring + talk, measured in real time
    assert "DialCallSid" not in dial  # Twilio sends none after a conference
    (survey,) = customer.forms("/twilio/survey")
    assert survey["Digits"] == "5"
    assert transcript.of_type(Gathered)[0].digits == "5"
    (met,) = transcript.of_type(Dialed)
    assert (met.target, met.status) == ("Conference agent-7-room", "completed")
    assert transcript.ending == HungUp("server", "Response/Hangup[1]: <Hangup>")
    (agent,) = twilio.record.calls
    assert agent.transcript is not None and agent.status == "completed"
    assert agent.transcript.of_type(Dialed)[0].duration_seconds == 20
    assert customer.forms("/agent-status")[-1]["CallDuration"] == "20"
    room = twilio.network.conferences.history[0]
    assert room.ended and room.joined == [config.call_sid, agent.sid]


async def test_a_caller_who_runs_out_of_patience_hangs_up_and_the_action_answer_is_not_run(
    customer: Customer, twilio: RestStandIn, rest: TwilioRest
) -> None:
    twilio.phones[AGENT] = Phone(mode="follow_twiml", ring_seconds=1, talk_seconds=3600)
    config = _caller(customer, bridged_seconds=15)

    caller = asyncio.create_task(place_call(config, network=twilio.network))
    await _in_room(twilio, config.call_sid)
    sid = await rest.create_call(_agent_call())
    transcript = await asyncio.wait_for(caller, timeout=10)
    await rest.hangup_call(sid)
    await asyncio.wait_for(twilio.settle(), timeout=5)

    assert transcript.ending == HungUp("caller", "hung up after 15 s in conference agent-7-room")
    assert len(customer.forms("/twilio/dial")) == 1  # requested, its Gather never run
    assert customer.forms("/twilio/survey") == []
    (agent,) = twilio.record.calls
    assert agent.status == "completed"
    assert agent.transcript is not None
    assert agent.transcript.ending == HungUp("server", "REST API: Status=completed")


async def test_without_a_network_a_conference_dial_ends_as_the_scenario_says(
    customer: Customer,
) -> None:
    config = _caller(customer, dial_status="completed", dial_duration=42)

    transcript = await place_call(config)

    assert customer.forms("/twilio/dial")[0]["DialCallDuration"] == "42"
    assert transcript.of_type(Dialed)[0] == Dialed("Conference agent-7-room", "completed", 42)


def test_conference_accepts_twilios_documented_attributes() -> None:
    response = VoiceResponse()
    dial = Dial(action="/after", hangup_on_star=True)
    dial.conference(
        "room",
        muted=False,
        beep="onEnter",
        start_conference_on_enter=False,
        end_conference_on_exit=True,
        wait_url="https://ivr.example.com/hold",
        wait_method="GET",
        max_participants=10,
        record="record-from-start",
        region="jp1",
        trim="trim-silence",
        status_callback_event="start end join leave",
        status_callback="https://ivr.example.com/conference-events",
        status_callback_method="POST",
        jitter_buffer_size="small",
        participant_label="customer",
    )
    response.append(dial)

    (verb,) = check_twiml(str(response)).verbs

    (room,) = verb.children
    assert (room.name, room.text, room.get("endConferenceOnExit")) == ("Conference", "room", "true")


@pytest.mark.parametrize(
    ("conference", "reason"),
    [
        ('<Conference beep="loud">r</Conference>', "/@beep:"),
        ('<Conference endConferenceOnExit="yes">r</Conference>', "/@endConferenceOnExit:"),
        ('<Conference maxParticipants="300">r</Conference>', "/@maxParticipants:"),
        ('<Conference statusCallbackEvent="ring">r</Conference>', "/@statusCallbackEvent:"),
        ('<Conference endOnExit="true">r</Conference>', "unknown attribute of <Conference>"),
        ("<Conference></Conference>", "Response/Dial[1]/Conference[1]/text(): must not be empty"),
        ("<Conference>r<Say>hi</Say></Conference>", "<Conference> may not contain <Say>"),
    ],
)
def test_conference_refuses_what_twilio_would_refuse(conference: str, reason: str) -> None:
    with pytest.raises(TwimlRejected, match=re.escape(reason)):
        check_twiml(f"<Response><Dial>{conference}</Dial></Response>")
