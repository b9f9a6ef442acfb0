"""The durable claim on both databases: each due request is taken once, in line order."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from claim_support import T0, add_request, request_for
from sqlalchemy import func, select

from callbacks import claim
from history.callback_requests import cancel, find_by_id, find_open, open_request
from history.db import Database, create_engine
from history.models import Callback, InteractionEvent

pytestmark = pytest.mark.usefixtures("db")


async def claim_now(
    db: Database, *, at: timedelta = timedelta(0), limit: int = 50
) -> list[claim.Claimed]:
    return await db.write(claim.claim_due, now=T0 + at, instance="one", limit=limit)


async def test_due_requests_are_claimed_oldest_place_first(db: Database) -> None:
    late = await add_request(db, request_for("+821000000001", place=timedelta(minutes=5)))
    early = await add_request(db, request_for("+821000000002", place=timedelta(minutes=1)))
    await add_request(db, request_for("+821000000003", due=timedelta(hours=1)))  # not due yet

    claimed = await claim_now(db)

    assert sorted(c.id for c in claimed) == sorted([early.id, late.id])
    ordered = await db.write(claim.claim_due, now=T0, instance="two", limit=1)
    assert ordered == []  # both already taken
    assert all(c.attempt == 1 for c in claimed)


async def test_a_limited_claim_takes_the_longest_waiting_first(db: Database) -> None:
    late = await add_request(db, request_for("+821000000001", place=timedelta(minutes=5)))
    early = await add_request(db, request_for("+821000000002", place=timedelta(minutes=1)))

    first = await claim_now(db, limit=1)
    second = await claim_now(db, limit=1)

    assert [c.id for c in first] == [early.id]
    assert [c.id for c in second] == [late.id]


async def test_one_open_request_per_phone(db: Database) -> None:
    first = await add_request(db, request_for("+821000000001"))

    again, created = await db.write(open_request, request_for("+821000000001"))

    assert not created
    assert again.id == first.id


async def test_a_closed_request_lets_the_phone_ask_again(db: Database) -> None:
    first = await add_request(db, request_for("+821000000001"))
    assert await db.write(cancel, first.id, at=T0, by="caller")

    second, created = await db.write(open_request, request_for("+821000000001"))

    assert created
    assert second.id != first.id
    assert (await db.read(find_open, "+821000000001")) == second


async def test_a_dialled_attempt_keeps_its_call_sid_and_ends_once(db: Database) -> None:
    request = await add_request(db, request_for("+821000000001"))
    [taken] = await claim_now(db)

    assert await db.write(
        claim.record_dialled, callback_id=taken.id, attempt=1, call_sid="CA1", at=T0
    )
    finished = dict(
        callback_id=taken.id,
        attempt=1,
        call_sid="CA1",
        call_status="completed",
        status="dialed",
        due_at=None,
        reason="answered",
        at=T0,
    )
    assert await db.write(claim.finish_attempt, **finished)
    assert not await db.write(claim.finish_attempt, **finished)  # a repeated status

    stored = await db.read(find_by_id, request.id)
    assert stored is not None
    assert (stored.status, stored.call_sid, stored.attempts) == ("dialed", "CA1", 1)


async def test_a_status_of_another_call_does_not_end_the_attempt(db: Database) -> None:
    await add_request(db, request_for("+821000000001"))
    [taken] = await claim_now(db)
    await db.write(claim.record_dialled, callback_id=taken.id, attempt=1, call_sid="CA1", at=T0)

    applied = await db.write(
        claim.finish_attempt,
        callback_id=taken.id,
        attempt=1,
        call_sid="CA-other",
        call_status="busy",
        status="pending",
        due_at=T0,
        reason="busy",
        at=T0,
    )

    assert not applied


async def test_a_retry_goes_back_in_line_with_its_place_and_a_new_attempt(db: Database) -> None:
    request = await add_request(db, request_for("+821000000001", place=timedelta(minutes=-3)))
    [taken] = await claim_now(db)
    await db.write(
        claim.finish_attempt,
        callback_id=taken.id,
        attempt=1,
        call_sid="CA1",
        call_status="busy",
        status="pending",
        due_at=T0 + timedelta(minutes=5),
        reason="busy",
        at=T0,
    )

    assert await claim_now(db, at=timedelta(minutes=4)) == []
    [again] = await claim_now(db, at=timedelta(minutes=5))

    assert again.id == request.id
    assert again.attempt == 2
    stored = await db.read(find_by_id, request.id)
    assert stored is not None
    assert stored.original_enqueued_at == T0 - timedelta(minutes=3)
    assert stored.call_sid is None


async def test_a_status_callback_may_store_the_call_sid_before_the_dialer(db: Database) -> None:
    await add_request(db, request_for("+821000000001"))
    [taken] = await claim_now(db)

    assert await db.write(
        claim.record_progress,
        callback_id=taken.id,
        attempt=1,
        call_sid="CA1",
        call_status="initiated",
        at=T0,
    )
    assert await db.write(
        claim.record_dialled, callback_id=taken.id, attempt=1, call_sid="CA1", at=T0
    )


async def test_an_unplaced_attempt_is_returned_uncounted_only_without_a_call_sid(
    db: Database,
) -> None:
    await add_request(db, request_for("+821000000001"))
    [taken] = await claim_now(db)

    assert await db.write(
        claim.return_unplaced, callback_id=taken.id, attempt=1, at=T0, reason="no call"
    )
    [again] = await claim_now(db)
    await db.write(claim.record_dialled, callback_id=again.id, attempt=1, call_sid="CA1", at=T0)

    assert again.attempt == 1
    assert not await db.write(
        claim.return_unplaced, callback_id=again.id, attempt=1, at=T0, reason="no call"
    )


async def test_stale_attempts_are_locked_for_one_reconciler_at_a_time(db: Database) -> None:
    await add_request(db, request_for("+821000000001"))
    await add_request(db, request_for("+821000000002"))
    taken = await claim_now(db)
    await db.write(claim.record_dialled, callback_id=taken[1].id, attempt=1, call_sid="CA2", at=T0)
    later = T0 + timedelta(minutes=2)
    stale = dict(unplaced_after=timedelta(minutes=1), placed_after=timedelta(hours=2), limit=10)

    first = await db.write(claim.lock_stale, now=later, **stale)
    second = await db.write(claim.lock_stale, now=later, **stale)

    assert [s.id for s in first] == [taken[0].id]  # the placed one is not stale yet
    assert first[0].claimed_at == T0
    assert second == []


async def test_every_transition_is_an_event_of_the_callback_interaction(db: Database) -> None:
    request = await add_request(db, request_for("+821000000001"))
    [taken] = await claim_now(db)
    await db.write(claim.record_dialled, callback_id=taken.id, attempt=1, call_sid="CA1", at=T0)
    await db.write(
        claim.finish_attempt,
        callback_id=taken.id,
        attempt=1,
        call_sid="CA1",
        call_status="no-answer",
        status="failed",
        due_at=None,
        reason="no-answer after 1 attempt(s)",
        at=T0,
    )

    def types(conn: object) -> list[str]:
        from sqlalchemy import Connection

        assert isinstance(conn, Connection)
        return list(
            conn.scalars(
                select(InteractionEvent.type)
                .where(InteractionEvent.interaction_id == request.interaction_id)
                .order_by(InteractionEvent.seq)
            )
        )

    assert await db.read(types) == [
        "callback_requested",
        "callback_claimed",
        "callback_dialing",
        "callback_failed",
    ]


async def test_two_engines_claiming_together_never_take_the_same_request(
    migrated: str, db: Database
) -> None:
    for n in range(200):
        await add_request(db, request_for(f"+8210{n:08d}", place=timedelta(seconds=n)))
    others = [Database(create_engine(migrated)) for _ in range(2)]
    try:
        batches = await asyncio.gather(
            *(
                other.write(claim.claim_due, now=T0, instance=f"i{i}-{round_}", limit=7)
                for round_ in range(20)
                for i, other in enumerate(others)
            )
        )
    finally:
        for other in others:
            await other.close()
            await other.engine.dispose()

    ids = [c.id for batch in batches for c in batch]
    assert len(ids) == len(set(ids))
    assert len(ids) == 200

    def dialing(conn: object) -> int:
        from sqlalchemy import Connection

        assert isinstance(conn, Connection)
        return int(conn.scalar(select(func.count()).where(Callback.status == "dialing")) or 0)

    assert await db.read(dialing) == 200
