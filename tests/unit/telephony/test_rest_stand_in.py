"""The REST stand-in acts like Twilio after a call is created: rings, answers, reports, follows.

A small real aiohttp server plays the customer's application: it checks ``X-Twilio-Signature``
on every request with twilio's ``RequestValidator`` against its public URL, answers TwiML per
path and records what it received. Calls are created with the real twilio client through
``telephony.rest`` or, for malformed requests, with plain HTTP.
"""

from __future__ import annotations

import argparse
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

from telephony.rest import OutboundCall, TwilioRest
from telephony.simulator.phones import Phone, PhoneBook
from telephony.simulator.rest_api import RestStandIn
from telephony.simulator.stand_in_cli import add_stand_in_arguments, phone_book
from telephony.simulator.transcript import Gathered, Heard

ACCOUNT = "AC" + "2" * 32
TOKEN = "fedcba9876543210fedcba9876543210"
PUBLIC = "https://ivr.example.com"
OURS = "+8215880000"
CUSTOMER = "+821055512345"

ServerFactory = Callable[..., Awaitable[TestServer]]


@dataclass
class Customer:
    """The customer's application: TwiML by path, and every signed request it accepted."""

    pages: dict[str, str] = field(default_factory=dict)
    received: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    server_url: str = ""

    def forms(self, path: str) -> list[dict[str, str]]:
        return [form for got, form in self.received if got == path]


@pytest.fixture
async def customer(aiohttp_server: ServerFactory) -> Customer:
    app_customer = Customer()

    async def handle(request: web.Request) -> web.Response:
        form = {name: str(value) for name, value in (await request.post()).items()}
        url = PUBLIC + request.raw_path
        if not RequestValidator(TOKEN).validate(
            url, form, request.headers.get("X-Twilio-Signature", "")
        ):
            raise web.HTTPForbidden(text=f"bad signature for {url}")
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
        ACCOUNT, TOKEN, server_url=customer.server_url, public_url=PUBLIC
    ) as stand_in:
        yield stand_in


@pytest.fixture
async def rest(twilio: RestStandIn) -> AsyncIterator[TwilioRest]:
    async with TwilioRest(ACCOUNT, TOKEN, api_base=twilio.url) as client:
        yield client


def _call(to: str = CUSTOMER, **overrides: object) -> OutboundCall:
    fields: dict[str, object] = {
        "to": to,
        "from_": OURS,
        "url": f"{PUBLIC}/twilio/callback-call?request=7",
        "status_callback": f"{PUBLIC}/twilio/status?request=7",
    }
    return OutboundCall(**(fields | overrides))  # type: ignore[arg-type]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(ACCOUNT, token)}


def _statuses(customer: Customer) -> list[tuple[str, str]]:
    return [(f["CallStatus"], f["SequenceNumber"]) for f in customer.forms("/twilio/status")]


# --- signal-only phones ----------------------------------------------------------------------


async def test_answered_call_reports_every_event_signed_in_order(
    customer: Customer, twilio: RestStandIn, rest: TwilioRest
) -> None:
    twilio.phones[CUSTOMER] = Phone(ring_seconds=4, talk_seconds=61)

    sid = await rest.create_call(_call())
    await twilio.settle()

    assert _statuses(customer) == [
        ("initiated", "0"),
        ("ringing", "1"),
        ("in-progress", "2"),
        ("completed", "3"),
    ]
    first, *_, last = customer.forms("/twilio/status")
    assert {k: first[k] for k in ("CallSid", "AccountSid", "Direction", "From", "To")} == {
        "CallSid": sid,
        "AccountSid": ACCOUNT,
        "Direction": "outbound-api",
        "From": OURS,
        "To": CUSTOMER,
    }
    assert first["CallbackSource"] == "call-progress-events"
    assert "CallDuration" not in first
    assert (last["CallDuration"], last["Duration"]) == ("61", "2")
    assert [c.event for c in twilio.record.callbacks_of(sid)] == [
        "initiated",
        "ringing",
        "answered",
        "completed",
    ]
    assert {c.http_status for c in twilio.record.callbacks} == {204}
    assert customer.forms("/twilio/callback-call") == []  # signal-only: no TwiML requested


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        (Phone(behaviour="busy"), [("initiated", "0"), ("busy", "1")]),
        (Phone(behaviour="failed"), [("initiated", "0"), ("failed", "1")]),
        (Phone(behaviour="no-answer"), [("initiated", "0"), ("ringing", "1"), ("no-answer", "2")]),
        (Phone(ring_seconds=30), [("initiated", "0"), ("ringing", "1"), ("no-answer", "2")]),
    ],
    ids=["busy", "failed", "no-answer", "rings-past-timeout"],
)
async def test_unanswered_calls_end_with_their_status(
    customer: Customer,
    twilio: RestStandIn,
    rest: TwilioRest,
    phone: Phone,
    expected: list[tuple[str, str]],
) -> None:
    twilio.phones[CUSTOMER] = phone

    await rest.create_call(_call(timeout_seconds=30))
    await twilio.settle()

    assert _statuses(customer) == expected
    assert customer.forms("/twilio/status")[-1]["CallDuration"] == "0"
    assert twilio.record.calls[0].status == expected[-1][0]


async def test_only_the_requested_events_are_reported(
    customer: Customer, twilio: RestStandIn, rest: TwilioRest
) -> None:
    await rest.create_call(_call(status_events=("answered", "completed")))
    await twilio.settle()

    assert _statuses(customer) == [("in-progress", "0"), ("completed", "1")]


async def test_without_events_only_the_final_status_is_reported(
    customer: Customer, twilio: RestStandIn
) -> None:
    async with (
        aiohttp.ClientSession(headers=_auth(TOKEN)) as http,
        http.post(
            f"{twilio.url}/2010-04-01/Accounts/{ACCOUNT}/Calls.json",
            data={
                "To": CUSTOMER,
                "From": OURS,
                "Url": f"{PUBLIC}/x",
                "StatusCallback": f"{PUBLIC}/twilio/status",
            },
        ) as response,
    ):
        assert response.status == 201
    await twilio.settle()

    assert _statuses(customer) == [("completed", "0")]


async def test_callbacks_of_many_calls_go_out_fast_and_complete(
    customer: Customer, twilio: RestStandIn, rest: TwilioRest
) -> None:
    twilio.phones.default = Phone(ring_seconds=3, talk_seconds=20)
    numbers = [f"+8210{n:08d}" for n in range(300)]
    begun = time.monotonic()

    await asyncio.gather(*(rest.create_call(_call(number)) for number in numbers))
    await twilio.settle()
    seconds = time.monotonic() - begun

    callbacks = twilio.record.callbacks
    assert len(callbacks) == 1200 and {c.http_status for c in callbacks} == {204}
    assert len(customer.forms("/twilio/status")) == 1200
    assert twilio.record.duplicate_dials() == {}
    assert 1200 / seconds * 60 > 1000, f"only {1200 / seconds * 60:.0f} callbacks a minute"


# --- follow_twiml phones ---------------------------------------------------------------------


def _twiml(build: Callable[[VoiceResponse], object]) -> str:
    response = VoiceResponse()
    build(response)
    return str(response)


async def test_a_follow_twiml_phone_requests_the_url_and_answers_the_gather(
    customer: Customer, twilio: RestStandIn, rest: TwilioRest
) -> None:
    twilio.phones[CUSTOMER] = Phone(mode="follow_twiml", script=("1",))
    customer.pages |= {
        "/twilio/callback-call": _twiml(
            lambda r: r.gather(num_digits=1, action="/twilio/callback-gather").say(
                "고객님, 요청하신 콜백입니다. 연결하려면 1번을 누르세요."
            )
        ),
        "/twilio/callback-gather": _twiml(lambda r: (r.say("연결합니다."), r.hangup())),
    }

    sid = await rest.create_call(_call())
    await twilio.settle()

    (answered,) = customer.forms("/twilio/callback-call")
    assert (answered["CallSid"], answered["CallStatus"], answered["Direction"]) == (
        sid,
        "in-progress",
        "outbound-api",
    )
    assert (answered["From"], answered["To"]) == (OURS, CUSTOMER)
    (gathered,) = customer.forms("/twilio/callback-gather")
    assert gathered["Digits"] == "1"
    (placed,) = twilio.record.calls
    assert placed.transcript is not None and placed.error is None
    assert placed.transcript.of_type(Gathered)[0].digits == "1"
    assert placed.transcript.of_type(Heard)[-1].text == "연결합니다."
    last = customer.forms("/twilio/status")[-1]
    assert last["CallStatus"] == "completed"
    assert int(last["CallDuration"]) == placed.transcript.duration_seconds > 0


async def test_a_follow_twiml_phone_reports_twiml_twilio_would_refuse(
    customer: Customer, twilio: RestStandIn, rest: TwilioRest
) -> None:
    twilio.phones[CUSTOMER] = Phone(mode="follow_twiml")
    customer.pages["/twilio/callback-call"] = "<Response><Sya>oops</Sya></Response>"

    await rest.create_call(_call())
    await twilio.settle()

    (placed,) = twilio.record.calls
    assert placed.error is not None and "unknown verb <Sya>" in placed.error
    assert placed.status == "completed"


# --- the REST answers themselves -------------------------------------------------------------


async def _post(
    twilio: RestStandIn, path: str, data: dict[str, str], token: str = TOKEN
) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession(headers=_auth(token)) as http,
        http.post(f"{twilio.url}/2010-04-01/Accounts/{ACCOUNT}{path}", data=data) as response,
    ):
        return response.status, await response.json()


async def test_a_create_without_to_gets_twilios_error_body(twilio: RestStandIn) -> None:
    status, body = await _post(twilio, "/Calls.json", {"From": OURS, "Url": f"{PUBLIC}/x"})

    assert status == 400
    assert body == {
        "code": 21201,
        "message": "No 'To' number is specified",
        "more_info": "https://www.twilio.com/docs/errors/21201",
        "status": 400,
    }
    assert twilio.record.calls == ()


async def test_an_unknown_event_or_relative_url_is_refused(twilio: RestStandIn) -> None:
    base = {"To": CUSTOMER, "From": OURS}

    bad_event = await _post(
        twilio, "/Calls.json", base | {"Url": f"{PUBLIC}/x", "StatusCallbackEvent": "hungup"}
    )
    relative = await _post(twilio, "/Calls.json", base | {"Url": "/twilio/voice"})

    assert bad_event[0] == relative[0] == 400
    assert relative[1]["code"] == 21205
    assert twilio.record.calls == ()


async def test_wrong_credentials_get_401_with_twilios_error_body(twilio: RestStandIn) -> None:
    status, body = await _post(twilio, "/Calls.json", {"To": CUSTOMER}, token="0" * 32)

    assert (status, body["code"], body["message"]) == (401, 20003, "Authenticate")


async def test_another_accounts_path_is_not_found(twilio: RestStandIn) -> None:
    async with (
        aiohttp.ClientSession(headers=_auth(TOKEN)) as http,
        http.get(f"{twilio.url}/2010-04-01/Accounts/AC{'9' * 32}/Calls.json") as response,
    ):
        body = await response.json()

    assert (response.status, body["code"]) == (404, 20404)


async def test_a_phone_book_refuses_a_phone_that_cannot_exist() -> None:
    with pytest.raises(ValueError, match="script: 'x#1' is not"):
        PhoneBook.of({CUSTOMER: Phone(mode="follow_twiml", script=("x#1",))})


def test_the_command_line_describes_the_phones() -> None:
    parser = argparse.ArgumentParser()
    add_stand_in_arguments(parser)
    account = ["--account-sid", ACCOUNT, "--auth-token", TOKEN]
    args = parser.parse_args(
        [*account, "--mode", "follow_twiml", "--phone", f"{CUSTOMER}=busy", "--talk-seconds", "12"]
    )

    book = phone_book(args)

    assert book.phone(CUSTOMER) == Phone(behaviour="busy", mode="follow_twiml", talk_seconds=12)
    assert book.phone(OURS) == Phone(mode="follow_twiml", talk_seconds=12)
    with pytest.raises(ValueError, match="is not NUMBER=BEHAVIOUR"):
        phone_book(
            parser.parse_args(["--account-sid", ACCOUNT, "--auth-token", TOKEN, "--phone", "x"])
        )
