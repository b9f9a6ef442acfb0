"""The history store: the port other packages use, and its SQL adapter (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Protocol

from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from history import (
    api_keys,
    callback_requests,
    event_log,
    live_calls,
    menu_versions,
    queue_line,
    timeline,
)
from history.callback_requests import CallbackInfo
from history.db import Database, HistoryError, HistoryUnavailableError
from history.queue_line import LinePosition
from history.records import (
    ApiKeyInfo,
    CallRecord,
    EventRecord,
    InteractionDetail,
    InteractionSummary,
    NewEvent,
)
from history.turn_effects import TurnEffect

__all__ = [
    "ApiKeyInfo",
    "CallRecord",
    "EventRecord",
    "HistoryError",
    "HistoryStore",
    "HistoryUnavailableError",
    "InteractionDetail",
    "InteractionSummary",
    "NewEvent",
    "SqlHistoryStore",
]

# A timeline is for a person to read; the oldest contacts beyond this are left off.
TIMELINE_LIMIT: Final = 200


class HistoryStore(Protocol):
    """The shared interaction history and the live state of calls.

    Every method is one transaction: it happens entirely or not at all. Every method may raise
    :class:`HistoryUnavailableError` (a :class:`HistoryError`) when the database cannot be
    reached or locked in time; nothing is written then. Times must be timezone-aware.
    """

    async def open_call(
        self,
        *,
        call_sid: str,
        caller: str,
        called: str,
        direction: str,
        menu_id: str,
        menu_checksum: str,
        state: Mapping[str, Any],
        at: datetime,
    ) -> tuple[CallRecord, bool]:
        """Start recording a call: customer (by phone), voice interaction, call row (version 1).

        Idempotent on ``call_sid``, also when two requests for a new CallSid race.

        Args:
            call_sid: Twilio's CallSid.
            caller: From. The customer of an inbound call.
            called: To. The customer of an outbound call.
            direction: ``inbound`` or ``outbound``.
            menu_id: The menu the call runs.
            menu_checksum: The menu version the call is pinned to.
            state: The engine's initial state (JSON-serialisable).
            at: When the call started.

        Returns:
            The call's record, and True if this call created it (False: it existed; nothing
            was written).

        Raises:
            ValueError: ``direction`` is neither ``inbound`` nor ``outbound``.

        """
        ...

    async def get_call(self, call_sid: str) -> CallRecord | None:
        """The call's live row, or None for an unknown CallSid."""
        ...

    async def commit_turn(
        self,
        *,
        call_sid: str,
        expected_version: int,
        state: Mapping[str, Any],
        events: Sequence[NewEvent],
        response: str | None,
        ended: bool = False,
        outcome: str | None = None,
        at: datetime,
        effects: tuple[TurnEffect, ...] = (),
    ) -> bool:
        """Write one turn of a call, if nobody else wrote the call since it was read.

        Args:
            call_sid: The call.
            expected_version: The version the turn was computed from.
            state: The engine's new state.
            events: What the turn recorded, appended in this order with consecutive ``seq``
                (events whose key the interaction already has are skipped).
            response: The response sent to Twilio, kept for replaying retried webhooks.
            ended: The call is over: the row and the interaction get their end time.
            outcome: The interaction's outcome, if it has none yet (only with ``ended``).
            at: When the turn happened.
            effects: What else the turn changes (queue line, callback requests), written in
                the same transaction.

        Returns:
            True if written (the version is now ``expected_version + 1``); False if the row
            is at another version or the CallSid is unknown, and nothing was written.

        """
        ...

    async def open_callback_call(
        self, *, call_sid: str, callback_id: int, state: Mapping[str, Any], at: datetime
    ) -> CallRecord | None:
        """Start the call row of our callback call ``call_sid`` in the callback's interaction.

        Idempotent on ``call_sid``. Returns None for an unknown callback.
        """
        ...

    async def open_callback_for(self, phone: str) -> CallbackInfo | None:
        """The phone's open (pending or dialing) callback request, or None."""
        ...

    async def callback(self, callback_id: int) -> CallbackInfo | None:
        """Callback request ``callback_id``, or None."""
        ...

    async def line_position(self, call_sid: str, now: datetime) -> LinePosition | None:
        """Where a queued call stands in its line, or None when it is not waiting."""
        ...

    async def append_events(self, call_sid: str, events: Sequence[NewEvent]) -> int:
        """Append events to the call's interaction outside a turn (status, stale webhooks).

        Returns:
            How many were written: events whose key the interaction already has are skipped,
            and nothing is written (0) for an unknown CallSid.

        """
        ...

    async def has_event(self, call_sid: str, key: str) -> bool:
        """Whether the call's interaction has an event keyed ``key`` (False: unknown call)."""
        ...

    async def finish_call(
        self,
        *,
        call_sid: str,
        status: str,
        at: datetime,
        events: Sequence[NewEvent],
        outcome: str | None,
    ) -> bool:
        """Record Twilio's final status: call row ended with ``status``, interaction ended.

        The interaction's end time and outcome are set only if not set yet; events are
        appended with the same key idempotency. Repeating it changes nothing more.

        Args:
            call_sid: The call.
            status: ``completed``, ``busy``, ``failed``, ``no-answer`` or ``canceled``.
            at: When the status was reported.
            events: Events to append (give them keys to make repeats no-ops).
            outcome: The interaction's outcome, if it has none yet.

        Returns:
            False for an unknown CallSid (nothing written), else True.

        Raises:
            ValueError: ``status`` is not a final status.

        """
        ...

    async def customer_timeline(
        self, phone: str, *, limit: int = TIMELINE_LIMIT
    ) -> list[InteractionSummary] | None:
        """The customer's interactions, newest first; None when no customer has ``phone``."""
        ...

    async def interaction_detail(self, interaction_id: int) -> InteractionDetail | None:
        """The interaction with its customer's phone and events by ``seq``; None if unknown."""
        ...

    async def create_api_key(
        self, *, role: str, name: str, at: datetime, agent_id: int | None = None
    ) -> str:
        """Create a key and return its token, the only time it is ever available.

        ``agent_id`` makes an ``agent`` key act for that agent.

        Raises:
            ValueError: ``role`` is not ``admin``, ``supervisor`` or ``agent``; or
                ``agent_id`` with another role, or naming no agent.

        """
        ...

    async def authenticate_api_key(self, token: str, at: datetime) -> ApiKeyInfo | None:
        """The key a bearer token belongs to; None when unknown, malformed or revoked."""
        ...

    async def revoke_api_key(self, key_id: int, *, at: datetime) -> bool:
        """Revoke a key for good; False when there is no such key."""
        ...

    async def save_menu_version(
        self,
        *,
        menu_id: str,
        checksum: str,
        content: Mapping[str, Any],
        at: datetime,
        author: str | None = None,
    ) -> None:
        """Store a published menu version; a checksum already stored is left as it is."""
        ...

    async def load_menu_version(self, checksum: str) -> dict[str, Any] | None:
        """The menu document stored under ``checksum``, or None."""
        ...

    async def ping(self) -> None:
        """Check the database answers (readiness); raises HistoryUnavailableError if not."""
        ...


class SqlHistoryStore:
    """:class:`HistoryStore` on SQLAlchemy: SQLite (embedded) or PostgreSQL (scale-out).

    Holds nothing about calls in memory: every call is read and written by CallSid in the
    database, so any instance can serve any webhook. Each method is one sync function of the
    query modules run as one transaction (see :class:`history.db.Database`): writing methods in
    a writing transaction (``BEGIN IMMEDIATE`` on SQLite), reading ones in a deferred one.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        """Use ``engine`` (from :func:`history.db.create_engine`).

        The caller closes the store (:meth:`close`), then disposes of the engine.
        """
        self._db = Database(engine)

    async def open_call(
        self,
        *,
        call_sid: str,
        caller: str,
        called: str,
        direction: str,
        menu_id: str,
        menu_checksum: str,
        state: Mapping[str, Any],
        at: datetime,
    ) -> tuple[CallRecord, bool]:
        """See :meth:`HistoryStore.open_call`."""
        return await self._db.write(
            live_calls.open_call,
            call_sid=call_sid,
            caller=caller,
            called=called,
            direction=direction,
            menu_id=menu_id,
            menu_checksum=menu_checksum,
            state=state,
            at=at,
        )

    async def get_call(self, call_sid: str) -> CallRecord | None:
        """See :meth:`HistoryStore.get_call`."""
        return await self._db.read(live_calls.find, call_sid)

    async def commit_turn(
        self,
        *,
        call_sid: str,
        expected_version: int,
        state: Mapping[str, Any],
        events: Sequence[NewEvent],
        response: str | None,
        ended: bool = False,
        outcome: str | None = None,
        at: datetime,
        effects: tuple[TurnEffect, ...] = (),
    ) -> bool:
        """See :meth:`HistoryStore.commit_turn`."""
        return await self._db.write(
            live_calls.commit_turn,
            call_sid=call_sid,
            expected_version=expected_version,
            state=state,
            events=events,
            response=response,
            ended=ended,
            outcome=outcome,
            at=at,
            effects=effects,
        )

    async def open_callback_call(
        self, *, call_sid: str, callback_id: int, state: Mapping[str, Any], at: datetime
    ) -> CallRecord | None:
        """See :meth:`HistoryStore.open_callback_call`."""
        return await self._db.write(
            live_calls.open_callback_call,
            call_sid=call_sid,
            callback_id=callback_id,
            state=state,
            at=at,
        )

    async def open_callback_for(self, phone: str) -> CallbackInfo | None:
        """See :meth:`HistoryStore.open_callback_for`."""
        return await self._db.read(callback_requests.find_open, phone)

    async def callback(self, callback_id: int) -> CallbackInfo | None:
        """See :meth:`HistoryStore.callback`."""
        return await self._db.read(callback_requests.find_by_id, callback_id)

    async def line_position(self, call_sid: str, now: datetime) -> LinePosition | None:
        """See :meth:`HistoryStore.line_position`."""
        return await self._db.read(queue_line.position, call_sid, now)

    @property
    def database(self) -> Database:
        """The transactions this store runs on (for the callbacks and agents packages)."""
        return self._db

    async def append_events(self, call_sid: str, events: Sequence[NewEvent]) -> int:
        """See :meth:`HistoryStore.append_events`."""
        if not events:
            return 0
        return await self._db.write(live_calls.append_events, call_sid, events)

    async def has_event(self, call_sid: str, key: str) -> bool:
        """See :meth:`HistoryStore.has_event`."""
        return await self._db.read(event_log.call_has_key, call_sid, key)

    async def finish_call(
        self,
        *,
        call_sid: str,
        status: str,
        at: datetime,
        events: Sequence[NewEvent],
        outcome: str | None,
    ) -> bool:
        """See :meth:`HistoryStore.finish_call`."""
        return await self._db.write(
            live_calls.finish_call,
            call_sid=call_sid,
            status=status,
            at=at,
            events=events,
            outcome=outcome,
        )

    async def customer_timeline(
        self, phone: str, *, limit: int = TIMELINE_LIMIT
    ) -> list[InteractionSummary] | None:
        """See :meth:`HistoryStore.customer_timeline`."""
        return await self._db.read(timeline.customer_timeline, phone, limit)

    async def interaction_detail(self, interaction_id: int) -> InteractionDetail | None:
        """See :meth:`HistoryStore.interaction_detail`."""
        return await self._db.read(timeline.interaction_detail, interaction_id)

    async def create_api_key(
        self, *, role: str, name: str, at: datetime, agent_id: int | None = None
    ) -> str:
        """See :meth:`HistoryStore.create_api_key`."""
        return await self._db.write(api_keys.create, role=role, name=name, at=at, agent_id=agent_id)

    async def authenticate_api_key(self, token: str, at: datetime) -> ApiKeyInfo | None:
        """See :meth:`HistoryStore.authenticate_api_key`.

        A read transaction; a second, tiny write only when last_used_at is older than
        :data:`history.api_keys.LAST_USED_RESOLUTION`, so most requests never write.
        """
        found = await self._db.read(api_keys.find_active, token)
        if found is None:
            return None
        key, last_used_at = found
        if api_keys.needs_touch(last_used_at, at):
            await self._db.write(api_keys.touch, key.id, at)
        return key

    async def revoke_api_key(self, key_id: int, *, at: datetime) -> bool:
        """See :meth:`HistoryStore.revoke_api_key`."""
        return await self._db.write(api_keys.revoke, key_id, at)

    async def save_menu_version(
        self,
        *,
        menu_id: str,
        checksum: str,
        content: Mapping[str, Any],
        at: datetime,
        author: str | None = None,
    ) -> None:
        """See :meth:`HistoryStore.save_menu_version`."""
        await self._db.write(
            menu_versions.save,
            menu_id=menu_id,
            checksum=checksum,
            content=content,
            author=author,
            at=at,
        )

    async def load_menu_version(self, checksum: str) -> dict[str, Any] | None:
        """See :meth:`HistoryStore.load_menu_version`."""
        return await self._db.read(menu_versions.load, checksum)

    async def ping(self) -> None:
        """See :meth:`HistoryStore.ping`."""
        await self._db.read(_select_one)

    async def close(self) -> None:
        """Stop the store's worker threads; call it before disposing of the engine."""
        await self._db.close()


def _select_one(conn: Connection) -> None:
    conn.execute(text("SELECT 1"))
