"""A turn's actions → what else the turn writes: the queue line, callback requests, chats."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from history.callback_requests import CallbackRequest
from history.chat_sessions import ChatRequest
from history.customers import is_e164
from history.queue_line import JoinQueue, LeaveQueue
from history.turn_effects import CancelCallback, OpenChat, RequestCallback, TurnEffect
from ivr import actions as act
from ivr import events as ev
from ivr.state import CallState

# After the agent hangs up, the caller's visit to the line is over: its handle time (connected
# to left) feeds the expected wait announced to the next callers.
SERVED: Final = "served"


def effects_of(
    actions: Sequence[act.Action],
    after: CallState,
    event: ev.Event,
    *,
    menu_checksum: str,
    callback_attempts: int,
) -> tuple[TurnEffect, ...]:
    """The queue and callback changes ``actions`` ask for, in order.

    Args:
        actions: What the engine decided in this turn.
        after: The call's state after the turn (its language, numbers).
        event: What the turn answered (its time).
        menu_checksum: The menu version the call runs (callbacks run it too).
        callback_attempts: Dial attempts a new callback request gets.

    """
    effects: list[TurnEffect] = []
    if isinstance(event, ev.AgentCallEnded):
        effects.append(LeaveQueue(SERVED))
    for action in actions:
        match action:
            case act.Enqueue():
                place = action.place or event.at
                effects.append(JoinQueue(action.queue, action.node, place))
            case act.QueueLeft():
                effects.append(LeaveQueue(action.result))
            case act.ScheduleCallback():
                effects.append(
                    RequestCallback(
                        _request(action, after, event, menu_checksum, callback_attempts)
                    )
                )
            case act.CancelCallback():
                effects.append(CancelCallback(action.callback_id))
            case act.EscalateToChat():
                effects.append(OpenChat(_chat(action, after, event)))
    return tuple(effects)


def _chat(action: act.EscalateToChat, after: CallState, event: ev.Event) -> ChatRequest:
    return ChatRequest(
        phone=action.phone,
        from_number=after.called if is_e164(after.called) else None,
        queue=action.queue,
        node=action.node,
        language=action.language,
        waiting_since=action.waiting_since,
        requested_at=event.at,
    )


def _request(
    action: act.ScheduleCallback,
    after: CallState,
    event: ev.Event,
    menu_checksum: str,
    attempts: int,
) -> CallbackRequest:
    return CallbackRequest(
        phone=action.phone,
        from_number=after.called,
        kind=action.kind,
        queue=action.queue,
        menu_checksum=menu_checksum,
        node=action.node,
        language=after.language,
        requested_at=event.at,
        original_enqueued_at=action.place,
        due_at=action.due_at,
        max_attempts=attempts,
        sms=action.sms,
    )
