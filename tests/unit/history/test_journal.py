"""The local journal: durable across reopening, replayed in order, idempotent, never dropping."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from history.db import HistoryUnavailableError
from history.journal import Journal, JournalReplayer


class Sink:
    """A handler standing in for the database: it fails while ``down``."""

    def __init__(self) -> None:
        self.down = False
        self.written: list[int] = []

    async def __call__(self, entry: Mapping[str, Any]) -> int:
        if self.down:
            raise HistoryUnavailableError("down")
        if entry["n"] < 0:
            raise ValueError("a value the code refuses")
        self.written.append(entry["n"])
        return entry["n"]


async def _up() -> None:
    return None


async def _open(directory: Path, sink: Sink, instance: str = "one") -> Journal:
    journal = Journal(directory, instance)
    journal.register("write", sink)
    await journal.open()
    return journal


async def test_a_write_goes_straight_through_while_the_database_answers(tmp_path: Path) -> None:
    sink = Sink()
    journal = await _open(tmp_path, sink)
    assert await journal.submit("write", {"n": 1}) == 1
    assert journal.depth == 0 and sink.written == [1]
    await journal.close()


async def test_writes_wait_in_order_behind_the_first_journaled_one(tmp_path: Path) -> None:
    sink = Sink()
    journal = await _open(tmp_path, sink)
    sink.down = True
    assert await journal.submit("write", {"n": 1, "call_sid": "CA1"}) is None
    sink.down = False
    # The database answers again, but the next write must not overtake the journaled one.
    assert await journal.submit("write", {"n": 2}) is None
    assert journal.holds("CA1") and journal.holds("CA1", "write") and not journal.holds("CA2")
    assert await JournalReplayer(journal, _up).drain() == 2
    assert sink.written == [1, 2] and journal.depth == 0 and not journal.holds("CA1")
    await journal.close()


async def test_entries_survive_a_restart_and_a_dead_instances_are_adopted(tmp_path: Path) -> None:
    sink = Sink()
    sink.down = True
    dead = await _open(tmp_path, sink, "dead")
    await dead.submit("write", {"n": 1})
    await dead.close()
    mine = await _open(tmp_path, sink, "mine")
    await mine.submit("write", {"n": 2})
    await mine.close()

    sink.down = False
    again = await _open(tmp_path, sink, "mine")
    assert again.depth == 2
    await JournalReplayer(again, _up).drain()
    assert sorted(sink.written) == [1, 2]
    await again.close()


async def test_replay_pauses_while_the_database_is_down(tmp_path: Path) -> None:
    sink = Sink()
    journal = await _open(tmp_path, sink)
    await journal.append("write", {"n": 1})

    async def down() -> None:
        raise HistoryUnavailableError("still down")

    assert await JournalReplayer(journal, down).drain() == 0
    sink.down = True
    assert await JournalReplayer(journal, _up).drain() == 0
    assert journal.depth == 1
    await journal.close()


async def test_an_entry_the_code_refuses_is_set_aside_not_lost(tmp_path: Path) -> None:
    sink = Sink()
    journal = await _open(tmp_path, sink)
    await journal.append("write", {"n": -1})
    await journal.append("write", {"n": 3})
    assert await JournalReplayer(journal, _up).drain() == 1
    assert sink.written == [3] and journal.set_aside == 1 and journal.depth == 0
    await journal.close()
    reopened = await _open(tmp_path, sink)
    assert reopened.set_aside == 1
    await reopened.close()
