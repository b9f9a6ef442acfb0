"""Moving a caller from the phone to a text chat (a ``chat`` node).

The call ends with the caller told that a link is on its way; the chat itself (session, link,
SMS) is the ``chat`` package's work, asked for by the ``EscalateToChat`` record action, which
the call service writes in the same transaction as the turn.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Final

from config.menu import ChatNode, Menu
from config.messages import MessageKey
from ivr import actions as act
from ivr.offers import E164
from ivr.state import PHASE_ENDED, CallState

Step = tuple[CallState, tuple[act.Action, ...]]

ESCALATED: Final = "escalated"
"""The call's outcome: it goes on as a chat."""
NO_TEXT_NUMBER: Final = "no number to text"
FROM_QUEUE: Final = "chat"
"""``CallState.queue_exit`` of a caller who left a queue for the chat (``ivr.queueing``)."""


def escalate(
    menu: Menu, node: ChatNode, state: CallState, out: list[act.Action], at: datetime
) -> Step | None:
    """End the call into a chat of ``node``'s queue, or None when no text can reach the caller.

    A caller who pressed the queue's chat key keeps their place: the chat waits since they
    joined the line. Any other caller waits from now (an earlier, finished wait in the same
    call is no place in line any more).
    """
    if not E164.fullmatch(state.caller):
        return None
    language = state.language
    if node.prompt is not None:
        out.append(act.Prompt(node.prompt[language], language))
    from_line = state.queue_exit == FROM_QUEUE and state.queued_at is not None
    since = datetime.fromisoformat(state.queued_at) if from_line and state.queued_at else at
    out += [
        act.EscalateToChat(node.id, node.queue, state.caller, language, since),
        act.Prompt(menu.messages[MessageKey.CHAT_LINK_SENT][language], language),
        act.Outcome(ESCALATED, "chat"),
        act.Hangup(),
    ]
    return replace(state, phase=PHASE_ENDED), tuple(out)


def unavailable(menu: Menu, node: ChatNode, state: CallState) -> tuple[act.Action, ...]:
    """What the caller hears when no link can be texted, and where the call goes on."""
    sorry = menu.messages[MessageKey.CHAT_UNAVAILABLE][state.language]
    return act.Prompt(sorry, state.language), act.FellBack(node.id, node.next, NO_TEXT_NUMBER)
