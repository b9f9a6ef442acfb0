"""Two ``voicedesk serve`` processes on one database dial 1,000 due callbacks exactly once each.

Real processes, a real database (SQLite file and PostgreSQL), the real ``twilio`` client
against the simulator's REST stand-in, status callbacks through a load balancer with failover
(callback_fleet.FailoverProxy). Once 30 % of the numbers are dialled, one instance is frozen
(SIGSTOP) half-way through a claimed batch, what it holds is read off the database and the
stand-in, and it is SIGKILLed, then restarted under a new instance id. What a kill can leave
behind, and who must repair it:

- an attempt claimed but never dialled: only the reconciler can give it back (it looks in
  Twilio's call log with ``find_calls``, finds nothing, returns it uncounted);
- an attempt dialled whose CallSid was not stored: a status callback stores it, or the
  reconciler finds the call in the log;
- a status callback the dead instance took and died on: lost (the proxy answers 502, Twilio
  does not repeat it); the attempt is finished by asking Twilio (``fetch_call``) once
  ``status_check_after`` has passed.

Every number must be dialled exactly once and every request end ``dialed`` after one attempt.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import aiohttp
import pytest
from callback_fleet import (
    FailoverProxy,
    FleetConfig,
    RequestRow,
    Server,
    due_request,
    event_counts,
    events_of,
    free_port,
    in_flight,
    open_count,
    open_requests,
    phones,
    requests,
    shipped_menu_checksum,
    start_server,
    unplaced_claims,
)
from conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL

from callbacks.dialer import DIAL_CONCURRENCY
from history.db import Database, create_engine
from history.migrate import upgrade
from telephony.simulator.phones import Phone, PhoneBook
from telephony.simulator.rest_api import RestStandIn
from telephony.simulator.rest_record import StandInRecord

TOTAL: Final = 1000
# The kill comes once this share of the numbers has been dialled.
KILL_AFTER_SHARE: Final = 0.3
# ... at a moment the doomed instance holds more claimed attempts Twilio has no call for than it
# dials at once (it claims 50 at a time): at least one of them was not even sent.
KILL_WITH_UNDIALLED: Final = DIAL_CONCURRENCY + 1
# How long to look for a batch half-way (some calls placed, CallSids not stored) before taking
# any batch; and how long the frozen instance's last create requests get to arrive.
WAIT_FOR_HALF_WAY_S: Final = 10.0
FREEZE_S: Final = 0.2
RESTART_AFTER_S: Final = 1.0
# Every phone answers after 2 simulated seconds and talks 3: at 0.02 real seconds per simulated
# second a callback call is over (four status callbacks) in about 0.1 s.
PHONE: Final = Phone(behaviour="answer", mode="signal_only", ring_seconds=2, talk_seconds=3)
TIME_SCALE: Final = 0.02
# Small, so that reconciliation happens within the test, yet longer than the REST client's
# timeout (10 s, telephony.rest): the dialer's own precondition (callbacks.dialer,
# RECONCILE_AFTER), so that a live instance's slow attempt is never taken for a dead one's.
# An attempt without a CallSid is looked up after 12 s, a dialled one without a final status is
# asked of Twilio after 10 s; the reconciler runs every 15 s on each instance (callbacks.timer).
RECONCILE_AFTER_S: Final = 12
STATUS_CHECK_AFTER_S: Final = 10
STEP_TIMEOUT_S: Final = 30.0
# After the kill: an attempt is looked at 12 s after its claim by a reconciler running every
# 15 s; a lost final status is asked for 10 s later, by the next run. 75 s leaves room for both.
CLOSE_TIMEOUT_S: Final = 75.0
# After the last request closed, watch this long for a stray dial.
QUIET_AFTER_S: Final = 2.0
POLL_S: Final = 0.02


@dataclass
class Outcome:
    """What the run measured, written to ``dispatch-results.json`` in the test's tmp dir."""

    database: str
    requests: int
    seed_s: float
    start_s: float
    dial_s: float
    total_s: float
    killed: str
    restarted_as: str
    killed_in_flight: int
    killed_undialled: int
    killed_unstored: int
    unstored_found_in_call_log: int
    reconciled_undialled: int
    call_log_lookups: int
    call_fetches: int
    status_callbacks_lost: int
    final_status_callbacks_lost: int
    proxy_failed_over: int
    proxy_cut_off: int
    dialled_by: dict[str, int]
    events: dict[str, int]


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    await upgrade(database_url)
    engine = await asyncio.to_thread(create_engine, database_url)
    db = Database(engine)
    yield db
    await db.close()
    await engine.dispose()


@pytest.fixture
async def twilio() -> AsyncIterator[RestStandIn]:
    book = PhoneBook(default=PHONE)
    async with RestStandIn(ACCOUNT_SID, AUTH_TOKEN, phones=book, time_scale=TIME_SCALE) as stand_in:
        yield stand_in


async def test_two_instances_dial_every_due_callback_once_through_a_kill_and_restart(
    database: Database,
    database_url: str,
    twilio: RestStandIn,
    prompt_cache: Path,
    tmp_path: Path,
) -> None:
    began = time.monotonic()
    numbers = phones(TOTAL)
    checksum = await shipped_menu_checksum()
    now = datetime.now(UTC)
    stored = await database.write(
        open_requests, [due_request(p, at=now, checksum=checksum) for p in numbers]
    )
    assert stored == TOTAL
    seeded = time.monotonic()

    ports = [free_port(), free_port()]
    proxy = FailoverProxy([f"http://127.0.0.1:{port}" for port in ports])
    twilio.deliver_to(await proxy.start(), PUBLIC_URL)
    config = FleetConfig(
        database_url=database_url,
        api_base=twilio.url,
        public_url=PUBLIC_URL,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        prompt_cache=prompt_cache,
        workdir=tmp_path,
        reconcile_after_seconds=RECONCILE_AFTER_S,
        status_check_after_seconds=STATUS_CHECK_AFTER_S,
    )
    # A restarted process is a new process: a new id, as the default (host:pid:random) gives
    # one. It also tells the attempts of the killed life apart from the new one's in claimed_by.
    doomed_id, survivor_id, restarted_id = "vd-a", "vd-b", "vd-a-restarted"
    servers: list[Server] = []
    try:
        servers += await asyncio.gather(
            start_server(config, doomed_id, ports[0]), start_server(config, survivor_id, ports[1])
        )
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(s.wait_ready(session) for s in servers))
            ready = time.monotonic()

            await _until(
                lambda: len(twilio.record.calls) >= TOTAL * KILL_AFTER_SHARE,
                what=f"{KILL_AFTER_SHARE:.0%} of the numbers dialled",
            )
            doomed = servers[0]
            kill = await _kill_mid_batch(database, twilio, doomed)

            await asyncio.sleep(RESTART_AFTER_S)
            restarted = await start_server(config, restarted_id, doomed.port)
            servers.append(restarted)
            await restarted.wait_ready(session)

            async def all_closed() -> bool:
                return await database.read(open_count) == 0

            await _until(all_closed, limit_s=CLOSE_TIMEOUT_S, what="every request closed")
            dialled = time.monotonic()
            await asyncio.sleep(QUIET_AFTER_S)
    except BaseException:
        await _print_logs(servers)
        raise
    finally:
        await asyncio.gather(*(s.stop() for s in servers))
        await proxy.close()
    await asyncio.wait_for(twilio.settle(), STEP_TIMEOUT_S)

    record = twilio.record
    rows = await database.read(requests)
    reconciled = {
        int(payload["callback_id"])
        for _, _, payload in await database.read(events_of, ["callback_reconciled"])
    }
    # The dialer that stored a CallSid writes callback_dialing; a status callback does not.
    stored_by_dialer = {
        int(payload["callback_id"])
        for _, _, payload in await database.read(events_of, ["callback_dialing"])
    }
    rest_paths = [r.path for r in record.requests if r.method == "GET"]
    lost = [c for c in record.callbacks if c.http_status != 204]
    lost_final = [c for c in lost if c.event == "completed"]
    outcome = Outcome(
        database=database_url.split("+", 1)[0],
        requests=TOTAL,
        seed_s=round(seeded - began, 2),
        start_s=round(ready - seeded, 2),
        dial_s=round(dialled - ready, 2),
        total_s=round(time.monotonic() - began, 2),
        killed=doomed_id,
        restarted_as=restarted_id,
        killed_in_flight=kill.in_flight,
        killed_undialled=len(kill.undialled),
        killed_unstored=len(kill.unstored),
        unstored_found_in_call_log=sum(1 for r in kill.unstored if r.id in stored_by_dialer),
        reconciled_undialled=len(reconciled),
        call_log_lookups=sum(1 for p in rest_paths if p.endswith("/Calls.json")),
        call_fetches=sum(1 for p in rest_paths if "/Calls/" in p),
        status_callbacks_lost=len(lost),
        final_status_callbacks_lost=len(lost_final),
        proxy_failed_over=proxy.counts.failed_over,
        proxy_cut_off=proxy.counts.cut_off,
        dialled_by=_dialled_by(rows),
        events=await database.read(event_counts),
    )
    await _report(outcome, tmp_path / "dispatch-results.json")

    # Nobody was called twice, everybody was called once, and nothing was lost.
    assert record.duplicate_dials() == {}
    assert dict(record.dial_counts()) == dict.fromkeys(numbers, 1)
    sid_of = {call.to: call.sid for call in record.calls}
    assert len(rows) == TOTAL
    expected = {r.id: ("dialed", 1, sid_of.get(r.phone)) for r in rows}
    wrong = [r for r in rows if (r.status, r.attempts, r.call_sid) != expected[r.id]]
    assert wrong == [], wrong[:5]

    # The kill cut off attempts Twilio had no call for: the reconciler gave back exactly those
    # (one given back while its call existed would have been dialled twice).
    assert kill.undialled, "the killed instance held no attempt without a call"
    assert reconciled == {row.id for row in kill.undialled}
    for row in kill.undialled:  # given back, then dialled anew by a live instance
        assert _created(record, row.phone) > kill.at, row
    assert outcome.call_log_lookups >= len(reconciled)
    # A status callback lost with the instance left its attempt to the status check.
    assert outcome.call_fetches + outcome.call_log_lookups >= len(lost_final)
    assert outcome.events.get("callback_answered") == TOTAL


@dataclass(frozen=True)
class Kill:
    """What the killed instance left behind.

    Attributes:
        at: When it was killed.
        undialled: Its claimed attempts Twilio never got a call for (nor ever will).
        unstored: Its claimed attempts whose call Twilio placed, CallSid never stored by it.
        in_flight: Its attempts still ``dialing`` at the kill (calls not yet over included).

    """

    at: datetime
    undialled: list[RequestRow]
    unstored: list[RequestRow]
    in_flight: int


async def _kill_mid_batch(database: Database, twilio: RestStandIn, doomed: Server) -> Kill:
    """Freeze ``doomed`` in the middle of dialling a batch, see what it holds, SIGKILL it.

    The freeze (SIGSTOP) makes the picture exact: a stopped process sends and stores nothing
    more, so once the create requests it had already sent have reached the stand-in, an
    attempt without a call then has none for good. The moment is chosen from a look at the
    database and the stand-in: more claimed attempts without a call than it dials at once
    (so at least one was not even sent), and preferably some placed whose CallSid is not
    stored yet (a batch half-way).
    """
    give_up = time.monotonic() + STEP_TIMEOUT_S
    half_way_until = time.monotonic() + WAIT_FOR_HALF_WAY_S
    while True:
        claimed = await database.read(unplaced_claims, doomed.instance_id)
        placed = _placed(twilio)
        undialled = sum(1 for row in claimed if row.phone not in placed)
        half_way = undialled < len(claimed) or time.monotonic() > half_way_until
        if undialled >= KILL_WITH_UNDIALLED and half_way:
            # No await between the look at the stand-in and the signal: the stand-in runs on
            # this loop, so it takes no create request in between.
            doomed.freeze()
            break
        if time.monotonic() > give_up:
            raise AssertionError(f"{doomed.instance_id} never held a batch of claims")
        await asyncio.sleep(POLL_S / 4)
    await asyncio.sleep(FREEZE_S)
    claimed = await database.read(unplaced_claims, doomed.instance_id)
    dialling = await database.read(in_flight, doomed.instance_id)
    placed = _placed(twilio)
    await doomed.kill()
    return Kill(
        at=datetime.now(UTC),
        undialled=[row for row in claimed if row.phone not in placed],
        unstored=[row for row in claimed if row.phone in placed],
        in_flight=len(dialling),
    )


def _placed(twilio: RestStandIn) -> set[str]:
    return {call.to for call in twilio.record.calls}


def _created(record: StandInRecord, phone: str) -> datetime:
    (call,) = record.dials_to(phone)
    return call.created_at


async def _until(
    condition: Callable[[], bool | Awaitable[bool]],
    *,
    limit_s: float = STEP_TIMEOUT_S,
    what: str = "the condition",
) -> None:
    try:
        async with asyncio.timeout(limit_s):
            while True:
                met = condition()
                if not isinstance(met, bool):
                    met = await met
                if met:
                    return
                await asyncio.sleep(POLL_S)
    except TimeoutError:
        raise AssertionError(f"timed out after {limit_s} s waiting for {what}") from None


def _dialled_by(rows: list[RequestRow]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        key = row.claimed_by or "-"
        counts[key] = counts.get(key, 0) + 1
    return counts


async def _report(outcome: Outcome, path: Path) -> None:
    text = json.dumps(asdict(outcome), indent=2, sort_keys=True)
    await asyncio.to_thread(path.write_text, text)
    await asyncio.to_thread(print, f"\ncallback dispatch ({path}):\n{text}")


async def _print_logs(servers: list[Server]) -> None:
    for server in servers:
        tail = await server.log_tail()
        await asyncio.to_thread(print, f"--- {server.instance_id} log ---\n{tail}")
