"""Admission control: how many speech sessions this process serves at once.

Speech costs CPU for as long as the caller is on the stream, so the number of concurrent
sessions is capped per process. The decision is taken when a speech node is rendered: a call
admitted there holds a *reservation* until its media stream starts (and becomes a session) or
the reservation lapses; a call refused there is answered with the keypad version of the same
node. A stream that arrives without a reservation (e.g. at another instance behind a load
balancer) is admitted if there is room, and handed back to the keypad otherwise.

The counts are process state by nature: they count this process's open websockets.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

Monotonic = Callable[[], float]

RESERVATION_SECONDS: Final = 15.0
"""Twilio opens the stream within a second or two of fetching the TwiML; a reservation older
than this belongs to a call that hung up or went elsewhere, and must not hold a slot."""


@dataclass(frozen=True)
class AdmissionSnapshot:
    """The current load, for health checks and metrics."""

    limit: int
    sessions: int
    reserved: int


class SpeechAdmission:
    """Counts speech sessions and reservations against a per-process limit."""

    def __init__(self, limit: int, clock: Monotonic = time.monotonic) -> None:
        """Admit at most ``limit`` concurrent sessions (0 disables speech)."""
        self._limit = limit
        self._clock = clock
        self._reserved: dict[str, float] = {}
        self._sessions: set[str] = set()

    @property
    def limit(self) -> int:
        """The configured maximum of concurrent sessions."""
        return self._limit

    def snapshot(self) -> AdmissionSnapshot:
        """Sessions and live reservations right now."""
        self._expire()
        return AdmissionSnapshot(self._limit, len(self._sessions), len(self._reserved))

    def reserve(self, call_sid: str) -> bool:
        """Hold a slot for ``call_sid``'s coming stream; False when the process is full."""
        self._expire()
        if call_sid in self._sessions:
            return True  # the call's stream goes on to its next speech node
        if call_sid in self._reserved:
            self._reserved[call_sid] = self._clock()
            return True
        if self._in_use() >= self._limit:
            return False
        self._reserved[call_sid] = self._clock()
        return True

    def open(self, call_sid: str) -> bool:
        """Turn the call's reservation into a session; without one, admit only if there is room."""
        self._expire()
        if call_sid in self._sessions:
            return False  # one stream per call: a second socket for the same call is refused
        if self._reserved.pop(call_sid, None) is None and self._in_use() >= self._limit:
            return False
        self._sessions.add(call_sid)
        return True

    def close(self, call_sid: str) -> None:
        """The call's stream ended: its slot is free again."""
        self._sessions.discard(call_sid)
        self._reserved.pop(call_sid, None)

    def _in_use(self) -> int:
        return len(self._sessions) + len(self._reserved)

    def _expire(self) -> None:
        oldest = self._clock() - RESERVATION_SECONDS
        for sid in [sid for sid, at in self._reserved.items() if at < oldest]:
            del self._reserved[sid]
