"""The client-side limiter, on a fake clock (no waiting)."""

from __future__ import annotations

from hubspot_support import FakeSleep

from connectors.hubspot.ratelimit import BURST, SEARCH, RateLimiter


def _limiter(budget: int = 10, search: int = 4) -> tuple[RateLimiter, FakeSleep]:
    sleep = FakeSleep()
    limiter = RateLimiter(
        ten_second_budget=budget, search_per_second=search, clock=sleep.clock, sleep=sleep
    )
    return limiter, sleep


def test_calls_within_the_budget_do_not_wait() -> None:
    limiter, sleep = _limiter(budget=10)
    for _ in range(10):
        limiter.acquire(BURST)
    assert sleep.waits == []


def test_the_call_past_the_budget_waits_for_the_window_to_roll() -> None:
    limiter, sleep = _limiter(budget=10)
    for _ in range(11):
        limiter.acquire(BURST)
    assert len(sleep.waits) == 1 and 9.9 < sum(sleep.waits) <= 10.01


def test_steady_traffic_stays_under_the_budget_in_every_window() -> None:
    limiter, sleep = _limiter(budget=100)
    stamps = []
    for _ in range(450):
        limiter.acquire(BURST)
        stamps.append(sleep.now)
    for i, start in enumerate(stamps):
        in_window = [t for t in stamps[i:] if t < start + 10.0]
        assert len(in_window) <= 100


def test_search_has_its_own_per_second_bucket_and_skips_the_burst_window() -> None:
    limiter, sleep = _limiter(budget=2, search=4)
    for _ in range(4):
        limiter.acquire(SEARCH)
    assert sleep.waits == []
    limiter.acquire(SEARCH)
    assert 0.9 < sum(sleep.waits) <= 1.01


def test_headers_lower_the_budget_to_the_account_limit_and_its_interval() -> None:
    limiter, sleep = _limiter(budget=190)
    limiter.observe(
        {
            "X-HubSpot-RateLimit-Max": "5",
            "X-HubSpot-RateLimit-Remaining": "4",
            "X-HubSpot-RateLimit-Interval-Milliseconds": "2000",
        }
    )
    for _ in range(6):
        limiter.acquire(BURST)
    assert 1.9 < sum(sleep.waits) <= 2.01


def test_a_nearly_spent_window_reported_by_hubspot_pauses_new_calls() -> None:
    """Failure catalogue: A1."""
    limiter, sleep = _limiter(budget=190)
    limiter.observe(
        {"X-HubSpot-RateLimit-Remaining": "1", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}
    )
    limiter.acquire(BURST)
    assert 9.9 < sum(sleep.waits) <= 10.01


def test_a_429_backoff_holds_every_bucket() -> None:
    limiter, sleep = _limiter()
    limiter.backoff(3.0)
    limiter.acquire(SEARCH)
    assert sum(sleep.waits) == 3.0


def test_an_exhausted_window_waits_only_until_our_oldest_call_rolls_out() -> None:
    limiter, sleep = _limiter(budget=100)
    limiter.acquire(BURST)  # at t=0
    sleep(4.0)
    limiter.acquire(BURST)  # at t=4: HubSpot then says nothing is left (others share it)
    limiter.observe(
        {
            "X-HubSpot-RateLimit-Remaining": "0",
            "X-HubSpot-RateLimit-Max": "100",
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        }
    )
    before = sleep.now
    limiter.acquire(BURST)
    assert sleep.now - before == 6.0  # t=10, when the call of t=0 leaves; not t=14


def test_an_exhausted_window_with_none_of_our_calls_waits_a_whole_window() -> None:
    limiter, sleep = _limiter(budget=100)
    limiter.observe({"X-HubSpot-RateLimit-Remaining": "1"})
    limiter.acquire(BURST)
    assert sum(sleep.waits) == 10.0
