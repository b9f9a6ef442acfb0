"""Each instance's durable local journal of the writes the database could not take.

While the history database cannot be reached (PostgreSQL restarting, SQLite locked), a write
that must not be lost — a status callback, a history note, an inbound text, a call answered
during the outage — is appended to a local SQLite file (``synchronous=FULL``: on disk before the
webhook is answered) and replayed, in order, once the database answers again. Each kind of
write has one handler, registered by the application; the same handler serves the direct write
and the replay, and every handler is idempotent (the history's event keys), so an entry replayed
twice after a crash between its replay and its removal changes nothing more.

Order: while anything is journaled, new writes of a journaled kind are journaled too, behind
it, instead of overtaking it (a status callback must not reach the database before the call it
ends). The replayer drains the journal a batch at a time off the webhooks' path.

An entry whose handler fails for another reason than the database (a bug, a value the current
code refuses) is set aside in the same file, never deleted, and counted in readiness.

Each instance writes its own file (``journal-<instance>.sqlite3``) and holds an exclusive lock
on it while it runs. On start an instance adopts the files of instances that are gone (no lock
held), so a restarted instance replays what its predecessor journaled.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import re
import sqlite3
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Final, ParamSpec, TextIO, TypeVar

from history.db import HistoryUnavailableError

log = logging.getLogger(__name__)

SUFFIX: Final = ".sqlite3"
PREFIX: Final = "journal-"
# Entries replayed per read of the file: a batch is a few milliseconds of database work, so the
# replayer yields to webhooks often while still draining thousands of entries per second.
REPLAY_BATCH: Final = 100
# How often the replayer looks for work while something is journaled, and how often it probes
# a database that refused the last replay (seconds): short against Twilio's retries and a
# supervisor's patience, long against a database that is coming back up.
REPLAY_INTERVAL_SECONDS: Final = 0.5

_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_.-]")

P = ParamSpec("P")
T = TypeVar("T")
Handler = Callable[[Mapping[str, Any]], Awaitable[object]]


@dataclass(frozen=True)
class Entry:
    """One journaled write: what kind, its data, and when it was journaled."""

    id: int
    kind: str
    payload: dict[str, Any]
    at: datetime


class JournalError(RuntimeError):
    """The journal itself cannot be written (disk full, directory not writable)."""


class Journal:
    """An append-only local file of writes, replayed in order by :class:`JournalReplayer`.

    Every method runs its file work on one dedicated thread; the event loop never blocks.
    """

    def __init__(self, directory: Path, instance: str) -> None:
        """Journal into ``directory`` under this instance's name (nothing opens until open)."""
        self._directory = directory
        self._path = directory / f"{PREFIX}{_UNSAFE.sub('_', instance)}{SUFFIX}"
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal")
        self._conn: sqlite3.Connection | None = None
        self._lock: TextIO | None = None
        self._handlers: dict[str, Handler] = {}
        self._calls: Counter[tuple[str, str]] = Counter()  # (kind, CallSid) → entries
        self.depth = 0
        """Entries waiting to be replayed (kept in memory: read on every webhook)."""
        self.set_aside = 0
        """Entries whose handler failed for another reason than the database."""

    @property
    def path(self) -> Path:
        """The journal file of this instance."""
        return self._path

    def register(self, kind: str, handler: Handler) -> None:
        """Use ``handler`` for writes of ``kind``, directly and on replay (idempotent)."""
        self._handlers[kind] = handler

    def handler(self, kind: str) -> Handler:
        """The handler of ``kind``."""
        return self._handlers[kind]

    def holds(self, call_sid: str, kind: str | None = None) -> bool:
        """Whether a journaled entry (of ``kind``, or any) concerns ``call_sid``.

        A call held by the journal must not be stepped in the database before its journaled
        writes are: its webhooks are answered as during the outage until they are replayed.
        """
        if kind is not None:
            return self._calls[kind, call_sid] > 0
        return any(self._calls[k, call_sid] > 0 for k in self._handlers)

    async def open(self) -> int:
        """Create or reopen this instance's file, adopt orphaned ones; returns the depth."""
        adopted = await self._run(self._open_sync)
        if adopted:
            log.warning("journal: adopted %d entries left by stopped instances", adopted)
        if self.depth:
            log.warning("journal: %d entries to replay from %s", self.depth, self._path)
        return self.depth

    async def close(self) -> None:
        """Close the file and release its lock (entries stay for the next start)."""
        await self._run(self._close_sync)
        await asyncio.to_thread(self._thread.shutdown, wait=True)

    async def submit(self, kind: str, payload: Mapping[str, Any]) -> object | None:
        """Write now through the kind's handler, or journal it when that cannot be done now.

        Returns:
            What the handler returned, or None when the write was journaled.

        Raises:
            JournalError: The database refused and the journal could not be written either.

        """
        if self.depth == 0:
            try:
                return await self._handlers[kind](payload)
            except HistoryUnavailableError as err:
                log.warning("journal: database unavailable, journaling %s: %s", kind, err)
        await self.append(kind, payload)
        return None

    async def append(self, kind: str, payload: Mapping[str, Any]) -> int:
        """Journal one write (on disk when this returns); returns its entry id.

        Raises:
            JournalError: The file could not be written (disk full, not writable).

        """
        if kind not in self._handlers:
            raise ValueError(f"no journal handler for {kind!r}")
        text = json.dumps(dict(payload), ensure_ascii=False, sort_keys=True)
        at = datetime.now(UTC).isoformat()
        entry_id = await self._run(self._append_sync, kind, text, at)
        self._count(kind, payload, +1)
        return entry_id

    async def pending(self, limit: int = REPLAY_BATCH) -> list[Entry]:
        """The oldest entries waiting for replay, in journal order."""
        return await self._run(self._pending_sync, limit)

    async def done(self, entry: Entry) -> None:
        """The entry reached the database: remove it."""
        await self._run(self._remove_sync, entry.id, None)
        self._forget(entry)

    async def put_aside(self, entry: Entry, reason: str) -> None:
        """The entry's handler failed for good: keep it aside (never deleted) and go on."""
        await self._run(self._remove_sync, entry.id, reason)
        self._forget(entry)
        self.set_aside += 1

    def _forget(self, entry: Entry) -> None:
        self._count(entry.kind, entry.payload, -1)

    def _count(self, kind: str, payload: Mapping[str, Any], change: int) -> None:
        self.depth += change
        call_sid = payload.get("call_sid")
        if isinstance(call_sid, str):
            self._calls[kind, call_sid] += change
            if self._calls[kind, call_sid] <= 0:
                del self._calls[kind, call_sid]

    async def _run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        job = partial(fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._thread, job)

    # --- on the journal's thread -------------------------------------------------------------

    def _open_sync(self) -> int:
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            self._lock = _locked(self._path)
            if self._lock is None:
                raise JournalError(f"journal {self._path} is in use by another process")
            self._conn = _connect(self._path)
        except (OSError, sqlite3.Error) as err:
            raise JournalError(f"cannot open the journal in {self._directory}: {err}") from err
        adopted = sum(self._adopt_sync(other) for other in self._orphans())
        for kind, payload_text in self._conn.execute("SELECT kind, payload FROM entries"):
            self._count(kind, json.loads(payload_text), +1)
        (self.set_aside,) = self._conn.execute("SELECT count(*) FROM set_aside").fetchone()
        return adopted

    def _orphans(self) -> list[Path]:
        return sorted(p for p in self._directory.glob(f"{PREFIX}*{SUFFIX}") if p != self._path)

    def _adopt_sync(self, other: Path) -> int:
        lock = _locked(other)
        if lock is None:
            return 0  # a running instance's journal: it replays its own
        conn = self._conn
        assert conn is not None
        try:
            source = _connect(other)
            try:
                rows = source.execute(
                    "SELECT kind, payload, at FROM entries ORDER BY id"
                ).fetchall()
                aside = source.execute(
                    "SELECT kind, payload, at, reason FROM set_aside ORDER BY id"
                ).fetchall()
            finally:
                source.close()
            with conn:
                conn.executemany("INSERT INTO entries (kind, payload, at) VALUES (?, ?, ?)", rows)
                conn.executemany(
                    "INSERT INTO set_aside (kind, payload, at, reason) VALUES (?, ?, ?, ?)", aside
                )
            for suffix in ("", "-wal", "-shm"):
                Path(f"{other}{suffix}").unlink(missing_ok=True)
            return len(rows)
        finally:
            Path(f"{other}.lock").unlink(missing_ok=True)
            lock.close()

    def _append_sync(self, kind: str, payload: str, at: str) -> int:
        conn = self._conn
        if conn is None:
            raise JournalError("the journal is not open")
        try:
            with conn:
                cursor = conn.execute(
                    "INSERT INTO entries (kind, payload, at) VALUES (?, ?, ?)", (kind, payload, at)
                )
        except sqlite3.Error as err:
            raise JournalError(f"cannot write the journal {self._path}: {err}") from err
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def _pending_sync(self, limit: int) -> list[Entry]:
        conn = self._conn
        if conn is None:
            return []
        rows = conn.execute(
            "SELECT id, kind, payload, at FROM entries ORDER BY id LIMIT ?", (limit,)
        ).fetchall()
        return [
            Entry(row_id, kind, json.loads(payload), datetime.fromisoformat(at))
            for row_id, kind, payload, at in rows
        ]

    def _remove_sync(self, entry_id: int, aside_reason: str | None) -> None:
        conn = self._conn
        assert conn is not None
        with conn:
            if aside_reason is not None:
                conn.execute(
                    "INSERT INTO set_aside (kind, payload, at, reason) "
                    "SELECT kind, payload, at, ? FROM entries WHERE id = ?",
                    (aside_reason, entry_id),
                )
            conn.execute("DELETE FROM entries WHERE id = ?", (entry_id,))

    def _close_sync(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None


class JournalReplayer:
    """Drains a journal into the database in order, whenever the database answers."""

    def __init__(
        self,
        journal: Journal,
        probe: Callable[[], Awaitable[None]],
        *,
        interval_seconds: float = REPLAY_INTERVAL_SECONDS,
    ) -> None:
        """Replay ``journal`` once ``probe`` (a cheap database round trip) succeeds."""
        self._journal = journal
        self._probe = probe
        self._interval = interval_seconds
        self.replayed = 0
        """Entries replayed since start."""

    async def run(self) -> None:
        """Replay whenever there is something to replay, until cancelled."""
        while True:
            if self._journal.depth:
                await self.drain()
            await asyncio.sleep(self._interval)

    async def drain(self) -> int:
        """Replay what the journal holds, in order, while the database answers.

        Returns:
            How many entries reached the database.

        """
        try:
            await self._probe()
        except HistoryUnavailableError:
            return 0
        before = self.replayed
        while batch := await self._journal.pending():
            for entry in batch:
                if not await self._replay(entry):
                    return self.replayed - before
            await asyncio.sleep(0)  # let webhooks in between batches
        if self.replayed > before:
            log.info("journal: replayed %d entries; empty now", self.replayed - before)
        return self.replayed - before

    async def _replay(self, entry: Entry) -> bool:
        try:
            await self._journal.handler(entry.kind)(entry.payload)
        except HistoryUnavailableError as err:
            log.warning("journal: database unavailable again, replay paused: %s", err)
            return False
        except Exception as err:  # one bad entry must not block every later one
            log.exception(
                "journal: entry %d (%s) cannot be replayed; set aside", entry.id, entry.kind
            )
            await self._journal.put_aside(entry, f"{type(err).__name__}: {err}")
            return True
        await self._journal.done(entry)
        self.replayed += 1
        return True


def _locked(path: Path) -> TextIO | None:
    """An exclusive lock on ``path``'s lock file, or None when another process holds it."""
    lock = open(f"{path}.lock", "a")  # noqa: SIM115 - held open for the process's life
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        return None
    os.set_inheritable(lock.fileno(), False)
    return lock


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level="DEFERRED")
    # FULL: each append is on disk (WAL fsynced) before the webhook that journaled it answers.
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS entries (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "kind TEXT NOT NULL, payload TEXT NOT NULL, at TEXT NOT NULL)"
    )
    conn.execute(
        "CREATE TABLE IF NOT EXISTS set_aside (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "kind TEXT NOT NULL, payload TEXT NOT NULL, at TEXT NOT NULL, reason TEXT NOT NULL)"
    )
    conn.commit()
    return conn
