"""The chat feed wakes the sockets of the chat that changed (and the consoles), no others."""

from __future__ import annotations

import asyncio
import gc

from chat.feed import ChatFeed

POLL = 5.0  # far longer than the tests wait: a waiter that returns was woken


async def test_a_change_wakes_its_chat_and_the_consoles_but_not_other_chats() -> None:
    feed = ChatFeed(poll_seconds=POLL)
    own, console, other = feed.watch(5), feed.watch(), feed.watch(6)
    waits = {
        name: asyncio.create_task(feed.wait(event))
        for name, event in {"own": own, "console": console, "other": other}.items()
    }
    await asyncio.sleep(0)
    feed.notify(5)
    done, pending = await asyncio.wait(set(waits.values()), timeout=0.5)
    assert done == {waits["own"], waits["console"]}
    assert pending == {waits["other"]}
    feed.notify(6)
    await asyncio.wait_for(waits["other"], 0.5)


async def test_a_change_while_the_follower_reads_is_not_lost() -> None:
    feed = ChatFeed(poll_seconds=POLL)
    changed = feed.watch(5)  # taken before reading
    feed.notify(5)  # a message arrives while the follower reads
    await asyncio.wait_for(feed.wait(changed), 0.5)  # returns at once, not after the poll
    later = feed.watch(5)
    assert later is not changed and not later.is_set()


async def test_without_changes_a_waiter_returns_after_the_poll_interval() -> None:
    feed = ChatFeed(poll_seconds=0.2)
    changed = feed.watch(7)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.wait_for(feed.wait(changed), 2.0)
    waited = loop.time() - started
    assert waited >= 0.19  # the poll, not a wake-up
    assert not changed.is_set()


async def test_nothing_is_kept_for_chats_nobody_watches() -> None:
    feed = ChatFeed(poll_seconds=POLL)
    for chat_id in range(1, 1001):
        feed.watch(chat_id)
    gc.collect()
    held = feed.watch(1)
    gc.collect()
    assert dict(feed._changed) == {1: held}
