"""The state of one call, as stored between webhooks (never kept in process memory)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Where a call stands between webhooks.
PHASE_NEW = "new"
PHASE_LISTENING = "listening"  # waiting for input at `node`
PHASE_TRANSFERRING = "transferring"
PHASE_QUEUED = "queued"
PHASE_WITH_AGENT = "with_agent"  # talking to an agent in a conference
PHASE_ENDED = "ended"


@dataclass(frozen=True)
class CallState:
    """Everything the engine needs to continue a call.

    ``attempts`` counts failed inputs at the current node; ``turn`` increases with every wait
    rendered, so answers to an older wait are recognised. ``prompts`` are the (text, language)
    the caller heard before the current wait, for a media-stream session that picks the wait
    up. ``confirming`` is the choice the caller is being asked to confirm (``option:<index>``
    at a menu node, ``digits:<digits>`` at a collect node), or None. ``caller`` is the number
    the call came from (or goes to, for our callback calls), ``called`` the one it was made to
    (a callback comes from it). ``queued_at`` is the caller's
    place in line (ISO 8601) while queued and after leaving for a callback; ``queue_exit`` why
    the caller is leaving the queue (``callback``, ``overflow``). ``offer`` holds what a
    generated question offered (slot starts, an open callback), so its answer means the same
    thing when it comes.
    """

    menu_id: str
    node: str = ""
    phase: str = PHASE_NEW
    language: str = "ko"
    attempts: int = 0
    turn: int = 0
    variables: Mapping[str, str] = field(default_factory=dict)
    prompts: tuple[tuple[str, str], ...] = ()
    confirming: str | None = None
    caller: str = ""
    called: str = ""
    queued_at: str | None = None
    queue_exit: str | None = None
    offer: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form for the ``calls`` row."""
        return {
            "menu_id": self.menu_id,
            "node": self.node,
            "phase": self.phase,
            "language": self.language,
            "attempts": self.attempts,
            "turn": self.turn,
            "variables": dict(self.variables),
            "prompts": [[text, language] for text, language in self.prompts],
            "confirming": self.confirming,
            "caller": self.caller,
            "called": self.called,
            "queued_at": self.queued_at,
            "queue_exit": self.queue_exit,
            "offer": list(self.offer),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CallState:
        """Rebuild a state stored with `to_dict` (rows stored before a field existed too)."""
        confirming = data.get("confirming")
        queued_at, queue_exit = data.get("queued_at"), data.get("queue_exit")
        return cls(
            menu_id=str(data["menu_id"]),
            node=str(data.get("node", "")),
            phase=str(data.get("phase", PHASE_NEW)),
            language=str(data.get("language", "ko")),
            attempts=int(data.get("attempts", 0)),
            turn=int(data.get("turn", 0)),
            variables={str(k): str(v) for k, v in dict(data.get("variables", {})).items()},
            prompts=tuple((str(text), str(lang)) for text, lang in data.get("prompts") or ()),
            confirming=None if confirming is None else str(confirming),
            caller=str(data.get("caller", "")),
            called=str(data.get("called", "")),
            queued_at=None if queued_at is None else str(queued_at),
            queue_exit=None if queue_exit is None else str(queue_exit),
            offer=tuple(str(item) for item in data.get("offer") or ()),
        )
