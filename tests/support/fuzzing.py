"""Hypothesis for the fuzz tests: pinned profiles, and examples run beside the app's event loop.

Profiles (chosen with ``HYPOTHESIS_PROFILE``; ``make fuzz`` sets ``fuzz``):

- ``ci`` (the default, run by ``make test``): ``CI_EXAMPLES`` examples per test, so the whole
  fuzz folder stays well under two minutes on both databases.
- ``fuzz``: ``FUZZ_EXAMPLES`` per test, for a deliberate run before a release.

Both are derandomized (the seed is derived from each test, so every run draws the same
examples) and keep no example database between runs. The app's state carries over from case
to case (calls advance, chats close), so a failure is reported with the case that showed it
and the log lines it wrote; a shrunk case may need the cases before it to fail again.

One app serves every example of a test: Hypothesis runs its examples in a worker thread and
hands each request to the test's event loop, where the app keeps running between examples.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any, Final, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis.strategies import SearchStrategy

PROFILE_VARIABLE: Final = "HYPOTHESIS_PROFILE"
CI_EXAMPLES: Final = 200
"""Per test (one family on one database): 1-9 s each; measured on 2 cores, the whole folder
runs in 40-60 s on both databases."""
FUZZ_EXAMPLES: Final = 5000
"""Per test: issue 10's acceptance asks for at least 5,000 cases per route family (the folder
takes about 10 minutes)."""
EXAMPLE_TIMEOUT_SECONDS: Final = 30.0
"""One example's requests; a hung request fails the example instead of the whole run."""

settings.register_profile(
    "ci",
    max_examples=CI_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,  # a request's time depends on the machine, not on the example
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile("fuzz", settings.get_profile("ci"), max_examples=FUZZ_EXAMPLES)

T = TypeVar("T")


def load_profile() -> str:
    """Load the profile ``HYPOTHESIS_PROFILE`` names (``ci`` by default); its name."""
    name = os.environ.get(PROFILE_VARIABLE, "ci")
    settings.load_profile(name)
    return name


class LoopBridge:
    """Runs coroutines on the test's event loop from Hypothesis's worker thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def __call__(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(EXAMPLE_TIMEOUT_SECONDS)


async def run_examples(
    examples: Callable[..., None], **strategies: Callable[[], SearchStrategy[Any]]
) -> None:
    """Run ``examples`` under ``@given`` off the loop, which keeps serving the app meanwhile.

    Args:
        examples: The test of one case, taking the drawn values by name.
        strategies: For each argument, a function building its strategy. They are built in
            the worker thread: Hypothesis reads test sources from disk to describe a strategy's
            lambdas, which must not happen on the event loop.

    """

    def run() -> None:
        given(**{name: build() for name, build in strategies.items()})(examples)()

    await asyncio.to_thread(run)


class LogWatch:
    """Fails an example after which anything logged an error with a traceback."""

    def __init__(self, records: list[logging.LogRecord]) -> None:
        self._records = records
        self._seen = len(records)

    def check(self, case: object) -> None:
        """Assert nothing logged a traceback since the last check."""
        new = self._records[self._seen :]
        self._seen += len(new)
        traced = [
            r for r in new if r.levelno >= logging.ERROR and r.exc_info and not _known_noise(r)
        ]
        assert not traced, f"{case!r} logged {len(traced)} traceback(s): " + "; ".join(
            f"{r.name}: {r.getMessage()[:300]}" for r in traced
        )


ASYNCPG_CANCELLED_CONNECT: Final = "unexpected connection_lost() call"
"""asyncpg's message when a connection attempt is cancelled during its SSL negotiation (a
socket closed while its follower waited for a new pooled connection): asyncpg leaves the
negotiation's future unretrieved and asyncio logs it. Nothing of ours failed; see issue 10."""


def _known_noise(record: logging.LogRecord) -> bool:
    error = record.exc_info[1] if record.exc_info else None
    return (
        record.name == "asyncio"
        and isinstance(error, ConnectionError)
        and str(error) == ASYNCPG_CANCELLED_CONNECT
    )


class Tally:
    """How many examples got which answer, printed with the test's output."""

    def __init__(self, family: str, database: str) -> None:
        self.family = f"{family} [{database}]"
        self.answers: Counter[str] = Counter()

    def count(self, answer: object) -> None:
        """Count one example's answer."""
        self.answers[str(answer)] += 1

    def report(self) -> str:
        """One line (the family, the cases run and their answers), kept for the run's summary."""
        total = sum(self.answers.values())
        shown = ", ".join(f"{k}: {v}" for k, v in sorted(self.answers.items()))
        line = f"{self.family}: {total} cases ({shown})"
        REPORTS.append(line)
        return line


REPORTS: Final[list[str]] = []
"""Every tally of the session, printed at its end (printing on the event loop would block)."""
