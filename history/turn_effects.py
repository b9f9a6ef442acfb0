"""What a call's turn changes besides the call itself, in the same transaction as the turn.

Joining or leaving a queue's line, asking for a callback, cancelling one, moving to a chat:
written with the turn that decided it, so a crash can never leave a caller told "we will call
you back" (or "we have texted you a link") without the request, nor a request without the turn
that made it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection

from history import callback_requests, chat_sessions, queue_line
from history.callback_requests import CallbackRequest
from history.chat_sessions import ChatRequest
from history.queue_line import JoinQueue, LeaveQueue


@dataclass(frozen=True, slots=True)
class RequestCallback:
    """Record a callback request made in this call (its interaction becomes the parent)."""

    request: CallbackRequest


@dataclass(frozen=True, slots=True)
class CancelCallback:
    """Cancel the caller's open callback request ``callback_id``."""

    callback_id: int


@dataclass(frozen=True, slots=True)
class OpenChat:
    """Move the caller to a chat (this call's interaction becomes its parent and context)."""

    request: ChatRequest


TurnEffect = JoinQueue | LeaveQueue | RequestCallback | CancelCallback | OpenChat


def apply(
    conn: Connection,
    *,
    call_sid: str,
    interaction_id: int,
    effects: tuple[TurnEffect, ...],
    at: datetime,
) -> None:
    """Carry out ``effects`` of the call's turn, in order."""
    for effect in effects:
        match effect:
            case JoinQueue():
                queue_line.join(
                    conn, call_sid=call_sid, interaction_id=interaction_id, effect=effect, at=at
                )
            case LeaveQueue():
                queue_line.leave(conn, call_sid=call_sid, effect=effect, at=at)
            case RequestCallback():
                request = replace(effect.request, parent_interaction_id=interaction_id)
                callback_requests.open_request(conn, request)
            case CancelCallback():
                callback_requests.cancel(conn, effect.callback_id, at=at, by="caller")
            case OpenChat():
                chat_sessions.open_from_call(conn, effect.request, interaction_id)
