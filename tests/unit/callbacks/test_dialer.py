"""The callback dialer against the REST stand-in, on both databases: each attempt dialled once.

The REST client is the real ``TwilioRest`` over a real socket to the simulator's stand-in. The
calls' status callbacks go to a port nothing listens on; the tests hand the dialer the final
status the stand-in reports for each call, as the status webhook would.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from claim_support import T0, add_request, request_for
from sqlalchemy import Connection, select

from callbacks.dialer import GIVE_UP_RECONCILING, CallbackDialer, DialerConfig
from callbacks.policy import RetryPolicy
from config.menu import Schedule, TimeRange
from history.callback_requests import CallbackInfo, find_by_id
from history.db import Database, create_engine
from history.models import Callback, Interaction, InteractionEvent
from telephony.rest import TwilioRest
from telephony.simulator.phones import Phone, RestFault
from telephony.simulator.rest_api import RestStandIn

ACCOUNT = "AC" + "5" * 32
TOKEN = "0123456789abcdef0123456789abcdef"
PUBLIC = "http://127.0.0.1:9"  # nothing listens: status callbacks fail quietly
CUSTOMER = "+821055512345"
SEOUL = ZoneInfo("Asia/Seoul")  # loaded here, not on the event loop
OFFICE = Schedule(
    id="office",
    timezone="Asia/Seoul",
    weekly={day: (TimeRange(time(9), time(18)),) for day in range(5)},
)
RECONCILE_AFTER = timedelta(seconds=60)

ServerFactory = Callable[..., Awaitable[TestServer]]


class Clock:
    """The dialer's and the stand-in's "now", moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, by: timedelta) -> None:
        self.at += by


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
async def twilio(clock: Clock) -> AsyncIterator[RestStandIn]:
    async with RestStandIn(ACCOUNT, TOKEN, clock=clock) as stand_in:
        yield stand_in


@pytest.fixture
async def rest(twilio: RestStandIn) -> AsyncIterator[TwilioRest]:
    async with TwilioRest(ACCOUNT, TOKEN, api_base=twilio.url, timeout_seconds=5) as client:
        yield client


class Hours:
    """``hours_of``: the schedule of every request, and which requests were asked about."""

    def __init__(self, schedule: Schedule | None = None) -> None:
        self.schedule = schedule
        self.asked: list[tuple[str, str]] = []

    async def __call__(self, checksum: str, node: str) -> Schedule | None:
        self.asked.append((checksum, node))
        return self.schedule


def make_dialer(
    db: Database,
    rest: TwilioRest,
    clock: Clock,
    *,
    hours: Hours | None = None,
    policy: RetryPolicy | None = None,
    caller_id: str | None = None,
    instance: str = "dialer-1",
    public_url: str = PUBLIC,
) -> CallbackDialer:
    config = DialerConfig(
        instance=instance,
        public_url=public_url,
        caller_id=caller_id,
        ring_timeout_seconds=25,
        policy=policy or RetryPolicy(),
        reconcile_after=RECONCILE_AFTER,
        status_check_after=timedelta(minutes=10),
    )
    return CallbackDialer(db, rest, config, hours_of=hours or Hours(), clock=clock)


async def stored(db: Database, callback_id: int) -> CallbackInfo:
    found = await db.read(find_by_id, callback_id)
    assert found is not None
    return found


async def final_status(twilio: RestStandIn, call_sid: str) -> str:
    await twilio.settle()
    [call] = [c for c in twilio.record.calls if c.sid == call_sid]
    return call.status


def _events(conn: Connection, interaction_id: int) -> list[tuple[str, dict[str, Any]]]:
    rows = conn.execute(
        select(InteractionEvent.type, InteractionEvent.payload)
        .where(InteractionEvent.interaction_id == interaction_id)
        .order_by(InteractionEvent.seq)
    )
    return [(row.type, dict(row.payload)) for row in rows]


def _outcome(conn: Connection, interaction_id: int) -> tuple[datetime | None, str | None]:
    row = conn.execute(
        select(Interaction.ended_at, Interaction.outcome).where(Interaction.id == interaction_id)
    ).one()
    return row.ended_at, row.outcome


# --- dialling --------------------------------------------------------------------------------


async def test_each_due_request_is_dialled_once_and_its_call_sid_stored(
    db: Database, rest: TwilioRest, twilio: RestStandIn, clock: Clock
) -> None:
    first = await add_request(db, request_for("+821000000001", place=timedelta(minutes=-2)))
    second = await add_request(db, request_for("+821000000002", place=timedelta(minutes=-1)))
    later = await add_request(db, request_for("+821000000003", due=timedelta(minutes=5)))
    dialer = make_dialer(db, rest, clock)

    assert not await dialer.dial_due()
    assert not await dialer.dial_due()

    assert twilio.record.dial_counts() == {"+821000000001": 1, "+821000000002": 1}
    for request in (first, second):
        [placed] = twilio.record.dials_to(request.phone)
        row = await stored(db, request.id)
        assert (row.status, row.attempts, row.call_sid) == ("dialing", 1, placed.sid)
        assert (placed.from_, placed.timeout_seconds) == ("+8215880000", 25)
        assert placed.url.startswith(f"{PUBLIC}/twilio/callbacks/answer?")
        assert placed.status_callback is not None
        assert placed.status_callback.startswith(f"{PUBLIC}/twilio/callbacks/status?")
        query = {"callback": [str(request.id)], "attempt": ["1"]}
        assert parse_qs(urlsplit(placed.url).query) == query
        assert parse_qs(urlsplit(placed.status_callback).query) == query
        types = [kind for kind, _ in await db.read(_events, request.interaction_id)]
        assert types == ["callback_requested", "callback_claimed", "callback_dialing"]
    assert (await stored(db, later.id)).status == "pending"


async def test_the_configured_caller_id_is_the_callbacks_number(
    db: Database, rest: TwilioRest, twilio: RestStandIn, clock: Clock
) -> None:
    await add_request(db, request_for(CUSTOMER))

    await make_dialer(db, rest, clock, caller_id="+8215889999").dial_due()

    [placed] = twilio.record.dials_to(CUSTOMER)
    assert placed.from_ == "+8215889999"


async def test_two_dialers_on_two_engines_dial_every_request_once(
    migrated: str, twilio: RestStandIn, clock: Clock
) -> None:
    engines = [create_engine(migrated), create_engine(migrated)]
    dbs = [Database(engine) for engine in engines]
    try:
        phones = [f"+8210000{n:05}" for n in range(60)]
        for n, phone in enumerate(phones):
            await add_request(dbs[0], request_for(phone, place=timedelta(seconds=n)))
        async with (
            TwilioRest(ACCOUNT, TOKEN, api_base=twilio.url) as one,
            TwilioRest(ACCOUNT, TOKEN, api_base=twilio.url) as two,
        ):
            dialers = [
                make_dialer(dbs[0], one, clock, instance="one"),
                make_dialer(dbs[1], two, clock, instance="two"),
            ]
            for _ in range(3):
                await asyncio.gather(*(d.dial_due() for d in dialers))

        assert twilio.record.duplicate_dials() == {}
        assert set(twilio.record.dial_counts()) == set(phones)
        claimed_by = await dbs[0].read(_claimed_by)
        assert set(claimed_by.values()) == {"one", "two"}
    finally:
        for db in dbs:
            await db.close()
        for engine in engines:
            await engine.dispose()


def _claimed_by(conn: Connection) -> dict[str, str | None]:
    return {row.phone: row.claimed_by for row in conn.execute(select(Callback))}


# --- status callbacks ------------------------------------------------------------------------


async def test_an_answered_callback_is_dialled_and_a_repeated_status_changes_nothing(
    db: Database, rest: TwilioRest, twilio: RestStandIn, clock: Clock
) -> None:
    request = await add_request(db, request_for(CUSTOMER))
    dialer = make_dialer(db, rest, clock)
    await dialer.dial_due()
    [placed] = twilio.record.dials_to(CUSTOMER)
    status = await final_status(twilio, placed.sid)

    assert await dialer.on_status(request.id, 1, placed.sid, status)
    assert not await dialer.on_status(request.id, 1, placed.sid, status)

    row = await stored(db, request.id)
    assert (status, row.status, row.last_result, row.call_sid) == (
        "completed",
        "dialed",
        "answered",
        placed.sid,
    )
    kinds = [kind for kind, _ in await db.read(_events, request.interaction_id)]
    assert kinds[-1] == "callback_answered"


async def test_progress_is_noted_and_the_attempt_stays_dialing(
    db: Database, rest: TwilioRest, twilio: RestStandIn, clock: Clock
) -> None:
    request = await add_request(db, request_for(CUSTOMER))
    dialer = make_dialer(db, rest, clock)
    await dialer.dial_due()
    [placed] = twilio.record.dials_to(CUSTOMER)

    assert await dialer.on_status(request.id, 1, placed.sid, "ringing")

    assert (await stored(db, request.id)).status == "dialing"
    kind, payload = (await db.read(_events, request.interaction_id))[-1]
    assert (kind, payload["status"]) == ("callback_call_status", "ringing")


@pytest.mark.parametrize("behaviour", ["busy", "no-answer", "failed"])
async def test_a_customer_not_reached_is_tried_again_after_the_policys_delay(
    db: Database, rest: TwilioRest, twilio: RestStandIn, clock: Clock, behaviour: str
) -> None:
    twilio.phones[CUSTOMER] = Phone(behaviour=behaviour)  # type: ignore[arg-type]
    request = await add_request(db, request_for(CUSTOMER, place=timedelta(minutes=-4)))
    policy = RetryPolicy(max_attempts=3, delays=(timedelta(minutes=7),))
    dialer = make_dialer(db, rest, clock, policy=policy)
    await dialer.dial_due()
    [placed] = twilio.record.dials_to(CUSTOMER)
    status = await final_status(twilio, placed.sid)
    clock.advance(timedelta(seconds=40))

    assert await dialer.on_status(request.id, 1, placed.sid, status)

    row = await stored(db, request.id)
    assert status == behaviour
    assert (row.status, row.attempts, row.call_sid, row.last_result) == ("pending", 1, None, status)
    assert row.due_at == T0 + timedelta(seconds=40, minutes=7)
    assert row.original_enqueued_at == T0 - timedelta(minutes=4)
    kind, payload = (await db.read(_events, request.interaction_id))[-1]
    assert (kind, payload["call_sid"], payload["call_status"]) == (
        "callback_retry_scheduled",
        placed.sid,
        behaviour,
    )


async def test_a_status_of_an_earlier_attempt_changes_nothing(
    db: Database, rest: TwilioRest, twilio: RestStandIn, clock: Clock
) -> None:
    twilio.phones[CUSTOMER] = Phone(behaviour="busy")
    request = await add_request(db, request_for(CUSTOMER))
    dialer = make_dialer(db, rest, clock, policy=RetryPolicy(delays=(timedelta(minutes=1),)))
    await dialer.dial_due()
    [first] = twilio.record.dials_to(CUSTOMER)
    await dialer.on_status(request.id, 1, first.sid, await final_status(twilio, first.sid))
    clock.advance(timedelta(minutes=1))
    await dialer.dial_due()

    assert not await dialer.on_status(request.id, 1, first.sid, "busy")  # repeated, late
    assert not await dialer.on_status(request.id, 2, first.sid, "completed")  # another call

    row = await stored(db, request.id)
    assert (row.status, row.attempts) == ("dialing", 2)


async def test_retries_follow_the_policy_until_the_request_fails(
    db: Database, rest: TwilioRest, twilio: RestStandIn, clock: Clock
) -> None:
    twilio.phones[CUSTOMER] = Phone(behaviour="no-answer")
    request = await add_request(db, request_for(CUSTOMER))
    delays = (timedelta(minutes=5), timedelta(minutes=30))
    dialer = make_dialer(db, rest, clock, policy=RetryPolicy(max_attempts=3, delays=delays))
    due_times: list[datetime] = []

    for attempt in (1, 2, 3):
        assert await dialer.dial_due() is False
        placed = twilio.record.dials_to(CUSTOMER)[-1]
        assert await dialer.on_status(
            request.id, attempt, placed.sid, await final_status(twilio, placed.sid)
        )
        row = await stored(db, request.id)
        due_times.append(row.due_at)
        assert await dialer.dial_due() is False  # not due again yet
        clock.at = row.due_at

    assert len(twilio.record.dials_to(CUSTOMER)) == 3
    assert due_times[:2] == [T0 + timedelta(minutes=5), T0 + timedelta(minutes=35)]
    row = await stored(db, request.id)
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.last_result == "no-answer after 3 attempt(s)"
    assert await db.read(_outcome, request.interaction_id) == (due_times[1], "failed")


async def test_a_retry_waits_for_the_schedule_to_open(
    db: Database, rest: TwilioRest, twilio: RestStandIn, clock: Clock
) -> None:
    twilio.phones[CUSTOMER] = Phone(behaviour="busy")
    clock.at = datetime(2026, 11, 24, 17, 58, tzinfo=SEOUL)  # Tuesday, two minutes to closing
    request = await add_request(db, request_for(CUSTOMER, due=clock.at - T0))
    hours = Hours(OFFICE)
    dialer = make_dialer(db, rest, clock, hours=hours)
    await dialer.dial_due()
    [placed] = twilio.record.dials_to(CUSTOMER)

    await dialer.on_status(request.id, 1, placed.sid, await final_status(twilio, placed.sid))

    row = await stored(db, request.id)
    assert row.status == "pending"
    assert row.due_at == datetime(2026, 11, 25, 9, 0, tzinfo=SEOUL)  # Wednesday's opening
    assert hours.asked == [("menu-checksum", "agents")]


async def test_a_schedule_that_never_opens_again_fails_the_request(
    db: Database, rest: TwilioRest, twilio: RestStandIn, clock: Clock
) -> None:
    twilio.phones[CUSTOMER] = Phone(behaviour="busy")
    request = await add_request(db, request_for(CUSTOMER))
    dialer = make_dialer(db, rest, clock, hours=Hours(Schedule("never", "Asia/Seoul", {})))
    await dialer.dial_due()
    [placed] = twilio.record.dials_to(CUSTOMER)

    await dialer.on_status(request.id, 1, placed.sid, await final_status(twilio, placed.sid))

    row = await stored(db, request.id)
    assert (row.status, row.last_result) == ("failed", "busy; the schedule never opens again")


# --- refused and uncertain dials -------------------------------------------------------------


async def test_a_refused_dial_ends_the_attempt_as_rejected_and_schedules_a_retry(
    db: Database, rest: TwilioRest, twilio: RestStandIn, clock: Clock
) -> None:
    twilio.phones[CUSTOMER] = Phone(fault=RestFault(status=400, placed=False, times=1))
    request = await add_request(db, request_for(CUSTOMER))
    dialer = make_dialer(db, rest, clock)

    await dialer.dial_due()

    row = await stored(db, request.id)
    assert (row.status, row.attempts, row.call_sid) == ("pending", 1, None)
    assert (row.last_result, row.due_at) == ("rejected", T0 + timedelta(minutes=5))
    kind, payload = (await db.read(_events, request.interaction_id))[-1]
    assert (kind, payload["call_status"]) == ("callback_retry_scheduled", "rejected")
    assert twilio.record.calls == ()

    clock.advance(timedelta(minutes=5))
    await dialer.dial_due()

    [placed] = twilio.record.dials_to(CUSTOMER)
    row = await stored(db, request.id)
    assert (row.status, row.attempts, row.call_sid) == ("dialing", 2, placed.sid)


async def test_a_refused_last_attempt_fails_the_request(
    db: Database, rest: TwilioRest, twilio: RestStandIn, clock: Clock
) -> None:
    twilio.phones[CUSTOMER] = Phone(fault=RestFault(status=400, placed=False))
    # The request's own attempts decide, whatever the dialer's policy says now.
    request = await add_request(db, replace(request_for(CUSTOMER), max_attempts=1))

    await make_dialer(db, rest, clock, policy=RetryPolicy(max_attempts=5)).dial_due()

    row = await stored(db, request.id)
    assert (row.status, row.attempts, row.last_result) == (
        "failed",
        1,
        "rejected after 1 attempt(s)",
    )
    assert await db.read(_outcome, request.interaction_id) == (T0, "failed")


async def test_a_call_placed_despite_an_error_is_found_and_never_dialled_again(
    db: Database, rest: TwilioRest, twilio: RestStandIn, clock: Clock
) -> None:
    twilio.phones[CUSTOMER] = Phone(fault=RestFault(status=500, placed=True, times=1))
    request = await add_request(db, request_for(CUSTOMER))
    dialer = make_dialer(db, rest, clock)
    await dialer.dial_due()
    row = await stored(db, request.id)
    assert (row.status, row.attempts, row.call_sid) == ("dialing", 1, None)
    await twilio.settle()

    clock.advance(RECONCILE_AFTER - timedelta(seconds=1))
    assert await dialer.reconcile() == 0  # too early: a healthy attempt is left alone
    clock.advance(timedelta(seconds=2))
    assert await dialer.reconcile() == 1
    await dialer.dial_due()
    assert await dialer.reconcile() == 0

    [placed] = twilio.record.dials_to(CUSTOMER)
    assert placed.rest_status == 500
    row = await stored(db, request.id)
    assert (row.status, row.attempts, row.call_sid) == ("dialed", 1, placed.sid)


async def test_a_call_found_still_going_is_left_to_its_status_callback(
    db: Database, clock: Clock, aiohttp_server: ServerFactory
) -> None:
    answered = asyncio.Event()

    async def status_callback(request: web.Request) -> web.Response:
        if (await request.post()).get("CallStatus") == "in-progress":
            answered.set()
        return web.Response(status=204)

    hooks = web.Application()
    hooks.router.add_post("/twilio/callbacks/status", status_callback)
    public_url = str((await aiohttp_server(hooks)).make_url("")).rstrip("/")
    request = await add_request(db, request_for(CUSTOMER))
    async with RestStandIn(ACCOUNT, TOKEN, clock=clock, time_scale=0.01) as slow:
        slow.phones[CUSTOMER] = Phone(
            ring_seconds=0, talk_seconds=6000, fault=RestFault(status=503, placed=True)
        )
        async with TwilioRest(ACCOUNT, TOKEN, api_base=slow.url) as rest:
            dialer = make_dialer(db, rest, clock, public_url=public_url)
            await dialer.dial_due()
            await asyncio.wait_for(answered.wait(), 10)
            clock.advance(RECONCILE_AFTER * 2)

            assert await dialer.reconcile() == 1

            [placed] = slow.record.dials_to(CUSTOMER)
            row = await stored(db, request.id)
            assert (row.status, row.call_sid) == ("dialing", placed.sid)
            assert await dialer.on_status(request.id, 1, placed.sid, "completed")


async def test_an_attempt_twilio_never_placed_is_given_back_uncounted_and_dialled_once(
    db: Database, rest: TwilioRest, twilio: RestStandIn, clock: Clock
) -> None:
    twilio.phones[CUSTOMER] = Phone(fault=RestFault(status=500, placed=False, times=1))
    request = await add_request(db, request_for(CUSTOMER))
    dialer = make_dialer(db, rest, clock)
    await dialer.dial_due()
    clock.advance(RECONCILE_AFTER + timedelta(seconds=1))

    assert await dialer.reconcile() == 1

    row = await stored(db, request.id)
    assert (row.status, row.attempts, row.due_at) == ("pending", 0, clock.at)
    assert row.last_result == "Twilio has no call for this attempt"
    await dialer.dial_due()
    [placed] = twilio.record.dials_to(CUSTOMER)
    row = await stored(db, request.id)
    assert (row.status, row.attempts, row.call_sid) == ("dialing", 1, placed.sid)


async def test_a_lost_status_callback_is_asked_of_twilio(
    db: Database, rest: TwilioRest, twilio: RestStandIn, clock: Clock
) -> None:
    twilio.phones[CUSTOMER] = Phone(behaviour="no-answer")
    request = await add_request(db, request_for(CUSTOMER))
    dialer = make_dialer(db, rest, clock)
    await dialer.dial_due()
    await twilio.settle()

    clock.advance(timedelta(minutes=9))
    assert await dialer.reconcile() == 0  # a dialled attempt waits longer for its status
    clock.advance(timedelta(minutes=2))
    assert await dialer.reconcile() == 1

    row = await stored(db, request.id)
    assert (row.status, row.attempts, row.last_result) == ("pending", 1, "no-answer")


@pytest.fixture
def nowhere() -> str:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def test_an_attempt_is_marked_unknown_when_the_call_log_stays_unreachable(
    db: Database, clock: Clock, nowhere: str
) -> None:
    request = await add_request(db, request_for(CUSTOMER))
    async with TwilioRest(ACCOUNT, TOKEN, api_base=nowhere, timeout_seconds=2) as rest:
        dialer = make_dialer(db, rest, clock)
        await dialer.dial_due()  # the answer is lost: the call may have been placed
        row = await stored(db, request.id)
        assert (row.status, row.call_sid) == ("dialing", None)

        clock.advance(RECONCILE_AFTER * 2)
        assert await dialer.reconcile() == 1
        assert (await stored(db, request.id)).status == "dialing"  # not blindly retried

        clock.at = T0 + GIVE_UP_RECONCILING + timedelta(seconds=1)
        assert await dialer.reconcile() == 1

    row = await stored(db, request.id)
    assert (row.status, row.attempts) == ("unknown", 1)
    assert row.last_result is not None and "call log unreachable" in row.last_result
    assert await db.read(_outcome, request.interaction_id) == (clock.at, "unknown")
    assert await dialer.dial_due() is False
