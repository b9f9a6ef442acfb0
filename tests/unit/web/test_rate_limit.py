"""Token buckets: N events a minute per key, bursts of N, bounded memory (issue 10, scope 3)."""

from __future__ import annotations

import pytest

from web.rate_limit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_the_limit_is_taken_then_the_next_waits_its_share_of_a_minute() -> None:
    clock = Clock()
    limiter = RateLimiter(30, clock=clock)
    assert [limiter.take("chat 1") for _ in range(30)] == [0.0] * 30
    assert limiter.take("chat 1") == pytest.approx(2.0)  # 30 a minute: one every 2 s
    clock.now += 1.0
    assert limiter.take("chat 1") == pytest.approx(1.0)
    clock.now += 1.0
    assert limiter.take("chat 1") == 0.0
    assert limiter.take("chat 1") == pytest.approx(2.0)


def test_a_refused_event_takes_nothing() -> None:
    clock = Clock()
    limiter = RateLimiter(1, clock=clock)
    assert limiter.take("a") == 0.0
    for _ in range(100):
        assert limiter.take("a") > 0
    clock.now += 60.0
    assert limiter.take("a") == 0.0


def test_keys_are_limited_apart_and_waiting_takes_nothing() -> None:
    limiter = RateLimiter(2, clock=Clock())
    assert limiter.take("10.0.0.1") == 0.0
    assert limiter.take("10.0.0.1") == 0.0
    assert limiter.wait("10.0.0.1") > 0
    assert limiter.wait("10.0.0.2") == 0.0
    assert limiter.wait("10.0.0.2") == 0.0
    assert limiter.take("10.0.0.2") == 0.0


def test_a_flood_of_new_keys_keeps_memory_bounded() -> None:
    clock = Clock()
    limiter = RateLimiter(1, clock=clock, max_keys=100)
    for n in range(10_000):
        limiter.take(f"new {n}")
        assert len(limiter) <= 100
    # Idle (full) buckets go first: a refilled key is as good as a new one.
    clock.now += 120.0
    limiter.take("again")
    assert len(limiter) <= 100


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RateLimiter(0)
