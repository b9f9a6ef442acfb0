"""Token buckets: at most N events a minute per key, bursts up to N, in this process only.

Each key (a client address, a chat) has a bucket of ``per_minute`` tokens refilled evenly over a
minute; an event takes one, and an empty bucket says how long until the next. The buckets live
in this process's memory: behind a load balancer each instance limits on its own, so a client
spread over N instances gets up to N times the limit (see docs/SECURITY.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from itertools import islice
from typing import Final

MonotonicClock = Callable[[], float]
"""Seconds from an arbitrary origin that never go back (``time.monotonic``)."""

MAX_KEYS: Final = 50_000
"""Buckets one limiter keeps (a few MB): a flood of new keys (addresses, links) cannot grow
memory past it. Full buckets (idle keys) are dropped first, then the oldest."""
PER_MINUTE: Final = 60.0


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Per-key token buckets of ``per_minute`` tokens."""

    def __init__(
        self,
        per_minute: int,
        *,
        clock: MonotonicClock = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        """Allow ``per_minute`` events a minute per key, in bursts of up to ``per_minute``.

        Args:
            per_minute: Events a minute (and the burst); at least 1.
            clock: The source of monotonic seconds (tests pass their own).
            max_keys: Buckets kept at most.

        """
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self._capacity = float(per_minute)
        self._rate = per_minute / PER_MINUTE
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[Hashable, _Bucket] = {}

    def __len__(self) -> int:
        """Buckets kept now."""
        return len(self._buckets)

    def wait(self, key: Hashable) -> float:
        """Seconds until ``key`` may have an event (0.0: now); takes nothing."""
        tokens = self._refilled(key)
        return 0.0 if tokens >= 1 else (1 - tokens) / self._rate

    def take(self, key: Hashable) -> float:
        """Take one event for ``key`` if it may have one.

        Returns:
            0.0 when taken; otherwise the seconds until one may be (nothing is taken).

        """
        waited = self.wait(key)
        if waited == 0.0:
            bucket = self._buckets.get(key)
            if bucket is None:
                self._make_room()
                bucket = self._buckets[key] = _Bucket(self._capacity, self._clock())
            bucket.tokens -= 1
        return waited

    def _refilled(self, key: Hashable) -> float:
        bucket = self._buckets.get(key)
        if bucket is None:
            return self._capacity
        now = self._clock()
        bucket.tokens = min(self._capacity, bucket.tokens + (now - bucket.at) * self._rate)
        bucket.at = now
        return bucket.tokens

    def _make_room(self) -> None:
        """Drop idle buckets, then the oldest, down to 90 %: a sweep every 10 % of new keys."""
        if len(self._buckets) < self._max_keys:
            return
        now = self._clock()
        idle = [
            key
            for key, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.at) * self._rate >= self._capacity
        ]
        for key in idle:
            del self._buckets[key]
        excess = len(self._buckets) - self._max_keys * 9 // 10
        for key in list(islice(self._buckets, max(0, excess))):
            del self._buckets[key]
