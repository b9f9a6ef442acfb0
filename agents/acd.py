"""The ACD at run time: ring the agent for each assignment, then bring the contact to them.

Agent-first throughout: an assigned agent is called first (Twilio REST). When they answer they
wait in a conference room named for the contact, and the contact is brought in: a waiting
caller is taken out of Twilio's queue into the room (Queue Members REST), a callback customer
is dialled and joins the room on answering. An agent who does not answer is logged out and the
contact goes back in line unchanged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol
from urllib.parse import urlencode

from agents import dispatch, outcomes
from agents.dispatch import CALL, Assignment
from agents.roster import end_wrap_ups
from callbacks import claim
from callbacks.dialer import CALL_STATUS_EVENTS
from history.db import Database
from telephony.rest import OutboundCall, RestRejectedError, TelephonyRestError

log = logging.getLogger(__name__)

# Assignments made per transaction; each starts one outbound call to an agent.
ASSIGN_BATCH: Final = 20
# An agent's phone rings this long before the contact is offered to someone else: long enough
# to pick up a headset, short enough that the caller does not wait on an absent agent.
AGENT_RING_SECONDS: Final = 20

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class WaitingCall:
    """A queued call as the ACD needs it: its current turn and the number it dialled."""

    turn: int
    called: str


WaitingCallOf = Callable[[str], Awaitable[WaitingCall | None]]
"""A queued call by CallSid, or None when it is no longer waiting."""
Refused = Callable[[int, int], Awaitable[object]]
"""Ends a callback attempt Twilio refused to dial (``callbacks.dialer.CallbackDialer.refused``):
the callback's retry policy and hours decide what follows, as for any unreached customer."""


class AgentCalls(Protocol):
    """The Twilio REST calls the ACD makes (``telephony.rest.TwilioRest``)."""

    async def create_call(self, call: OutboundCall) -> str:
        """Place a call; returns its CallSid."""
        ...

    async def dequeue_member(self, queue: str, call_sid: str, url: str) -> None:
        """Take a waiting call out of a queue to ``url``'s TwiML."""
        ...

    async def hangup_call(self, call_sid: str) -> None:
        """End a call."""
        ...


@dataclass(frozen=True)
class AcdConfig:
    """Who dispatches, where Twilio reports back, and the agents' rhythm.

    Attributes:
        instance: This process's name.
        public_url: The base URL of the webhooks.
        caller_id: The number agents see calling (None: the contact's, or the called line).
        callbacks: Hand out due callbacks too (agent-first callback mode).
        wrap_up: Time after a contact before the agent is offered another.

    """

    instance: str
    public_url: str
    caller_id: str | None
    callbacks: bool
    wrap_up: timedelta


@dataclass(frozen=True)
class AgentLeg:
    """What an agent who answered is connected to: the contact's room, or nothing (gone)."""

    room: str | None
    kind: str


def room_of(assignment: Assignment) -> str:
    """The conference room of an assignment, named for its contact."""
    contact = assignment.contact
    if contact.kind == CALL:
        return f"vd-{contact.call_sid}"
    return f"vd-cb{contact.callback_id}-{contact.attempt}"


class Acd:
    """Pairs agents with contacts and connects them, on any number of instances."""

    def __init__(
        self,
        db: Database,
        calls: AgentCalls,
        config: AcdConfig,
        *,
        waiting_call: WaitingCallOf,
        refused: Refused,
        clock: Clock,
    ) -> None:
        """Dispatch from ``db`` and connect through ``calls``."""
        self._db = db
        self._calls = calls
        self._config = config
        self._waiting_call = waiting_call
        self._refused = refused
        self._clock = clock

    async def dispatch(self) -> bool:
        """End finished wrap-ups, make assignments and ring their agents.

        Returns:
            Whether the batch was full (more may be waiting).

        """
        now = self._clock()
        if not await self._db.read(dispatch.agents_ready):
            return False  # the usual idle tick: one read, no write lock taken
        await self._db.write(end_wrap_ups, now=now, wrap_up=self._config.wrap_up)
        made = await self._db.write(
            dispatch.assign,
            now=now,
            instance=self._config.instance,
            callbacks=self._config.callbacks,
            limit=ASSIGN_BATCH,
        )
        await asyncio.gather(*(self._ring(a) for a in made))
        return len(made) == ASSIGN_BATCH

    async def agent_answered(self, agent_id: int, label: str, agent_call_sid: str) -> AgentLeg:
        """The agent picked up: bring the contact into their room (or say it is gone)."""
        assignment = await self._db.write(outcomes.contact_of, agent_id, label, at=self._clock())
        kind = label.partition(":")[0]
        if assignment is None:
            return AgentLeg(None, kind)
        room = room_of(assignment)
        contact = assignment.contact
        try:
            if contact.kind == CALL:
                brought = await self._bring_caller(assignment, room)
            else:
                brought = await self._dial_customer(assignment, agent_call_sid)
        except TelephonyRestError as err:
            log.warning("agent %d: contact %s could not be brought: %s", agent_id, label, err)
            brought = False
        if not brought and contact.kind == CALL:
            # Still waiting (a failed dequeue), not hung up: back to their place in line.
            await self._db.write(
                outcomes.put_back, assignment, at=self._clock(), reason="not brought to the agent"
            )
        return AgentLeg(room if brought else None, kind)

    async def agent_leg_ended(self, agent_id: int, label: str, status: str) -> None:
        """The agent's call ended: wrap-up after a conversation, or the contact back in line."""
        at = self._clock()
        if status != "completed":
            # Never answered: the contact goes back in line (a no-op if it was brought).
            released = await self._db.write(
                outcomes.release_by_label, agent_id, label, at=at, reason=status
            )
            if released:
                return
        wrap_up = self._config.wrap_up > timedelta(0)
        await self._db.write(outcomes.finished, agent_id, label, at=at, wrap_up=wrap_up)

    async def customer_unreached(self, callback_id: int, attempt: int) -> None:
        """A callback customer did not answer: release the agent waiting in the room."""
        found = await self._db.read(outcomes.agent_call_of, callback_id, attempt)
        if found is None:
            return
        _, agent_call_sid = found
        try:
            await self._calls.hangup_call(agent_call_sid)
        except TelephonyRestError as err:
            log.warning(
                "callback %d: agent leg %s not hung up: %s", callback_id, agent_call_sid, err
            )

    async def callback_connected(self, callback_id: int, attempt: int) -> None:
        """The callback customer answered and joins the agent's room."""
        found = await self._db.read(outcomes.agent_call_of, callback_id, attempt)
        if found is not None:
            label = f"{dispatch.CALLBACK}:{callback_id}:{attempt}"
            await self._db.write(outcomes.connected_by_label, found[0], label, at=self._clock())

    async def _ring(self, assignment: Assignment) -> None:
        agent, label = assignment.agent, assignment.contact.label
        caller_id = self._config.caller_id or assignment.contact.from_number
        if caller_id is None and assignment.contact.call_sid is not None:
            # The line the caller dialled is one of ours: the agent sees the call come from it.
            waiting = await self._waiting_call(assignment.contact.call_sid)
            caller_id = None if waiting is None else waiting.called
        # Literal ":" (as in the label): a percent-encoded one could be decoded on the way and
        # break the URL Twilio signs.
        query = urlencode({"agent": agent.id, "contact": label}, safe=":")
        call = OutboundCall(
            to=agent.address,
            from_=caller_id or agent.address,
            url=f"{self._config.public_url}/twilio/agents/answer?{query}",
            status_callback=f"{self._config.public_url}/twilio/agents/status?{query}",
            timeout_seconds=AGENT_RING_SECONDS,
            status_events=("completed",),  # only the leg's end matters to the agent's state
        )
        try:
            await self._calls.create_call(call)
        except TelephonyRestError as err:
            log.warning("agent %d could not be rung for %s: %s", agent.id, label, err)
            await self._db.write(
                outcomes.release, assignment, at=self._clock(), reason="unreachable"
            )

    async def _bring_caller(self, assignment: Assignment, room: str) -> bool:
        contact = assignment.contact
        assert contact.call_sid is not None
        waiting = await self._waiting_call(contact.call_sid)
        if waiting is None:
            return False
        query = urlencode({"room": room, "turn": waiting.turn})
        url = f"{self._config.public_url}/twilio/queue/connect?{query}"
        await self._calls.dequeue_member(contact.queue, contact.call_sid, url)
        await self._db.write(outcomes.connected, assignment, at=self._clock())
        return True

    async def _dial_customer(self, assignment: Assignment, agent_call_sid: str) -> bool:
        contact = assignment.contact
        assert contact.callback_id is not None and contact.attempt is not None
        assert contact.phone is not None
        noted = await self._db.write(
            outcomes.note_agent_call, contact.callback_id, contact.attempt, agent_call_sid
        )
        if not noted:
            return True  # a repeated answer: the customer is already being dialled, once
        query = urlencode({"callback": contact.callback_id, "attempt": contact.attempt})
        call = OutboundCall(
            to=contact.phone,
            from_=self._config.caller_id or contact.from_number or contact.phone,
            url=f"{self._config.public_url}/twilio/callbacks/answer?{query}",
            status_callback=f"{self._config.public_url}/twilio/callbacks/status?{query}",
            status_events=CALL_STATUS_EVENTS,
        )
        try:
            call_sid = await self._calls.create_call(call)
        except RestRejectedError as err:
            # Twilio will never place this call as it stands (a bad number): the attempt ends
            # like an unanswered one instead of going back to the agents again and again.
            log.warning("callback %d: Twilio refused to dial: %s", contact.callback_id, err)
            await self._refused(contact.callback_id, contact.attempt)
            return False
        return await self._db.write(
            claim.record_dialled,
            callback_id=contact.callback_id,
            attempt=contact.attempt,
            call_sid=call_sid,
            at=self._clock(),
        )
