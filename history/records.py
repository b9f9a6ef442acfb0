"""The values the history store takes and returns: frozen dataclasses, JSON-ready on demand."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append to an interaction's history.

    Attributes:
        type: What happened, snake_case (``digits_entered``, ``call_status``…).
        payload: JSON-serialisable details.
        at: When it happened (timezone-aware).
        key: Idempotency key: an event whose key the interaction already has is skipped.

    """

    type: str
    payload: Mapping[str, Any]
    at: datetime
    key: str | None = None

    def __post_init__(self) -> None:
        """Refuse a naive ``at`` where it is made, not later inside a transaction."""
        if self.at.utcoffset() is None:
            raise ValueError(f"event {self.type!r}: naive datetime {self.at!r}, need aware UTC")


@dataclass(frozen=True, slots=True)
class CallRecord:
    """The live state row of a call as read at ``version``."""

    call_sid: str
    interaction_id: int
    menu_id: str
    menu_checksum: str
    state: dict[str, Any]
    version: int
    last_response: str | None
    status: str
    ended: bool


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One stored event of an interaction."""

    seq: int
    at: datetime
    type: str
    payload: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, times in ISO 8601."""
        return {"seq": self.seq, "at": _iso(self.at), "type": self.type, "payload": self.payload}


@dataclass(frozen=True, slots=True)
class InteractionSummary:
    """One line of a customer's timeline."""

    id: int
    channel: str
    direction: str
    call_sid: str | None
    started_at: datetime
    ended_at: datetime | None
    outcome: str | None
    parent_id: int | None
    menu_id: str | None
    event_count: int

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, times in ISO 8601."""
        return {
            "id": self.id,
            "channel": self.channel,
            "direction": self.direction,
            "call_sid": self.call_sid,
            "started_at": _iso(self.started_at),
            "ended_at": _iso(self.ended_at),
            "outcome": self.outcome,
            "parent_id": self.parent_id,
            "menu_id": self.menu_id,
            "event_count": self.event_count,
        }


@dataclass(frozen=True, slots=True)
class InteractionDetail:
    """An interaction with its customer's phone and all its events in order."""

    summary: InteractionSummary
    customer_phone: str | None
    events: tuple[EventRecord, ...]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: the summary's fields plus ``customer_phone`` and ``events``."""
        return {
            **self.summary.to_json(),
            "customer_phone": self.customer_phone,
            "events": [e.to_json() for e in self.events],
        }


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """Who an API key belongs to and what it may do."""

    id: int
    name: str
    role: str
    agent_id: int | None = None
    """The agent an ``agent`` key acts for."""
