"""``telephony.rest.TwilioRest``: the real twilio client against the simulator's REST stand-in.

Every request goes over a real socket to the stand-in (``telephony.simulator.rest_api``),
which checks Basic auth and answers Twilio's JSON; failures must come back as the two errors
the service acts on: rejected (nothing happened) or uncertain (it may have happened).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from telephony.rest import (
    OutboundCall,
    RestRejectedError,
    RestUncertainError,
    TwilioRest,
)
from telephony.simulator.phones import Phone, RestFault
from telephony.simulator.rest_api import RestStandIn

ACCOUNT = "AC" + "1" * 32
TOKEN = "0123456789abcdef0123456789abcdef"
OURS = "+8215880000"
CUSTOMER = "+821055512345"
OTHER = "+821099998888"
HOOKS = "http://127.0.0.1:9"  # nothing listens: callbacks fail quietly, as Twilio's would


@pytest.fixture
async def twilio() -> AsyncIterator[RestStandIn]:
    async with RestStandIn(ACCOUNT, TOKEN) as stand_in:
        yield stand_in


@pytest.fixture
async def rest(twilio: RestStandIn) -> AsyncIterator[TwilioRest]:
    async with TwilioRest(ACCOUNT, TOKEN, api_base=twilio.url, timeout_seconds=2) as client:
        yield client


def _call(to: str = CUSTOMER, **overrides: object) -> OutboundCall:
    fields: dict[str, object] = {
        "to": to,
        "from_": OURS,
        "url": f"{HOOKS}/twilio/callback-call?request=7",
        "status_callback": f"{HOOKS}/twilio/status",
    }
    return OutboundCall(**(fields | overrides))  # type: ignore[arg-type]


async def test_create_call_sends_twilios_parameters_and_returns_the_call_sid(
    twilio: RestStandIn, rest: TwilioRest
) -> None:
    sid = await rest.create_call(_call(timeout_seconds=25))

    (placed,) = twilio.record.calls
    assert sid == placed.sid and sid.startswith("CA") and len(sid) == 34
    assert (placed.to, placed.from_, placed.method) == (CUSTOMER, OURS, "POST")
    assert placed.url == f"{HOOKS}/twilio/callback-call?request=7"
    assert placed.status_events == ("initiated", "ringing", "answered", "completed")
    assert placed.timeout_seconds == 25
    (request,) = [r for r in twilio.record.requests if r.method == "POST"]
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
    assert request.form["StatusCallbackEvent"] == ("initiated", "ringing", "answered", "completed")
    assert request.form["StatusCallbackMethod"] == ("POST",)
    assert request.status == 201


async def test_fetch_call_follows_the_call_to_its_final_status(
    twilio: RestStandIn, rest: TwilioRest
) -> None:
    twilio.phones[CUSTOMER] = Phone(ring_seconds=2, talk_seconds=40)
    sid = await rest.create_call(_call())
    await twilio.settle()

    info = await rest.fetch_call(sid)

    assert (info.sid, info.to, info.status) == (sid, CUSTOMER, "completed")
    assert info.start_time is not None and info.start_time.tzinfo is not None
    assert twilio.record.calls[0].duration_seconds == 40


async def test_find_calls_returns_only_calls_to_that_number_since_that_moment(
    twilio: RestStandIn, rest: TwilioRest
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    mine = await rest.create_call(_call(CUSTOMER))
    await rest.create_call(_call(OTHER))
    await twilio.settle()

    found = await rest.find_calls(to=CUSTOMER, started_after=before)
    later = await rest.find_calls(to=CUSTOMER, started_after=datetime.now(UTC) + timedelta(hours=1))

    assert [call.sid for call in found] == [mine]
    assert later == []
    listing = next(r for r in twilio.record.requests if r.method == "GET")
    assert listing.query["To"] == CUSTOMER
    assert "StartTime>" in listing.query


async def test_find_calls_reads_every_page(twilio: RestStandIn, rest: TwilioRest) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    sids = {await rest.create_call(_call()) for _ in range(55)}  # Twilio's page holds 50

    found = await rest.find_calls(to=CUSTOMER, started_after=before)

    assert {call.sid for call in found} == sids
    started = [r for r in twilio.record.requests if r.method == "GET" and "Status" not in r.query]
    assert len(started) == 2 and started[1].query["Page"] == "1"


async def test_find_calls_also_sees_calls_still_queued_at_twilio(
    twilio: RestStandIn, rest: TwilioRest
) -> None:
    # A call Twilio accepted but has not started yet has no start time: the start-time filter
    # alone would miss it, and a reconciler would dial the customer a second time.
    await rest.create_call(_call())

    await rest.find_calls(to=CUSTOMER, started_after=datetime.now(UTC) + timedelta(hours=1))

    asked = [r.query for r in twilio.record.requests if r.method == "GET"]
    assert {"To": CUSTOMER, "Status": "queued"}.items() <= next(
        q for q in asked if "Status" in q
    ).items()


async def test_find_calls_refuses_a_naive_moment(rest: TwilioRest) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await rest.find_calls(to=CUSTOMER, started_after=datetime(2025, 1, 1))


async def test_hanging_up_a_ringing_call_cancels_it(rest: TwilioRest) -> None:
    async with RestStandIn(ACCOUNT, TOKEN, time_scale=1.0) as slow:
        slow.phones[CUSTOMER] = Phone(ring_seconds=20)
        async with TwilioRest(ACCOUNT, TOKEN, api_base=slow.url) as client:
            sid = await client.create_call(_call())
            await client.hangup_call(sid)
            await slow.settle()
            info = await client.fetch_call(sid)

    assert info.status == "canceled"
    assert slow.record.calls[0].duration_seconds == 0


async def test_redirecting_a_call_that_is_over_is_rejected(
    twilio: RestStandIn, rest: TwilioRest
) -> None:
    sid = await rest.create_call(_call())
    await twilio.settle()

    with pytest.raises(RestRejectedError) as raised:
        await rest.redirect_call(sid, f"{HOOKS}/elsewhere")

    assert (raised.value.status, raised.value.code) == (400, 21220)


async def test_an_unknown_call_is_rejected_with_twilios_404(rest: TwilioRest) -> None:
    with pytest.raises(RestRejectedError) as raised:
        await rest.fetch_call("CA" + "0" * 32)

    assert (raised.value.status, raised.value.code) == (404, 20404)


async def test_dequeue_from_a_queue_that_does_not_exist_is_rejected(rest: TwilioRest) -> None:
    with pytest.raises(RestRejectedError, match="no queue named 'support'"):
        await rest.dequeue_member("support", "CA" + "0" * 32, f"{HOOKS}/agent")


async def test_send_sms_returns_the_message_sid_and_records_the_message(
    twilio: RestStandIn, rest: TwilioRest
) -> None:
    sid = await rest.send_sms(to=CUSTOMER, from_=OURS, body="채팅 링크: https://x.example/c/1")
    await twilio.settle()

    (message,) = twilio.record.messages
    assert sid == message.sid and sid.startswith("SM")
    assert (message.to, message.from_, message.body) == (
        CUSTOMER,
        OURS,
        "채팅 링크: https://x.example/c/1",
    )
    assert message.status == "delivered"


async def test_a_bad_request_is_rejected_with_twilios_code(rest: TwilioRest) -> None:
    with pytest.raises(RestRejectedError) as raised:
        await rest.send_sms(to=CUSTOMER, from_=OURS, body="")

    assert (raised.value.status, raised.value.code) == (400, 21602)


async def test_wrong_credentials_are_rejected_and_nothing_is_placed(twilio: RestStandIn) -> None:
    async with TwilioRest(ACCOUNT, "f" * 32, api_base=twilio.url) as wrong:
        with pytest.raises(RestRejectedError) as raised:
            await wrong.create_call(_call())

    assert (raised.value.status, raised.value.code) == (401, 20003)
    assert twilio.record.calls == ()
    assert twilio.record.requests[0].status == 401


async def test_a_server_error_is_uncertain_and_the_call_may_exist(
    twilio: RestStandIn, rest: TwilioRest
) -> None:
    twilio.phones[CUSTOMER] = Phone(fault=RestFault(status=500, placed=True, times=1))
    before = datetime.now(UTC) - timedelta(seconds=5)

    with pytest.raises(RestUncertainError) as raised:
        await rest.create_call(_call())
    found = await rest.find_calls(to=CUSTOMER, started_after=before)
    retried = await rest.create_call(_call())

    assert raised.value.status == 500
    assert len(found) == 1  # the reconciler finds the call Twilio placed despite the 500
    assert retried != found[0].sid
    assert twilio.record.duplicate_dials() == {CUSTOMER: 2}


async def test_a_server_error_without_a_call_is_uncertain_too(
    twilio: RestStandIn, rest: TwilioRest
) -> None:
    twilio.phones[CUSTOMER] = Phone(fault=RestFault(status=503, placed=False))

    with pytest.raises(RestUncertainError):
        await rest.create_call(_call())

    assert twilio.record.calls == ()


async def test_an_answer_slower_than_the_timeout_is_uncertain(twilio: RestStandIn) -> None:
    twilio.phones[CUSTOMER] = Phone(fault=RestFault(status=None, delay_seconds=1.0))
    async with TwilioRest(ACCOUNT, TOKEN, api_base=twilio.url, timeout_seconds=0.2) as hasty:
        with pytest.raises(RestUncertainError, match=r"no answer within 0\.2 s"):
            await hasty.create_call(_call())

    (placed,) = twilio.record.calls
    assert placed.to == CUSTOMER


async def test_an_unreachable_api_is_uncertain() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with TwilioRest(ACCOUNT, TOKEN, api_base=f"http://127.0.0.1:{port}") as nowhere:
        with pytest.raises(RestUncertainError) as raised:
            await nowhere.fetch_call("CA" + "0" * 32)

    assert raised.value.status is None
