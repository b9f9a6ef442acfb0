"""The ACD at run time against the REST stand-in: agents are rung, contacts brought or put back.

The REST client is the real ``TwilioRest`` over a real socket to the simulator's stand-in; the
status callbacks of the calls it places go to a port nothing listens on (the tests report the
agents' legs to the ACD themselves, as the webhooks would).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from line_support import (
    agent_available,
    callback_row,
    callback_waits,
    caller_waits,
    event_types,
    member,
    minutes,
)

from agents import roster
from agents.acd import AGENT_RING_SECONDS, Acd, AcdConfig, AgentLeg, WaitingCall
from agents.roster import AgentInfo
from callbacks.dialer import CallbackDialer, DialerConfig
from history.db import Database
from history.queue_line import LeaveQueue, leave
from telephony.rest import TwilioRest
from telephony.simulator.phones import Phone, RestFault
from telephony.simulator.rest_api import RestStandIn

ACCOUNT = "AC" + "7" * 32
TOKEN = "0123456789abcdef0123456789abcdef"
PUBLIC = "http://127.0.0.1:9"  # nothing listens: status callbacks fail quietly
OURS = "+8215880000"
CALLED_LINE = "+8215885555"  # the line a waiting caller dialled
AGENT_PHONE = "+821055550001"
CUSTOMER = "+821012340001"
NOW = minutes(30)


def clock() -> datetime:
    return NOW


@pytest.fixture
async def twilio() -> AsyncIterator[RestStandIn]:
    async with RestStandIn(ACCOUNT, TOKEN) as stand_in:
        yield stand_in


@pytest.fixture
async def rest(twilio: RestStandIn) -> AsyncIterator[TwilioRest]:
    async with TwilioRest(ACCOUNT, TOKEN, api_base=twilio.url, timeout_seconds=5) as client:
        yield client


def make_acd(
    db: Database,
    rest: TwilioRest,
    *,
    caller_id: str | None = OURS,
    wrap_up: timedelta = timedelta(seconds=30),
    turn: int | None = 7,
    now: Callable[[], datetime] = clock,
) -> Acd:
    async def waiting_call(call_sid: str) -> WaitingCall | None:
        return None if turn is None else WaitingCall(turn, CALLED_LINE)

    config = AcdConfig(
        instance="acd-test",
        public_url=PUBLIC,
        caller_id=caller_id,
        callbacks=True,
        wrap_up=wrap_up,
    )
    dialer = CallbackDialer(
        db, rest, DialerConfig(instance="dialer", public_url=PUBLIC), hours_of=no_hours, clock=now
    )
    return Acd(db, rest, config, waiting_call=waiting_call, refused=dialer.refused, clock=now)


async def agent(db: Database) -> AgentInfo:
    return await agent_available(db, "agent", address=AGENT_PHONE)


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


async def state_of(db: Database, agent_id: int) -> tuple[str, str | None]:
    found = await db.read(roster.get_agent, agent_id)
    assert found is not None
    return found.state, found.busy_with


async def test_dispatch_rings_the_assigned_agent_with_the_contact_in_the_urls(
    db: Database, rest: TwilioRest, twilio: RestStandIn
) -> None:
    chosen = await agent(db)
    await caller_waits(db, "CA-1")

    more = await make_acd(db, rest).dispatch()

    assert not more
    [ring] = twilio.record.calls
    assert (ring.to, ring.from_, ring.timeout_seconds) == (AGENT_PHONE, OURS, AGENT_RING_SECONDS)
    assert ring.url.startswith(f"{PUBLIC}/twilio/agents/answer?")
    assert ring.status_callback is not None
    assert ring.status_callback.startswith(f"{PUBLIC}/twilio/agents/status?")
    expected = {"agent": [str(chosen.id)], "contact": ["call:CA-1"]}
    assert query_of(ring.url) == query_of(ring.status_callback) == expected
    assert ":" in urlsplit(ring.url).query  # literal, as in the label Twilio signs back
    assert await state_of(db, chosen.id) == ("busy", "call:CA-1")


async def test_an_agent_rung_for_a_callback_sees_the_customers_line(
    db: Database, rest: TwilioRest, twilio: RestStandIn
) -> None:
    await agent(db)
    await callback_waits(db, CUSTOMER)

    await make_acd(db, rest, caller_id=None).dispatch()

    [ring] = twilio.record.calls
    assert (ring.to, ring.from_) == (AGENT_PHONE, "+8215880000")


async def test_an_agent_rung_for_a_waiting_caller_sees_the_line_the_caller_dialled(
    db: Database, rest: TwilioRest, twilio: RestStandIn
) -> None:
    await agent(db)
    await caller_waits(db, "CA-1")

    await make_acd(db, rest, caller_id=None).dispatch()

    [ring] = twilio.record.calls
    assert (ring.to, ring.from_) == (AGENT_PHONE, CALLED_LINE)


async def test_nobody_is_rung_without_an_available_agent(
    db: Database, rest: TwilioRest, twilio: RestStandIn
) -> None:
    chosen = await agent(db)
    await db.write(roster.set_state, chosen.id, "offline", at=NOW, by="test")
    await caller_waits(db, "CA-1")

    assert not await make_acd(db, rest).dispatch()

    assert twilio.record.calls == ()
    assert (await db.read(member, "CA-1")).status == "waiting"


async def test_a_finished_wrap_up_lets_the_agent_take_the_next_caller(
    db: Database, rest: TwilioRest, twilio: RestStandIn
) -> None:
    chosen = await agent(db)
    await db.write(roster.set_state, chosen.id, "wrap_up", at=NOW - timedelta(seconds=30), by="t")
    await caller_waits(db, "CA-1")

    await make_acd(db, rest, wrap_up=timedelta(seconds=30)).dispatch()

    assert await state_of(db, chosen.id) == ("busy", "call:CA-1")
    assert len(twilio.record.calls) == 1


async def test_an_agent_twilio_refuses_to_ring_is_logged_out_and_the_caller_keeps_the_place(
    db: Database, rest: TwilioRest, twilio: RestStandIn
) -> None:
    twilio.phones[AGENT_PHONE] = Phone(fault=RestFault(status=400, placed=False))
    chosen = await agent(db)
    await caller_waits(db, "CA-1", place=minutes(2))

    await make_acd(db, rest).dispatch()

    assert await state_of(db, chosen.id) == ("offline", None)
    row = await db.read(member, "CA-1")
    assert (row.status, row.enqueued_at, row.agent_id) == ("waiting", minutes(2), None)


async def test_an_agent_who_answers_a_callback_waits_in_its_room_and_the_customer_is_dialled(
    db: Database, rest: TwilioRest, twilio: RestStandIn
) -> None:
    chosen = await agent(db)
    request = await callback_waits(db, CUSTOMER)
    acd = make_acd(db, rest)
    await acd.dispatch()
    label = f"callback:{request.id}:1"

    leg = await acd.agent_answered(chosen.id, label, "CA-agent-leg")

    assert leg == AgentLeg(f"vd-cb{request.id}-1", "callback")
    [dialled] = twilio.record.dials_to(CUSTOMER)
    assert dialled.from_ == OURS
    assert dialled.url.startswith(f"{PUBLIC}/twilio/callbacks/answer?")
    expected = {"callback": [str(request.id)], "attempt": ["1"]}
    assert query_of(dialled.url) == expected
    assert dialled.status_callback is not None
    assert query_of(dialled.status_callback) == expected
    row = await db.read(callback_row, request.id)
    assert (row.status, row.call_sid) == ("dialing", dialled.sid)
    assert row.agent_call_sid == "CA-agent-leg"
    assert "callback_dialing" in await db.read(event_types, request.interaction_id)


async def test_an_agent_answering_twice_brings_the_customer_once(
    db: Database, rest: TwilioRest, twilio: RestStandIn
) -> None:
    chosen = await agent(db)
    request = await callback_waits(db, CUSTOMER)
    acd = make_acd(db, rest)
    await acd.dispatch()
    label = f"callback:{request.id}:1"

    first = await acd.agent_answered(chosen.id, label, "CA-agent-leg")
    again = await acd.agent_answered(chosen.id, label, "CA-agent-leg")  # a repeated webhook

    assert first == again == AgentLeg(f"vd-cb{request.id}-1", "callback")
    assert len(twilio.record.dials_to(CUSTOMER)) == 1


async def test_a_callback_given_again_after_a_lost_dial_is_dialled_for_the_next_agent(
    db: Database, rest: TwilioRest, twilio: RestStandIn
) -> None:
    twilio.phones[CUSTOMER] = Phone(fault=RestFault(status=500, placed=False, times=1))
    first = await agent(db)
    request = await callback_waits(db, CUSTOMER)
    label = f"callback:{request.id}:1"
    acd = make_acd(db, rest)
    await acd.dispatch()
    assert (await acd.agent_answered(first.id, label, "CA-first-leg")).room is None
    await acd.agent_leg_ended(first.id, label, "completed")
    dialer = CallbackDialer(
        db, rest, DialerConfig(instance="dialer", public_url=PUBLIC), hours_of=no_hours, clock=later
    )
    assert await dialer.reconcile() == 1  # Twilio has no call: the attempt is given back
    second = await agent_available(db, "second", address="+821055550002", since=NOW)

    later_acd = make_acd(db, rest, now=later)
    await later_acd.dispatch()
    leg = await later_acd.agent_answered(second.id, label, "CA-second-leg")

    assert leg == AgentLeg(f"vd-cb{request.id}-1", "callback")
    [dialled] = twilio.record.dials_to(CUSTOMER)
    row = await db.read(callback_row, request.id)
    assert (row.attempts, row.call_sid, row.agent_id) == (1, dialled.sid, second.id)
    assert row.agent_call_sid == "CA-second-leg"


async def test_an_agent_whose_caller_left_the_line_hears_the_contact_is_gone(
    db: Database, rest: TwilioRest, twilio: RestStandIn
) -> None:
    chosen = await agent(db)
    await caller_waits(db, "CA-1")
    acd = make_acd(db, rest)
    await acd.dispatch()
    await db.write(leave, call_sid="CA-1", effect=LeaveQueue("hangup"), at=NOW)

    leg = await acd.agent_answered(chosen.id, "call:CA-1", "CA-agent-leg")

    assert leg == AgentLeg(None, "call")
    assert [r for r in twilio.record.requests if "/Queues" in r.path] == []


async def test_a_caller_whose_call_is_no_longer_waiting_is_not_brought(
    db: Database, rest: TwilioRest, twilio: RestStandIn
) -> None:
    chosen = await agent(db)
    await caller_waits(db, "CA-1")
    acd = make_acd(db, rest, turn=None)
    await acd.dispatch()

    leg = await acd.agent_answered(chosen.id, "call:CA-1", "CA-agent-leg")

    assert leg == AgentLeg(None, "call")
    assert [r for r in twilio.record.requests if "/Queues" in r.path] == []


async def test_a_caller_twilio_has_not_in_its_queue_is_not_brought(
    db: Database, rest: TwilioRest, twilio: RestStandIn
) -> None:
    chosen = await agent(db)
    await caller_waits(db, "CA-1")
    acd = make_acd(db, rest)
    await acd.dispatch()

    leg = await acd.agent_answered(chosen.id, "call:CA-1", "CA-agent-leg")

    assert leg == AgentLeg(None, "call")
    assert (await db.read(member, "CA-1")).connected_at is None


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed", "canceled"])
async def test_an_agent_who_does_not_answer_is_logged_out_and_the_caller_keeps_the_place(
    db: Database, rest: TwilioRest, status: str
) -> None:
    chosen = await agent(db)
    await caller_waits(db, "CA-1", place=minutes(2))
    acd = make_acd(db, rest)
    await acd.dispatch()

    await acd.agent_leg_ended(chosen.id, "call:CA-1", status)

    assert await state_of(db, chosen.id) == ("offline", None)
    row = await db.read(member, "CA-1")
    assert (row.status, row.enqueued_at) == ("waiting", minutes(2))


@pytest.mark.parametrize(("wrap_up", "after"), [(30, "wrap_up"), (0, "available")])
async def test_an_agent_whose_conversation_ended_wraps_up_or_is_free_again(
    db: Database, rest: TwilioRest, wrap_up: int, after: str
) -> None:
    chosen = await agent(db)
    request = await callback_waits(db, CUSTOMER)
    acd = make_acd(db, rest, wrap_up=timedelta(seconds=wrap_up))
    await acd.dispatch()
    label = f"callback:{request.id}:1"
    await acd.agent_answered(chosen.id, label, "CA-agent-leg")

    await acd.agent_leg_ended(chosen.id, label, "completed")
    await acd.agent_leg_ended(chosen.id, label, "completed")  # a repeated status changes nothing

    assert await state_of(db, chosen.id) == (after, None)
    row = await db.read(callback_row, request.id)
    assert (row.status, row.attempts) == ("dialing", 1)  # the customer's call decides


async def test_a_callback_customer_who_does_not_answer_frees_the_waiting_agent(
    db: Database,
) -> None:
    chosen = await agent(db)
    request = await callback_waits(db, CUSTOMER)
    # Real time, slowed: the agent's leg is still talking when the customer's call fails.
    async with RestStandIn(ACCOUNT, TOKEN, time_scale=0.01) as twilio:
        twilio.phones[AGENT_PHONE] = Phone(ring_seconds=0, talk_seconds=6000)
        twilio.phones[CUSTOMER] = Phone(behaviour="no-answer")
        async with TwilioRest(ACCOUNT, TOKEN, api_base=twilio.url) as rest:
            acd = make_acd(db, rest)
            await acd.dispatch()
            [ring] = twilio.record.calls
            label = f"callback:{request.id}:1"
            await acd.agent_answered(chosen.id, label, ring.sid)

            await acd.customer_unreached(request.id, 1)
            await twilio.settle()

        hangups = [r for r in twilio.record.requests if r.path.endswith(f"/Calls/{ring.sid}.json")]
        assert [r.form.get("Status") for r in hangups] == [("completed",)]
        [agent_leg] = [c for c in twilio.record.calls if c.sid == ring.sid]
        assert agent_leg.status == "completed"


async def test_a_customer_who_answers_a_callback_is_connected_to_the_agent(
    db: Database, rest: TwilioRest
) -> None:
    chosen = await agent(db)
    request = await callback_waits(db, CUSTOMER)
    acd = make_acd(db, rest)
    await acd.dispatch()
    await acd.agent_answered(chosen.id, f"callback:{request.id}:1", "CA-agent-leg")

    await acd.callback_connected(request.id, 1)

    assert "agent_connected" in await db.read(event_types, request.interaction_id)


async def test_a_callback_twilio_refuses_to_dial_is_not_offered_to_agents_forever(
    db: Database, rest: TwilioRest, twilio: RestStandIn
) -> None:
    twilio.phones[CUSTOMER] = Phone(fault=RestFault(status=400, placed=False))
    chosen = await agent(db)
    request = await callback_waits(db, CUSTOMER)
    acd = make_acd(db, rest)
    dialer = CallbackDialer(
        db, rest, DialerConfig(instance="dialer", public_url=PUBLIC), hours_of=no_hours, clock=later
    )
    await acd.dispatch()
    label = f"callback:{request.id}:1"
    assert (await acd.agent_answered(chosen.id, label, "CA-agent-leg")).room is None
    await acd.agent_leg_ended(chosen.id, label, "completed")

    await dialer.reconcile()

    row = await db.read(callback_row, request.id)
    assert row.attempts == 1, (row.status, row.attempts, row.due_at)
    assert row.status == "pending"  # retried later like an unanswered call, not at once
    assert row.due_at > NOW


async def no_hours(checksum: str, node: str) -> None:
    return None


def later() -> datetime:
    return NOW + timedelta(hours=1)
