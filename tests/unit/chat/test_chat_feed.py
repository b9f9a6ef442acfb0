"""The chat feed wakes the sockets of the chat that changed (and the consoles), no others."""

from __future__ import annotations

import asyncio

from chat.feed import ChatFeed

POLL = 5.0  # far longer than the test waits: a waiter that returns was woken


async def test_a_change_wakes_its_chat_and_the_consoles_but_not_other_chats() -> None:
    feed = ChatFeed(poll_seconds=POLL)
    own = asyncio.create_task(feed.wait(5))
    console = asyncio.create_task(feed.wait())
    other = asyncio.create_task(feed.wait(6))
    await asyncio.sleep(0)
    feed.notify(5)
    done, pending = await asyncio.wait({own, console, other}, timeout=0.5)
    assert done == {own, console}
    assert pending == {other}
    feed.notify(6)
    await asyncio.wait_for(other, 0.5)


async def test_a_waiter_after_a_change_waits_for_the_next_one() -> None:
    feed = ChatFeed(poll_seconds=POLL)
    feed.notify(5)  # nobody waiting: nothing is remembered
    late = asyncio.create_task(feed.wait(5))
    done, _ = await asyncio.wait({late}, timeout=0.2)
    assert not done
    feed.notify(5)
    await asyncio.wait_for(late, 0.5)


async def test_without_changes_a_waiter_returns_after_the_poll_interval() -> None:
    feed = ChatFeed(poll_seconds=0.05)
    await asyncio.wait_for(feed.wait(7), 1.0)
    await asyncio.wait_for(feed.wait(), 1.0)
