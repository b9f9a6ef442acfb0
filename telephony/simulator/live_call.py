"""A call in progress as the REST API reaches it: its state, and the commands it is sent.

Twilio can redirect a live call (``Url``) or end it (``Status=completed``) at any moment. The
simulated call takes a command at its next verb, or at once while it waits in real time (in a
queue, in a conference, ringing, talking): :meth:`LiveCall.sleep` wakes on a command.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

Direction = Literal["inbound", "outbound-api"]

FINAL_STATUSES: Final = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
"""``CallStatus`` values after which the call is over."""


@dataclass(frozen=True)
class RedirectTo:
    """REST ``Url``: leave what the call is doing and run the TwiML there."""

    url: str
    method: str = "POST"


@dataclass(frozen=True)
class HangUpNow:
    """REST ``Status=completed`` (or ``canceled``): end the call."""

    status: str = "completed"


Command = RedirectTo | HangUpNow


class LiveCall:
    """One call's state as Twilio's call log shows it, and the REST command waiting for it.

    Attributes:
        sid: The ``CA…`` SID.
        to: Who is called.
        from_: Who calls.
        direction: ``inbound`` or ``outbound-api``.
        status: The current ``CallStatus``.
        date_created: When Twilio learnt of the call.
        start_time: When it started ringing (None while queued).
        end_time: When it ended.
        duration_seconds: How long it was answered, once over.
        queue: The queue it waits in, if any.

    """

    def __init__(
        self, sid: str, *, to: str, from_: str, direction: Direction, created: datetime
    ) -> None:
        """A call that has just been created (``queued``) or has just come in (``ringing``)."""
        self.sid = sid
        self.to = to
        self.from_ = from_
        self.direction: Direction = direction
        self.status = "queued" if direction == "outbound-api" else "ringing"
        self.date_created = created
        self.date_updated = created
        self.start_time: datetime | None = None if direction == "outbound-api" else created
        self.end_time: datetime | None = None
        self.duration_seconds: int | None = None
        self.queue: str | None = None
        self._command: Command | None = None
        self._wake = asyncio.Event()

    @property
    def is_over(self) -> bool:
        """Whether the call has ended."""
        return self.status in FINAL_STATUSES

    @property
    def pending(self) -> Command | None:
        """The command not taken yet."""
        return self._command

    def set_status(self, status: str, at: datetime) -> None:
        """Move to ``status`` (a ringing call gets its start time)."""
        self.status = status
        self.date_updated = at
        if status == "ringing" and self.start_time is None:
            self.start_time = at

    def end(self, status: str, at: datetime, duration_seconds: float) -> None:
        """The call is over: its final status and how long it was answered."""
        self.set_status(status, at)
        self.end_time = at
        self.duration_seconds = math.ceil(duration_seconds)
        self.queue = None

    def send(self, command: Command) -> None:
        """Give the call a command; a later one replaces one not taken yet."""
        self._command = command
        self._wake.set()

    def nudge(self) -> None:
        """Wake the call's wait without a command: something it waits for changed."""
        self._wake.set()

    def take(self) -> Command | None:
        """The pending command, now handled."""
        command, self._command = self._command, None
        return command

    async def sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` of real time; end early on a command or a nudge.

        Returns:
            True when woken early (a command may be pending), False when the time ran out.

        """
        if self._command is not None:
            return True
        if seconds <= 0:
            return False
        self._wake.clear()
        try:
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        except TimeoutError:
            return False
        return True
