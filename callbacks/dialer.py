"""The dialer: claim due callbacks, dial each once, store the CallSid, follow the call's status.

A claimed attempt is dialled through the Twilio REST wrapper (the ``OutboundCalls`` port) and
its CallSid stored at once. When Twilio's answer is lost (a timeout, a crash between the dial
and the write) the attempt stays ``dialing`` without a CallSid and is never dialled again
blindly: :meth:`CallbackDialer.reconcile` looks the call up in Twilio's call log first, and only
an attempt Twilio has no call for goes back to ``pending``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final, Protocol
from urllib.parse import urlencode

from callbacks import claim
from callbacks.policy import NOT_REACHED, RetryPolicy, after_attempt
from config.menu import Schedule
from history.db import Database
from telephony.rest import CallInfo, OutboundCall, RestRejectedError, TelephonyRestError

log = logging.getLogger(__name__)

# Requests claimed per transaction: large enough that one claim serves a burst of due callbacks,
# small enough that a crash strands few attempts for the reconciler.
CLAIM_BATCH: Final = 50

# Outbound-call requests in flight per instance: Twilio's default limit is 1 call created per
# second per number for some accounts and much higher for others; this only bounds our side.
DIAL_CONCURRENCY: Final = 20

# An attempt unchanged this long is looked at by the reconciler. Longer than the REST client's
# timeout (10 s) plus a status callback's usual delay, so a healthy attempt is never touched.
RECONCILE_AFTER: Final = timedelta(minutes=1)

# An answered callback call lasts as long as the conversation; its final status normally comes
# by status callback. Only after this long without one is Twilio asked directly.
ANSWERED_CALL_CHECK_AFTER: Final = timedelta(hours=2)

# Status callbacks asked for a callback call: its answer (for the history) and its end (which
# decides the request). Twilio's initiated/ringing would double the webhooks per call for
# nothing the request needs (measured: 4 per call cost more than half the servers' CPU).
CALL_STATUS_EVENTS: Final = ("answered", "completed")

# Twilio's clock and ours may differ a little: the call log is searched from this much before
# the claim. Retries are minutes apart, so an earlier attempt's call is never mistaken for it.
CLOCK_SKEW: Final = timedelta(seconds=30)

# After this long a person decides (status ``unknown``): the customer may have been called.
GIVE_UP_RECONCILING: Final = timedelta(minutes=30)

FINAL_CALL_STATUSES: Final = frozenset({"completed", *NOT_REACHED})

Clock = Callable[[], datetime]
HoursOf = Callable[[str, str], Awaitable[Schedule | None]]
"""The schedule a request may be dialled in, from its menu checksum and node (None: any time)."""


class OutboundCalls(Protocol):
    """The part of the Twilio REST API the dialer uses (``telephony.rest.TwilioRest``)."""

    async def create_call(self, call: OutboundCall) -> str:
        """Place a call; returns its CallSid."""
        ...

    async def find_calls(self, *, to: str, started_after: datetime) -> list[CallInfo]:
        """Calls to ``to`` created after ``started_after``."""
        ...

    async def fetch_call(self, call_sid: str) -> CallInfo:
        """One call's current state."""
        ...


@dataclass(frozen=True)
class DialerConfig:
    """Who the dialer is and where Twilio reports back.

    Attributes:
        instance: This process's name in ``claimed_by``.
        public_url: The base URL Twilio calls back (webhooks).
        caller_id: The number every callback comes from; None: the number the customer
            dialled.
        ring_timeout_seconds: How long the customer's phone rings before ``no-answer``.
        policy: Retries.
        reconcile_after: An attempt without a CallSid unchanged this long is looked up.
        status_check_after: A placed attempt without a final status this long is asked of
            Twilio (its status callback may have been lost).

    """

    instance: str
    public_url: str
    caller_id: str | None = None
    ring_timeout_seconds: int = 30
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    reconcile_after: timedelta = RECONCILE_AFTER
    status_check_after: timedelta = ANSWERED_CALL_CHECK_AFTER


class CallbackDialer:
    """Dials due callbacks exactly once per attempt, across any number of instances."""

    def __init__(
        self,
        db: Database,
        calls: OutboundCalls,
        config: DialerConfig,
        *,
        hours_of: HoursOf,
        clock: Clock,
    ) -> None:
        """Dial through ``calls``, claiming from ``db``."""
        self._db = db
        self._calls = calls
        self._config = config
        self._hours_of = hours_of
        self._clock = clock
        self._in_flight = asyncio.Semaphore(DIAL_CONCURRENCY)

    async def dial_due(self) -> bool:
        """Claim one batch of due callbacks and dial them.

        Returns:
            Whether the batch was full (more may be due: call again at once).

        """
        if not await self._db.read(claim.any_due, now=self._clock()):
            return False  # the usual tick: one read, no write lock taken
        claimed = await self._db.write(
            claim.claim_due,
            now=self._clock(),
            instance=self._config.instance,
            limit=CLAIM_BATCH,
        )
        if claimed:
            await asyncio.gather(*(self._dial(c) for c in claimed))
        return len(claimed) == CLAIM_BATCH

    async def on_status(
        self, callback_id: int, attempt: int, call_sid: str, call_status: str
    ) -> bool:
        """Apply a status callback of an attempt's call; repeats and late ones change nothing.

        Returns:
            Whether it changed the request.

        """
        at = self._clock()
        if call_status not in FINAL_CALL_STATUSES:
            return await self._db.write(
                claim.record_progress,
                callback_id=callback_id,
                attempt=attempt,
                call_sid=call_sid,
                call_status=call_status,
                at=at,
            )
        return await self._finish(callback_id, attempt, call_sid, call_status, at)

    async def refused(self, callback_id: int, attempt: int) -> bool:
        """End an attempt whose customer Twilio refused to dial (retry policy and hours apply).

        Returns:
            Whether it changed the request.

        """
        return await self._finish(callback_id, attempt, None, "rejected", self._clock())

    async def reconcile(self) -> int:
        """Resolve attempts left ``dialing`` too long without news; returns how many were seen."""
        now = self._clock()
        stale = await self._db.write(
            claim.lock_stale,
            now=now,
            unplaced_after=self._config.reconcile_after,
            placed_after=self._config.status_check_after,
            limit=CLAIM_BATCH,
        )
        for attempt in stale:
            try:
                await self._reconcile_one(attempt, now)
            except TelephonyRestError as err:
                log.warning("callback %d: reconciling failed: %s", attempt.id, err)
                if now - attempt.claimed_at > GIVE_UP_RECONCILING:
                    await self._db.write(
                        claim.mark_unknown,
                        callback_id=attempt.id,
                        attempt=attempt.attempt,
                        at=now,
                        reason=f"Twilio's call log unreachable for {GIVE_UP_RECONCILING}: {err}",
                    )
        return len(stale)

    async def _dial(self, claimed: claim.Claimed) -> None:
        call = OutboundCall(
            to=claimed.phone,
            from_=self._config.caller_id or claimed.from_number,
            url=self._url("/twilio/callbacks/answer", claimed),
            status_callback=self._url("/twilio/callbacks/status", claimed),
            timeout_seconds=self._config.ring_timeout_seconds,
            status_events=CALL_STATUS_EVENTS,
        )
        async with self._in_flight:
            try:
                call_sid = await self._calls.create_call(call)
            except RestRejectedError as err:
                log.warning("callback %d: Twilio refused to dial: %s", claimed.id, err)
                await self._finish(claimed.id, claimed.attempt, None, "rejected", self._clock())
                return
            except TelephonyRestError as err:
                # Twilio may have placed the call: only the reconciler may decide, from its log.
                log.warning("callback %d: dial outcome unknown: %s", claimed.id, err)
                return
        stored = await self._db.write(
            claim.record_dialled,
            callback_id=claimed.id,
            attempt=claimed.attempt,
            call_sid=call_sid,
            at=self._clock(),
        )
        if not stored:
            log.info(
                "callback %d: attempt %d moved on before its CallSid", claimed.id, claimed.attempt
            )

    async def _finish(
        self,
        callback_id: int,
        attempt: int,
        call_sid: str | None,
        call_status: str,
        at: datetime,
    ) -> bool:
        terms = await self._db.read(claim.terms_of, callback_id)
        policy, hours = self._config.policy, None
        if terms is not None:
            # The request keeps the attempts it was made with, whatever the setting is now.
            policy = replace(policy, max_attempts=terms.max_attempts)
            hours = await self._hours_of(terms.menu_checksum, terms.node)
        outcome = after_attempt(
            policy, call_status=call_status, attempt=attempt, at=at, hours=hours
        )
        return await self._db.write(
            claim.finish_attempt,
            callback_id=callback_id,
            attempt=attempt,
            call_sid=call_sid,
            call_status=call_status,
            status=outcome.status,
            due_at=outcome.due_at,
            reason=outcome.reason,
            at=at,
        )

    async def _reconcile_one(self, stale: claim.Stale, now: datetime) -> None:
        if stale.call_sid is not None:
            found = await self._calls.fetch_call(stale.call_sid)
            if found.status in FINAL_CALL_STATUSES:
                await self._finish(stale.id, stale.attempt, found.sid, found.status, now)
            return
        calls = await self._calls.find_calls(
            to=stale.phone, started_after=stale.claimed_at - CLOCK_SKEW
        )
        if not calls:
            await self._db.write(
                claim.return_unplaced,
                callback_id=stale.id,
                attempt=stale.attempt,
                at=now,
                reason="Twilio has no call for this attempt",
            )
            return
        placed = min(calls, key=lambda c: c.start_time or now)
        await self._db.write(
            claim.record_dialled,
            callback_id=stale.id,
            attempt=stale.attempt,
            call_sid=placed.sid,
            at=now,
        )
        if placed.status in FINAL_CALL_STATUSES:
            await self._finish(stale.id, stale.attempt, placed.sid, placed.status, now)

    def _url(self, path: str, claimed: claim.Claimed) -> str:
        query = urlencode({"callback": claimed.id, "attempt": claimed.attempt})
        return f"{self._config.public_url}{path}?{query}"
