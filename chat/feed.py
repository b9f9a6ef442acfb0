"""Waking the chat pages of this instance when a chat changes.

A page's socket follows its chat by reading the database (messages after the last id it sent),
so nothing about a chat lives in this process. The feed only says *when* to read again: at once
after a change made here, or after ``POLL_SECONDS`` at the latest, which is how changes made by
another instance (a text that reached it, an agent connected to it) arrive until the event bus
of the supervisors' issue carries them.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final

POLL_SECONDS: Final = 1.0
"""Longest delay for a change made by another instance to show."""


class ChatFeed:
    """A process-wide change counter that sockets wait on."""

    def __init__(self, poll_seconds: float = POLL_SECONDS) -> None:
        """Wake waiters on every change, or every ``poll_seconds``."""
        self.poll_seconds = poll_seconds
        self._changed = asyncio.Event()

    def notify(self) -> None:
        """Something changed: every waiting socket reads again."""
        self._changed.set()
        # A fresh event for the next change; waiters of this one are already released.
        self._changed = asyncio.Event()

    async def wait(self) -> None:
        """Return after the next change here, or after the poll interval."""
        changed = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), self.poll_seconds)
