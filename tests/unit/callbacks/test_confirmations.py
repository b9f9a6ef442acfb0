"""Confirmation texts from the callbacks outbox, on both databases: each sent at most once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from claim_support import T0, add_request, request_for
from sqlalchemy import Connection, select

from callbacks.confirmations import Confirmation, ConfirmationSender
from history.db import Database, create_engine
from history.models import Callback, InteractionEvent
from telephony.rest import TwilioRest
from telephony.simulator.phones import Phone, RestFault
from telephony.simulator.rest_api import RestStandIn

ACCOUNT = "AC" + "6" * 32
TOKEN = "0123456789abcdef0123456789abcdef"
CUSTOMER = "+821055512345"


@pytest.fixture
async def twilio() -> AsyncIterator[RestStandIn]:
    async with RestStandIn(ACCOUNT, TOKEN) as stand_in:
        yield stand_in


@pytest.fixture
async def rest(twilio: RestStandIn) -> AsyncIterator[TwilioRest]:
    async with TwilioRest(ACCOUNT, TOKEN, api_base=twilio.url, timeout_seconds=5) as client:
        yield client


class Texts:
    """``text_of``: a text naming the request, and every confirmation it was asked for."""

    def __init__(self) -> None:
        self.asked: list[Confirmation] = []

    async def __call__(self, confirmation: Confirmation) -> str:
        self.asked.append(confirmation)
        return f"{confirmation.kind} callback {confirmation.id} ({confirmation.language})"


def sender(
    db: Database, rest: TwilioRest, texts: Texts | None = None, caller_id: str | None = None
) -> ConfirmationSender:
    return ConfirmationSender(
        db, rest, text_of=texts or Texts(), caller_id=caller_id, clock=lambda: T0
    )


def _sms_status(conn: Connection) -> dict[str, str]:
    return {row.phone: row.sms_status for row in conn.execute(select(Callback))}


def _events(conn: Connection, interaction_id: int) -> list[tuple[str, dict[str, Any]]]:
    rows = conn.execute(
        select(InteractionEvent.type, InteractionEvent.payload)
        .where(InteractionEvent.interaction_id == interaction_id)
        .order_by(InteractionEvent.seq)
    )
    return [(row.type, dict(row.payload)) for row in rows]


async def test_pending_confirmations_are_sent_once_with_their_texts(
    db: Database, rest: TwilioRest, twilio: RestStandIn
) -> None:
    wanted = [await add_request(db, request_for(f"+82100000000{n}")) for n in range(3)]
    await add_request(db, replace(request_for("+821000000009"), sms=False))
    texts = Texts()
    confirmations = sender(db, rest, texts)

    assert await confirmations.send_pending() == 3
    assert await confirmations.send_pending() == 0
    await twilio.settle()

    assert sorted((m.to, m.from_, m.body) for m in twilio.record.messages) == [
        (r.phone, "+8215880000", f"queued callback {r.id} (ko)") for r in wanted
    ]
    assert [c.id for c in texts.asked] == [r.id for r in wanted]
    assert await db.read(_sms_status) == {
        "+821000000000": "sent",
        "+821000000001": "sent",
        "+821000000002": "sent",
        "+821000000009": "none",
    }
    for request in wanted:
        [message] = [m for m in twilio.record.messages if m.to == request.phone]
        kind, payload = (await db.read(_events, request.interaction_id))[-1]
        assert (kind, payload) == (
            "callback_sms_sent",
            {"callback_id": request.id, "message_sid": message.sid},
        )


async def test_the_text_is_asked_for_with_the_request_it_confirms(
    db: Database, rest: TwilioRest
) -> None:
    booked = replace(
        request_for(CUSTOMER, due=timedelta(days=1)), kind="scheduled", language="en", node="slot"
    )
    request = await add_request(db, booked)
    texts = Texts()

    await sender(db, rest, texts).send_pending()

    assert texts.asked == [
        Confirmation(
            id=request.id,
            phone=CUSTOMER,
            from_number="+8215880000",
            kind="scheduled",
            due_at=T0 + timedelta(days=1),
            language="en",
            menu_checksum="menu-checksum",
            node="slot",
            interaction_id=request.interaction_id,
        )
    ]


async def test_the_configured_caller_id_sends_the_text(
    db: Database, rest: TwilioRest, twilio: RestStandIn
) -> None:
    await add_request(db, request_for(CUSTOMER))

    await sender(db, rest, caller_id="+8215889999").send_pending()

    [message] = twilio.record.messages
    assert message.from_ == "+8215889999"


@pytest.mark.parametrize(
    "fault",
    [RestFault(status=400, placed=False), RestFault(status=500, placed=False)],
    ids=["refused", "uncertain"],
)
async def test_a_text_not_sent_is_marked_failed_and_never_retried(
    db: Database, rest: TwilioRest, twilio: RestStandIn, fault: RestFault
) -> None:
    twilio.phones[CUSTOMER] = Phone(fault=fault)
    request = await add_request(db, request_for(CUSTOMER))
    confirmations = sender(db, rest)

    assert await confirmations.send_pending() == 1
    twilio.phones[CUSTOMER] = Phone()
    assert await confirmations.send_pending() == 0

    assert twilio.record.messages == ()
    assert await db.read(_sms_status) == {CUSTOMER: "failed"}
    kind, payload = (await db.read(_events, request.interaction_id))[-1]
    assert kind == "callback_sms_failed"
    assert payload["callback_id"] == request.id
    assert CUSTOMER in payload["reason"]


async def test_a_text_that_cannot_be_written_does_not_lose_the_others(
    db: Database, rest: TwilioRest, twilio: RestStandIn
) -> None:
    first = await add_request(db, request_for("+821000000001"))
    broken = await add_request(db, request_for("+821000000002"))
    last = await add_request(db, request_for("+821000000003"))

    async def text_of(confirmation: Confirmation) -> str:
        if confirmation.id == broken.id:
            raise KeyError("no text for this menu")
        return "we will call you back"

    confirmations = ConfirmationSender(db, rest, text_of=text_of, caller_id=None, clock=lambda: T0)

    assert await confirmations.send_pending() == 3

    assert sorted(m.to for m in twilio.record.messages) == [first.phone, last.phone]
    assert (await db.read(_sms_status))[broken.phone] == "failed"
    kind, payload = (await db.read(_events, broken.interaction_id))[-1]
    assert (kind, payload["callback_id"]) == ("callback_sms_failed", broken.id)


async def test_two_senders_racing_on_one_database_send_each_text_once(
    migrated: str, twilio: RestStandIn
) -> None:
    engines = [create_engine(migrated), create_engine(migrated)]
    dbs = [Database(engine) for engine in engines]
    try:
        phones = [f"+8210000{n:05}" for n in range(120)]
        for phone in phones:
            await add_request(dbs[0], request_for(phone))
        async with (
            TwilioRest(ACCOUNT, TOKEN, api_base=twilio.url) as one,
            TwilioRest(ACCOUNT, TOKEN, api_base=twilio.url) as two,
        ):
            senders = [sender(dbs[0], one), sender(dbs[1], two)]
            claimed = await asyncio.gather(*(s.send_pending() for s in senders * 3))
        await twilio.settle()

        assert sum(claimed) == len(phones)
        sent_to = sorted(m.to for m in twilio.record.messages)
        assert sent_to == phones
        assert set((await dbs[0].read(_sms_status)).values()) == {"sent"}
    finally:
        for db in dbs:
            await db.close()
        for engine in engines:
            await engine.dispose()
