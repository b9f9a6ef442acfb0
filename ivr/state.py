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
PHASE_ENDED = "ended"


@dataclass(frozen=True)
class CallState:
    """Everything the engine needs to continue a call.

    ``attempts`` counts failed inputs at the current node; ``turn`` increases with every wait
    rendered, so answers to an older wait are recognised.
    """

    menu_id: str
    node: str = ""
    phase: str = PHASE_NEW
    language: str = "ko"
    attempts: int = 0
    turn: int = 0
    variables: Mapping[str, str] = field(default_factory=dict)

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
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CallState:
        """Rebuild a state stored with `to_dict`."""
        return cls(
            menu_id=str(data["menu_id"]),
            node=str(data.get("node", "")),
            phase=str(data.get("phase", PHASE_NEW)),
            language=str(data.get("language", "ko")),
            attempts=int(data.get("attempts", 0)),
            turn=int(data.get("turn", 0)),
            variables={str(k): str(v) for k, v in dict(data.get("variables", {})).items()},
        )
