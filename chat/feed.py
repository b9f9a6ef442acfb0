"""Waking this instance's chat sockets when a chat changes.

A socket follows its chat by reading the database (messages after the last id it sent), so
nothing about a chat lives in this process. The feed only says *when* to read again: at once
after a change made here, or after ``POLL_SECONDS`` at the latest, which is how changes made by
another instance (a text that reached it, an agent connected to it) arrive until the event bus
of the supervisors' issue carries them.

A change wakes only the sockets of that chat, plus the agents' consoles (which list every
chat of their queues): measured with 300 customer sockets, waking every socket on every
message made each message cost 300 reads (docs/BENCHMARKS.md, "Chat sockets").
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final

POLL_SECONDS: Final = 1.0
"""Longest delay for a change made by another instance to show."""
ANY_CHAT: Final = 0
"""What the agents' consoles wait on: every chat's changes (chat ids start at 1)."""


class ChatFeed:
    """Per-chat wake-ups for the sockets of one process."""

    def __init__(self, poll_seconds: float = POLL_SECONDS) -> None:
        """Wake waiters on each change of their chat, or every ``poll_seconds``."""
        self.poll_seconds = poll_seconds
        self._changed: dict[int, asyncio.Event] = {}

    def notify(self, chat_id: int) -> None:
        """Chat ``chat_id`` changed: its sockets and every console read again."""
        for key in (chat_id, ANY_CHAT):
            event = self._changed.pop(key, None)
            if event is not None:
                event.set()  # its waiters are released; the next wait makes a fresh event

    async def wait(self, chat_id: int = ANY_CHAT) -> None:
        """Return after the next change of ``chat_id`` (any chat: the default), or a poll."""
        changed = self._changed.setdefault(chat_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), self.poll_seconds)
