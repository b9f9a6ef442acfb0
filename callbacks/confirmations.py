"""Confirmation SMS of callback requests: sent at most once, from the ``callbacks`` outbox.

A request that wants a confirmation is stored with ``sms_status = pending`` in the turn that
made it. Any instance's timer claims pending rows (``FOR UPDATE SKIP LOCKED`` / ``BEGIN
IMMEDIATE``) by marking them ``sent`` *before* sending: a crash between the claim and Twilio's
answer loses that one text rather than sending it twice (a customer told twice is confused; one
who gets no text still gets the call). A refusal or an uncertain answer marks it ``failed``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from sqlalchemy import Connection, select, update

from history import event_log
from history.db import Database
from history.models import Callback
from history.records import NewEvent
from telephony.rest import TelephonyRestError

log = logging.getLogger(__name__)

# Texts claimed per transaction: a burst of requests is confirmed within a tick or two.
SMS_BATCH: Final = 50

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A request whose confirmation text is to be sent now."""

    id: int
    phone: str
    from_number: str
    kind: str
    due_at: datetime
    language: str
    menu_checksum: str
    node: str
    interaction_id: int


TextOf = Callable[[Confirmation], Awaitable[str]]
"""The confirmation's text, in the customer's language, from the request's menu."""


class Texts(Protocol):
    """The part of the Twilio REST API that sends texts (``telephony.rest.TwilioRest``)."""

    async def send_sms(
        self, *, to: str, from_: str, body: str, status_callback: str | None = None
    ) -> str:
        """Send a text; returns its MessageSid."""
        ...


class ConfirmationSender:
    """Sends pending confirmation texts, each at most once across instances."""

    def __init__(
        self,
        db: Database,
        texts: Texts,
        *,
        text_of: TextOf,
        caller_id: str | None,
        clock: Clock,
    ) -> None:
        """Send through ``texts`` what ``db`` (a :class:`history.db.Database`) has pending."""
        self._db = db
        self._texts = texts
        self._text_of = text_of
        self._caller_id = caller_id
        self._clock = clock

    async def send_pending(self) -> int:
        """Claim and send one batch of pending confirmations; returns how many were claimed."""
        if not await self._db.read(any_pending):
            return 0  # the usual tick: one read, no write lock taken
        claimed: list[Confirmation] = await self._db.write(claim_pending, limit=SMS_BATCH)
        for confirmation in claimed:
            await self._send(confirmation)
        return len(claimed)

    async def _send(self, confirmation: Confirmation) -> None:
        at = self._clock()
        try:
            body = await self._text_of(confirmation)
        except Exception as err:  # a request's missing text must not lose the batch's others
            log.exception("callback %d: confirmation text not written", confirmation.id)
            await self._db.write(record_failed, confirmation, at=at, reason=f"no text: {err!r}")
            return
        try:
            sid = await self._texts.send_sms(
                to=confirmation.phone,
                from_=self._caller_id or confirmation.from_number,
                body=body,
            )
        except TelephonyRestError as err:
            log.warning("callback %d: confirmation SMS not sent: %s", confirmation.id, err)
            await self._db.write(record_failed, confirmation, at=at, reason=str(err))
            return
        await self._db.write(record_sent, confirmation, message_sid=sid, at=at)


def any_pending(conn: Connection) -> bool:
    """Whether any confirmation waits to be sent."""
    return (
        conn.scalar(select(Callback.id).where(Callback.sms_status == "pending").limit(1))
        is not None
    )


def claim_pending(conn: Connection, *, limit: int) -> list[Confirmation]:
    """Take up to ``limit`` pending confirmations, marking them sent (at most once)."""
    pending = (
        select(Callback.id)
        .where(Callback.sms_status == "pending")
        .order_by(Callback.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = conn.execute(
        update(Callback)
        .where(Callback.id.in_(pending.scalar_subquery()))
        .values(sms_status="sent")
        .returning(
            Callback.id,
            Callback.phone,
            Callback.from_number,
            Callback.kind,
            Callback.due_at,
            Callback.language,
            Callback.menu_checksum,
            Callback.node,
            Callback.interaction_id,
        )
    ).all()
    return sorted((Confirmation(**row._mapping) for row in rows), key=lambda c: c.id)


def record_sent(
    conn: Connection, confirmation: Confirmation, *, message_sid: str, at: datetime
) -> None:
    """Note the text Twilio accepted on the request's history."""
    payload = {"callback_id": confirmation.id, "message_sid": message_sid}
    event = NewEvent("callback_sms_sent", payload, at, key="sms")
    event_log.append(conn, confirmation.interaction_id, [event])


def record_failed(
    conn: Connection, confirmation: Confirmation, *, at: datetime, reason: str
) -> None:
    """Mark the confirmation failed (it is not retried) and note why."""
    conn.execute(update(Callback).where(Callback.id == confirmation.id).values(sms_status="failed"))
    payload = {"callback_id": confirmation.id, "reason": reason}
    event = NewEvent("callback_sms_failed", payload, at, key="sms")
    event_log.append(conn, confirmation.interaction_id, [event])
