"""The history store on the real databases: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from history.models import ApiKey, Call, Customer, Interaction, InteractionEvent
from history.store import CallRecord, HistoryStore, NewEvent, SqlHistoryStore

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CALLER = "+821012345678"
CALLED = "+82212345678"
KST = timezone(timedelta(hours=9))


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def count(engine: AsyncEngine, entity: Any, *where: Any) -> int:
    async with engine.connect() as conn:
        query = select(func.count()).select_from(entity).where(*where)
        return int(await conn.scalar(query) or 0)


async def open_call(
    store: HistoryStore, call_sid: str = "CA1", *, caller: str = CALLER, seconds: float = 0
) -> tuple[CallRecord, bool]:
    return await store.open_call(
        call_sid=call_sid,
        caller=caller,
        called=CALLED,
        direction="inbound",
        menu_id="support",
        menu_checksum="sum-1",
        state={"node": "welcome", "turn": 0},
        at=at(seconds),
    )


def events(*types: str, seconds: float = 1, key: str | None = None) -> list[NewEvent]:
    return [NewEvent(t, {"n": i}, at(seconds), key) for i, t in enumerate(types)]


async def turn(
    store: HistoryStore,
    record: CallRecord,
    *types: str,
    version: int | None = None,
    ended: bool = False,
    outcome: str | None = None,
) -> bool:
    return await store.commit_turn(
        call_sid=record.call_sid,
        expected_version=record.version if version is None else version,
        state={"node": "next", "turn": 1},
        events=events(*types),
        response="<Response/>",
        ended=ended,
        outcome=outcome,
        at=at(2),
    )


async def event_types(store: HistoryStore, interaction_id: int) -> list[tuple[int, str]]:
    detail = await store.interaction_detail(interaction_id)
    assert detail is not None
    return [(e.seq, e.type) for e in detail.events]


# --- open_call -----------------------------------------------------------------------------


async def test_open_call_creates_customer_interaction_and_call_row(
    store: SqlHistoryStore, engine: AsyncEngine
) -> None:
    record, created = await open_call(store)

    assert created
    assert record.version == 1 and record.status == "in-progress" and not record.ended
    assert record.state == {"node": "welcome", "turn": 0}
    assert await store.get_call("CA1") == record
    timeline = await store.customer_timeline(CALLER)
    assert timeline is not None and [i.call_sid for i in timeline] == ["CA1"]
    assert timeline[0].channel == "voice" and timeline[0].direction == "inbound"
    assert await count(engine, Customer) == 1


async def test_open_call_again_returns_the_existing_call_and_writes_nothing(
    store: SqlHistoryStore, engine: AsyncEngine
) -> None:
    first, _ = await open_call(store)
    assert await turn(store, first, "prompt")

    again, created = await open_call(store, seconds=30)

    assert not created
    assert again.version == 2 and again.last_response == "<Response/>"
    assert await count(engine, Interaction) == 1 and await count(engine, Call) == 1


async def test_concurrent_open_call_for_one_call_sid_creates_one_interaction(
    store: SqlHistoryStore, engine: AsyncEngine
) -> None:
    results = await asyncio.gather(*(open_call(store) for _ in range(6)))

    assert sorted(created for _, created in results) == [False] * 5 + [True]
    assert len({record.interaction_id for record, _ in results}) == 1
    assert await count(engine, Interaction) == 1 and await count(engine, Customer) == 1


async def test_concurrent_calls_from_one_new_number_share_one_customer(
    store: SqlHistoryStore, engine: AsyncEngine
) -> None:
    await asyncio.gather(*(open_call(store, f"CA{i}") for i in range(6)))

    assert await count(engine, Customer) == 1
    timeline = await store.customer_timeline(CALLER)
    assert timeline is not None and len(timeline) == 6


async def test_outbound_call_belongs_to_the_called_party(store: SqlHistoryStore) -> None:
    await store.open_call(
        call_sid="CA9", caller=CALLED, called=CALLER, direction="outbound", menu_id="m",
        menu_checksum="c", state={}, at=T0,
    )  # fmt: skip

    timeline = await store.customer_timeline(CALLER)
    assert timeline is not None and timeline[0].direction == "outbound"
    assert await store.customer_timeline(CALLED) is None


async def test_withheld_number_is_recorded_without_a_customer(
    store: SqlHistoryStore, engine: AsyncEngine
) -> None:
    record, created = await open_call(store, caller="anonymous")

    assert created
    detail = await store.interaction_detail(record.interaction_id)
    assert detail is not None and detail.customer_phone is None
    assert await count(engine, Customer) == 0


async def test_open_call_refuses_an_unknown_direction(store: SqlHistoryStore) -> None:
    with pytest.raises(ValueError, match="direction"):
        await store.open_call(
            call_sid="CA1", caller=CALLER, called=CALLED, direction="outbound-api",
            menu_id="m", menu_checksum="c", state={}, at=T0,
        )  # fmt: skip


# --- commit_turn ---------------------------------------------------------------------------


async def test_commit_turn_with_a_stale_version_writes_nothing(
    store: SqlHistoryStore, engine: AsyncEngine
) -> None:
    record, _ = await open_call(store)
    assert await turn(store, record, "a")

    assert not await turn(store, record, "b", ended=True, outcome="x")

    now = await store.get_call("CA1")
    assert now is not None and now.version == 2 and not now.ended
    assert await event_types(store, record.interaction_id) == [(1, "a")]
    assert await count(engine, Interaction, Interaction.ended_at.is_not(None)) == 0


async def test_commit_turn_for_an_unknown_call_returns_false(store: SqlHistoryStore) -> None:
    record, _ = await open_call(store)
    ghost = replace(record, call_sid="CA404")

    assert not await turn(store, ghost, "a")


async def test_events_get_consecutive_seq_in_the_given_order(store: SqlHistoryStore) -> None:
    record, _ = await open_call(store)
    assert await turn(store, record, "heard", "prompt", "listen")
    assert await store.append_events("CA1", events("status"))
    assert await turn(store, record, "digits", "hangup", version=2)

    assert await event_types(store, record.interaction_id) == [
        (1, "heard"), (2, "prompt"), (3, "listen"), (4, "status"), (5, "digits"), (6, "hangup"),
    ]  # fmt: skip


async def test_commit_turn_stores_state_version_and_response(store: SqlHistoryStore) -> None:
    record, _ = await open_call(store)

    assert await turn(store, record, "a")

    now = await store.get_call("CA1")
    assert now == CallRecord(
        call_sid="CA1", interaction_id=record.interaction_id, menu_id="support",
        menu_checksum="sum-1", state={"node": "next", "turn": 1}, version=2,
        last_response="<Response/>", status="in-progress", ended=False,
    )  # fmt: skip


async def test_concurrent_turns_on_one_call_exactly_one_wins(store: SqlHistoryStore) -> None:
    record, _ = await open_call(store)

    results = await asyncio.gather(*(turn(store, record, f"t{i}") for i in range(8)))

    assert sorted(results) == [False] * 7 + [True]
    now = await store.get_call("CA1")
    assert now is not None and now.version == 2
    assert len(await event_types(store, record.interaction_id)) == 1


async def test_ending_turn_ends_call_and_interaction_keeping_the_first_outcome(
    store: SqlHistoryStore,
) -> None:
    record, _ = await open_call(store)

    assert await turn(store, record, "hangup", ended=True, outcome="self-service")
    assert await turn(store, record, "late", version=2, ended=True, outcome="other")

    now = await store.get_call("CA1")
    assert now is not None and now.ended and now.status == "completed"
    detail = await store.interaction_detail(record.interaction_id)
    assert detail is not None
    assert detail.summary.outcome == "self-service" and detail.summary.ended_at == at(2)


async def test_turns_and_appends_racing_on_one_call_never_share_a_seq(
    store: SqlHistoryStore,
) -> None:
    record, _ = await open_call(store)

    async def turns() -> None:
        current = record
        for i in range(10):
            assert await turn(store, current, f"turn{i}a", f"turn{i}b")
            fresh = await store.get_call("CA1")
            assert fresh is not None
            current = fresh

    async def appends(name: str) -> None:
        for i in range(10):
            assert await store.append_events("CA1", events(f"{name}{i}")) == 1

    await asyncio.gather(turns(), appends("x"), appends("y"))

    seqs = [seq for seq, _ in await event_types(store, record.interaction_id)]
    assert seqs == list(range(1, 41))


# --- append_events and finish_call ---------------------------------------------------------


async def test_append_events_skips_keys_already_recorded(store: SqlHistoryStore) -> None:
    record, _ = await open_call(store)
    ringing = NewEvent("call_status", {"status": "ringing"}, at(1), key="status:1:ringing")
    answered = NewEvent("call_status", {"status": "answered"}, at(2), key="status:2:in-progress")
    note = NewEvent("note", {}, at(3))

    assert await store.append_events("CA1", [ringing]) == 1
    assert await store.append_events("CA1", [ringing, answered, answered, note]) == 2
    assert await store.append_events("CA1", [ringing, answered, note]) == 1

    assert await event_types(store, record.interaction_id) == [
        (1, "call_status"), (2, "call_status"), (3, "note"), (4, "note"),
    ]  # fmt: skip


async def test_append_events_for_an_unknown_call_writes_nothing(
    store: SqlHistoryStore, engine: AsyncEngine
) -> None:
    assert await store.append_events("CA404", events("x")) == 0
    assert await count(engine, InteractionEvent) == 0


async def test_finish_call_is_idempotent(store: SqlHistoryStore) -> None:
    record, _ = await open_call(store)
    status = NewEvent("call_status", {"status": "completed"}, at(60), key="status:5:completed")

    for _ in range(2):
        assert await store.finish_call(
            call_sid="CA1", status="completed", at=at(60), events=[status], outcome="abandoned"
        )

    now = await store.get_call("CA1")
    assert now is not None and now.ended and now.status == "completed" and now.version == 2
    detail = await store.interaction_detail(record.interaction_id)
    assert detail is not None and len(detail.events) == 1
    assert detail.summary.ended_at == at(60) and detail.summary.outcome == "abandoned"


async def test_finish_call_after_an_ending_turn_keeps_its_end_and_sets_twilio_status(
    store: SqlHistoryStore,
) -> None:
    record, _ = await open_call(store)
    assert await turn(store, record, "hangup", ended=True)

    assert await store.finish_call(
        call_sid="CA1", status="busy", at=at(90), events=[], outcome="busy"
    )

    now = await store.get_call("CA1")
    assert now is not None and now.status == "busy"
    detail = await store.interaction_detail(record.interaction_id)
    assert detail is not None
    assert detail.summary.ended_at == at(2) and detail.summary.outcome == "busy"


async def test_finish_call_for_an_unknown_call_returns_false(store: SqlHistoryStore) -> None:
    assert not await store.finish_call(
        call_sid="CA404", status="completed", at=T0, events=events("x"), outcome=None
    )


async def test_finish_call_refuses_a_status_that_is_not_final(store: SqlHistoryStore) -> None:
    await open_call(store)
    with pytest.raises(ValueError, match="final status"):
        await store.finish_call(call_sid="CA1", status="ringing", at=T0, events=[], outcome=None)


# --- timeline and detail -------------------------------------------------------------------


async def test_timeline_lists_interactions_newest_first_with_event_counts(
    store: SqlHistoryStore,
) -> None:
    for i, sid in enumerate(["CA1", "CA2", "CA3"]):
        await open_call(store, sid, seconds=100 * i)
        assert await store.append_events(sid, events(*["e"] * i)) == i
    await open_call(store, "CA4", caller="+441234567890")

    timeline = await store.customer_timeline(CALLER)

    assert timeline is not None
    assert [(i.call_sid, i.event_count) for i in timeline] == [("CA3", 2), ("CA2", 1), ("CA1", 0)]
    assert timeline[0].to_json()["started_at"] == "2026-03-01T09:03:20+00:00"


async def test_timeline_of_an_unknown_phone_is_none(store: SqlHistoryStore) -> None:
    await open_call(store)
    for unknown in ("+15550000000", "", "x" * 1000):
        assert await store.customer_timeline(unknown) is None


async def test_interaction_detail_has_phone_and_events_in_seq_order(
    store: SqlHistoryStore,
) -> None:
    record, _ = await open_call(store)
    later_first = [NewEvent("b", {"k": [1]}, at(9)), NewEvent("a", {"k": "v"}, at(1))]
    await store.append_events("CA1", later_first)

    detail = await store.interaction_detail(record.interaction_id)

    assert detail is not None and detail.customer_phone == CALLER
    assert [(e.seq, e.type, e.payload) for e in detail.events] == [
        (1, "b", {"k": [1]}), (2, "a", {"k": "v"}),
    ]  # fmt: skip
    as_json = detail.to_json()
    assert as_json["call_sid"] == "CA1" and as_json["events"][1]["at"] == at(1).isoformat()


async def test_interaction_detail_of_an_unknown_id_is_none(store: SqlHistoryStore) -> None:
    for unknown in (12345, 0, -1, 2**40):
        assert await store.interaction_detail(unknown) is None


async def test_times_come_back_aware_utc_whatever_zone_they_went_in(
    store: SqlHistoryStore,
) -> None:
    record, _ = await open_call(store)
    seoul = datetime(2026, 3, 1, 18, 30, tzinfo=KST)
    await store.append_events("CA1", [NewEvent("x", {}, seoul)])

    detail = await store.interaction_detail(record.interaction_id)

    assert detail is not None
    stored = detail.events[0].at
    assert stored == seoul and stored.utcoffset() == timedelta(0)
    assert detail.summary.started_at.tzinfo is not None


def test_events_with_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        NewEvent("x", {}, datetime(2026, 1, 1))


async def test_naive_datetimes_are_refused_before_anything_is_written(
    store: SqlHistoryStore, engine: AsyncEngine
) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        await store.open_call(
            call_sid="CA1", caller=CALLER, called=CALLED, direction="inbound", menu_id="m",
            menu_checksum="c", state={}, at=datetime(2026, 1, 1),
        )  # fmt: skip

    assert await count(engine, Customer) == 0 and await count(engine, Interaction) == 0


# --- API keys ------------------------------------------------------------------------------


async def test_api_key_round_trip_stores_only_the_digest(
    store: SqlHistoryStore, engine: AsyncEngine
) -> None:
    token = await store.create_api_key(role="supervisor", name="wallboard", at=T0)

    key = await store.authenticate_api_key(token, at(5))

    assert token.startswith("vdk_") and len(token) > 40
    assert key is not None and (key.name, key.role) == ("wallboard", "supervisor")
    async with engine.connect() as conn:
        row = (await conn.execute(select(ApiKey))).one()
    assert token not in [str(v) for v in row]
    assert len(row.digest) == 64 and row.last_used_at == at(5)


async def test_unknown_malformed_and_revoked_keys_do_not_authenticate(
    store: SqlHistoryStore,
) -> None:
    token = await store.create_api_key(role="agent", name="desk 4", at=T0)
    key = await store.authenticate_api_key(token, T0)
    assert key is not None

    assert await store.revoke_api_key(key.id, at=at(1))

    assert await store.authenticate_api_key(token, at(2)) is None
    assert await store.authenticate_api_key("vdk_" + "A" * 43, T0) is None
    assert await store.authenticate_api_key("x" * 10_000, T0) is None
    assert not await store.revoke_api_key(key.id + 100, at=T0)
    assert not await store.revoke_api_key(2**40, at=T0)


async def test_last_used_is_refreshed_at_most_once_a_minute(
    store: SqlHistoryStore, engine: AsyncEngine
) -> None:
    token = await store.create_api_key(role="admin", name="ops", at=T0)

    for seconds in (0, 30, 59, 61):
        assert await store.authenticate_api_key(token, at(seconds)) is not None
        if seconds == 59:
            async with engine.connect() as conn:
                assert await conn.scalar(select(ApiKey.last_used_at)) == at(0)

    async with engine.connect() as conn:
        assert await conn.scalar(select(ApiKey.last_used_at)) == at(61)


async def test_api_key_roles_are_validated(store: SqlHistoryStore) -> None:
    with pytest.raises(ValueError, match="role"):
        await store.create_api_key(role="root", name="x", at=T0)


# --- menu versions and readiness -----------------------------------------------------------


async def test_menu_versions_are_idempotent_on_checksum(store: SqlHistoryStore) -> None:
    content = {"id": "support", "nodes": {"welcome": {"say": "안녕하세요"}}}

    await store.save_menu_version(menu_id="support", checksum="abc", content=content, at=T0)
    await store.save_menu_version(menu_id="support", checksum="abc", content={}, at=at(1))

    assert await store.load_menu_version("abc") == content
    assert await store.load_menu_version("nope") is None


async def test_ping_answers_on_a_reachable_database(store: SqlHistoryStore) -> None:
    assert await store.ping() is None  # raises HistoryUnavailableError when unreachable


# --- concurrency on the single-writer database ---------------------------------------------


async def test_twenty_calls_writing_at_once_all_succeed(store: SqlHistoryStore) -> None:
    records = [r for r, _ in await asyncio.gather(*(open_call(store, f"CA{i}") for i in range(20)))]

    async def one_call(record: CallRecord) -> None:
        assert await turn(store, record, "heard", "prompt")
        assert await store.append_events(record.call_sid, events("status", key="s")) == 1
        assert await store.finish_call(
            call_sid=record.call_sid, status="completed", at=at(9), events=[], outcome=None
        )

    results = await asyncio.gather(*(one_call(r) for r in records), return_exceptions=True)

    assert [r for r in results if r is not None] == []
    timeline = await store.customer_timeline(CALLER)
    assert timeline is not None and {i.event_count for i in timeline} == {3}
