"""The call service: load a call's state by CallSid, step the engine, persist, hand back TwiML.

Nothing about a call is kept in process memory between webhooks: every turn reads the ``calls``
row, steps the pure engine, and writes the new state with an optimistic ``version`` check in the
same transaction as the turn's history events and rendered response. Any instance can therefore
answer any webhook of any call, and a webhook Twilio retries gets the same answer again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final

from calls import recording
from calls.effects import effects_of
from calls.menus import MenuRegistry
from config.menu import Menu
from history.store import CallRecord, HistoryStore, NewEvent
from ivr import actions as act
from ivr import events as ev
from ivr.engine import current_listen, new_call, step
from ivr.state import PHASE_ENDED, CallState

log = logging.getLogger(__name__)

Renderer = Callable[[Menu, Sequence[act.Action]], Awaitable[str]]
Clock = Callable[[], datetime]

# Two webhooks of one call racing is rare (Twilio sends them one after another); a few
# re-reads settle it, and more would only hide a bug.
MAX_VERSION_CONFLICTS: Final = 5

CALL_ACTIONS: Final = (
    act.Prompt,
    act.Listen,
    act.Transfer,
    act.Enqueue,
    act.Hold,
    act.Offer,
    act.Leave,
    act.ConnectAgent,
    act.Hangup,
)

# Dial attempts of a callback request before it fails (`callbacks.policy`'s default).
DEFAULT_CALLBACK_ATTEMPTS: Final = 3


@dataclass(frozen=True)
class Wait:
    """A call's current wait for input, as a media-stream session picks it up."""

    call_sid: str
    menu: Menu
    listen: act.Listen
    prompts: tuple[act.Prompt, ...]
    """What the caller hears before answering (the prompts of the step that began the wait)."""


class UnknownCallError(LookupError):
    """A webhook names a CallSid this service never started."""


class TurnConflictError(RuntimeError):
    """The call's row kept changing under us; the turn was not applied."""


def utc_now() -> datetime:
    """The current instant, timezone-aware (the production clock)."""
    return datetime.now(UTC)


class CallService:
    """One orchestration of a call turn, shared by every entry point (webhooks, streams)."""

    def __init__(
        self,
        store: HistoryStore,
        menus: MenuRegistry,
        clock: Clock = utc_now,
        *,
        callback_attempts: int = DEFAULT_CALLBACK_ATTEMPTS,
    ) -> None:
        """Create the service over a history store and the menu registry."""
        self._store = store
        self._menus = menus
        self._clock = clock
        self._callback_attempts = callback_attempts

    @property
    def clock(self) -> Clock:
        """The clock events are stamped with."""
        return self._clock

    async def start(self, call_sid: str, caller: str, called: str, render: Renderer) -> str:
        """Open (or re-answer) an inbound call and run it to its first wait.

        Args:
            call_sid: Twilio's CallSid.
            caller: The caller's number (From).
            called: The number they dialled (To).
            render: Turns the engine's actions into the response for Twilio.

        Returns:
            The response to send; a retried webhook gets the stored one again.

        """
        at = self._clock()
        menu = self._menus.published
        record, created = await self._store.open_call(
            call_sid=call_sid,
            caller=caller,
            called=called,
            direction="inbound",
            menu_id=menu.id,
            menu_checksum=menu.checksum,
            state=new_call(menu).to_dict(),
            at=at,
        )
        if not created and record.last_response is not None:
            await self._note_replay(record, "call_started", None, at)
            return record.last_response
        open_callback = await self._store.open_callback_for(caller)
        started = ev.CallStarted(
            at,
            caller,
            called,
            open_callback_id=None if open_callback is None else open_callback.id,
            open_callback_due=None if open_callback is None else open_callback.due_at,
        )
        return await self.advance(call_sid, started, None, render, loaded=record)

    async def answer_callback(
        self, call_sid: str, callback_id: int, room: str | None, render: Renderer
    ) -> str:
        """Our callback call ``call_sid`` was answered: greet, then the agent (or the line).

        Args:
            call_sid: The outbound call's CallSid.
            callback_id: The request it serves.
            room: The agent's conference (agent-first); None: the customer waits in line at
                the request's original place (customer-first).
            render: Turns the engine's actions into the response.

        Raises:
            UnknownCallError: No such callback request.

        """
        at = self._clock()
        request = await self._store.callback(callback_id)
        if request is None:
            raise UnknownCallError(f"callback {callback_id}")
        menu = await self._menus.pinned(request.menu_checksum)
        state = CallState(
            menu_id=menu.id,
            node=request.node,
            language=request.language,
            caller=request.phone,
            called=request.from_number,
        )
        record = await self._store.open_callback_call(
            call_sid=call_sid, callback_id=callback_id, state=state.to_dict(), at=at
        )
        if record is None:
            raise UnknownCallError(f"callback {callback_id}")
        if record.last_response is not None:
            await self._note_replay(record, "callback_answered", None, at)
            return record.last_response
        answered = ev.CallbackAnswered(at, room, request.original_enqueued_at)
        return await self.advance(call_sid, answered, None, render, loaded=record)

    async def advance(
        self,
        call_sid: str,
        event: ev.Event,
        turn: int | None,
        render: Renderer,
        *,
        loaded: CallRecord | None = None,
        key: str | None = None,
    ) -> str:
        """Apply one event to a call and return the response for Twilio.

        Args:
            call_sid: The call.
            event: What happened.
            turn: The wait this webhook answers (None when it answers no particular wait);
                an answer to an older wait is not applied again but gets the stored response.
            render: Turns the engine's actions into the response.
            loaded: The call's row when the caller has just read or written it (saves a read).
            key: Idempotency key of the event in the history (a replayed journal entry).

        """
        for _ in range(MAX_VERSION_CONFLICTS):
            record = await self._load(call_sid)
            menu = await self._menus.pinned(record.menu_checksum)
            state = CallState.from_dict(record.state)
            if turn is not None and turn != state.turn and record.last_response is not None:
                await self._note_replay(record, recording.event_type(event), turn, event.at)
                return record.last_response
            new_state, actions = step(menu, state, event)
            if not _has_call_action(actions) and record.last_response is not None:
                await self._note_replay(record, recording.event_type(event), turn, event.at)
                return record.last_response
            response = await render(menu, actions)
            if await self._commit(
                record, menu, state, event, new_state, actions, response, key=key
            ):
                return response
        raise TurnConflictError(f"call {call_sid} changed {MAX_VERSION_CONFLICTS} times")

    async def current_wait(self, call_sid: str) -> Wait | None:
        """The wait the call is in, or None when it is not waiting for input (or unknown)."""
        record = await self._store.get_call(call_sid)
        if record is None or record.ended:
            return None
        menu = await self._menus.pinned(record.menu_checksum)
        state = CallState.from_dict(record.state)
        listen = current_listen(menu, state)
        if listen is None:
            return None
        prompts = tuple(act.Prompt(text, language) for text, language in state.prompts)
        return Wait(call_sid, menu, listen, prompts)

    async def note(
        self,
        call_sid: str,
        what: str,
        details: Mapping[str, object],
        *,
        key: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Record a fact about a call that is no turn of its menu (a barge-in, a fallback)."""
        when = self._clock() if at is None else at
        event = NewEvent(type=what, payload=dict(details), at=when, key=key)
        await self._store.append_events(call_sid, [event])

    async def fail(self, call_sid: str, reason: str, render: Renderer) -> str:
        """Apologise and route the call to the menu's fallback after an internal failure."""
        return await self.advance(call_sid, ev.Failure(self._clock(), reason), None, render)

    async def report_status(
        self,
        call_sid: str,
        status: str,
        sequence: int | None,
        duration: int,
        final: bool,
        *,
        at: datetime | None = None,
    ) -> bool:
        """Record a status callback; a final status ends the call. Idempotent.

        ``at`` is when Twilio reported it (a journaled report keeps its time), default now.

        Returns:
            False when the CallSid is unknown (nothing is written).

        """
        at = self._clock() if at is None else at
        key = f"status:{sequence if sequence is not None else '-'}:{status}"
        note = NewEvent(
            type="call_status",
            payload={"status": status, "sequence": sequence, "duration_seconds": duration},
            at=at,
            key=key,
        )
        if not final:
            if await self._store.get_call(call_sid) is None:
                return False
            await self._store.append_events(call_sid, [note])
            return True
        for _ in range(MAX_VERSION_CONFLICTS):
            record = await self._store.get_call(call_sid)
            if record is None:
                return False
            if record.ended or await self._end(record, ev.CallEnded(at, status, duration)):
                outcome = "completed" if status == "completed" else status
                return await self._store.finish_call(
                    call_sid=call_sid, status=status, at=at, events=[note], outcome=outcome
                )
        raise TurnConflictError(f"call {call_sid} changed {MAX_VERSION_CONFLICTS} times")

    async def _end(self, record: CallRecord, event: ev.CallEnded) -> bool:
        menu = await self._menus.pinned(record.menu_checksum)
        state = CallState.from_dict(record.state)
        new_state, actions = step(menu, state, event)
        return await self._commit(
            record, menu, state, event, new_state, actions, record.last_response
        )

    async def _commit(
        self,
        record: CallRecord,
        menu: Menu,
        before: CallState,
        event: ev.Event,
        after: CallState,
        actions: Sequence[act.Action],
        response: str | None,
        *,
        key: str | None = None,
    ) -> bool:
        events = [
            replace(recording.incoming(menu, before.node, event), key=key),
            *recording.outgoing(menu, actions, event.at),
        ]
        ended = after.phase == PHASE_ENDED
        if ended:
            # The one point every ending passes: hang-up verb, status callback, failure.
            after = recording.ended(after, menu)
        effects = effects_of(
            actions, after, event, menu_checksum=record.menu_checksum,
            callback_attempts=self._callback_attempts,
        )  # fmt: skip
        return await self._store.commit_turn(
            call_sid=record.call_sid,
            expected_version=record.version,
            state=after.to_dict(),
            events=events,
            response=response,
            ended=ended,
            outcome=recording.outcome_of(actions),
            at=event.at,
            effects=effects,
        )

    async def _load(self, call_sid: str) -> CallRecord:
        record = await self._store.get_call(call_sid)
        if record is None:
            raise UnknownCallError(call_sid)
        return record

    async def _note_replay(
        self, record: CallRecord, what: str, turn: int | None, at: datetime
    ) -> None:
        state = CallState.from_dict(record.state)
        log.info("call %s: replaying response to a repeated %s", record.call_sid, what)
        await self._store.append_events(
            record.call_sid,
            [
                NewEvent(
                    type="webhook_replayed",
                    payload={"webhook": what, "turn": turn, "current_turn": state.turn},
                    at=at,
                    key=f"replay:{what}:{turn}:{state.turn}:{record.version}",
                )
            ],
        )


def _has_call_action(actions: Sequence[act.Action]) -> bool:
    return any(isinstance(a, CALL_ACTIONS) for a in actions)
