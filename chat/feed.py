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
from weakref import WeakValueDictionary

POLL_SECONDS: Final = 1.0
"""Longest delay for a change made by another instance to show."""
ANY_CHAT: Final = 0
"""What the agents' consoles wait on: every chat's changes (chat ids start at 1)."""


class ChatFeed:
    """Per-chat wake-ups for the sockets of one process.

    A follower takes its chat's event with :meth:`watch` *before* it reads, then waits on it:
    a change made while it was reading has already set that event, so no wake-up is lost.
    Events live only while some follower holds them (a weak mapping): nothing is kept for
    chats nobody watches.
    """

    def __init__(self, poll_seconds: float = POLL_SECONDS) -> None:
        """Wake waiters on each change of their chat, or every ``poll_seconds``."""
        self.poll_seconds = poll_seconds
        self._changed: WeakValueDictionary[int, asyncio.Event] = WeakValueDictionary()

    def watch(self, chat_id: int = ANY_CHAT) -> asyncio.Event:
        """The event the next change of ``chat_id`` (any chat: the default) will set."""
        event = self._changed.get(chat_id)
        if event is None:
            event = asyncio.Event()
            self._changed[chat_id] = event
        return event

    def notify(self, chat_id: int) -> None:
        """Chat ``chat_id`` changed: its sockets and every console read again."""
        for key in (chat_id, ANY_CHAT):
            event = self._changed.pop(key, None)
            if event is not None:
                event.set()  # its holders are released; their next watch makes a fresh one

    async def wait(self, changed: asyncio.Event) -> None:
        """Return once ``changed`` (from :meth:`watch`) is set, or after the poll interval."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), self.poll_seconds)
