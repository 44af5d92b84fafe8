"""read_ahead: cursor pages fetched ahead of the consumer, one call at a time, none lost."""

from __future__ import annotations

import contextlib
import threading

import pytest

from connectors.hubspot.readahead import read_ahead

_WAIT_S = 10  # a bound for a broken implementation, never a measured time


class _Pages:
    """A cursor API of ``total`` pages that records how it is called."""

    def __init__(self, total: int, fail_at: int | None = None) -> None:
        self.total = total
        self.fail_at = fail_at
        self.cursors: list[int | None] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.consumed = 0
        self.most_ahead = 0
        self._lock = threading.Lock()
        self.fetched = threading.Condition(self._lock)

    def fetch(self, cursor: int | None) -> tuple[str, int | None]:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.most_ahead = max(self.most_ahead, len(self.cursors) - self.consumed)
        index = cursor or 0
        try:
            if index == self.fail_at:
                raise ConnectionError(f"page {index} failed")
            following = index + 1 if index + 1 < self.total else None
            return f"page {index}", following
        finally:
            with self.fetched:
                self.in_flight -= 1
                self.cursors.append(cursor)
                self.fetched.notify_all()

    def wait_for(self, calls: int) -> bool:
        with self.fetched:
            return self.fetched.wait_for(lambda: len(self.cursors) >= calls, timeout=_WAIT_S)


def test_pages_arrive_in_order_with_the_calls_of_a_plain_loop() -> None:
    api = _Pages(25)
    pages = list(read_ahead(api.fetch, None, ahead=4))
    assert [p for p, _ in pages] == [f"page {i}" for i in range(25)]
    assert [c for _, c in pages] == [*range(1, 25), None]
    assert api.cursors == [None, *range(1, 25)]
    assert api.most_in_flight == 1


def test_a_resumed_read_starts_at_the_given_cursor() -> None:
    api = _Pages(5)
    assert [p for p, _ in read_ahead(api.fetch, 3, ahead=2)] == ["page 3", "page 4"]


def test_pages_are_fetched_while_the_consumer_holds_an_earlier_one() -> None:
    api = _Pages(30)
    pages = read_ahead(api.fetch, None, ahead=5)
    with contextlib.closing(pages):
        next(pages)  # the consumer now works on page 0 and asks for nothing
        assert api.wait_for(6), "the next pages were not fetched ahead"
        rest = list(pages)
    assert len(rest) == 29


def test_fetching_runs_at_most_ahead_pages_before_the_consumer() -> None:
    api = _Pages(40)
    pages = read_ahead(api.fetch, None, ahead=3)
    with contextlib.closing(pages):
        for _ in pages:
            api.wait_for(min(40, api.consumed + 4))  # let the producer run as far as it may
            api.consumed += 1
    # the queue holds 3 pages and the producer one more in hand
    assert api.most_ahead <= 3 + 1


def test_an_error_reaches_the_consumer_after_the_pages_before_it() -> None:
    api = _Pages(10, fail_at=4)
    seen = []
    with pytest.raises(ConnectionError, match="page 4 failed"):
        for page, _ in read_ahead(api.fetch, None, ahead=8):
            seen.append(page)
    assert seen == ["page 0", "page 1", "page 2", "page 3"]
    assert api.cursors == [None, 1, 2, 3, 4]  # nothing fetched after the failure


def test_leaving_early_stops_the_fetching_thread() -> None:
    api = _Pages(1000)
    pages = read_ahead(api.fetch, None, ahead=2, name="test-read-ahead")
    with contextlib.closing(pages):
        next(pages)
        next(pages)
    assert not any(t.name == "test-read-ahead" for t in threading.enumerate())
    assert len(api.cursors) <= 2 + 2 + 1


def test_an_empty_listing_is_one_call_and_one_page() -> None:
    api = _Pages(1)
    assert list(read_ahead(api.fetch, None, ahead=10)) == [("page 0", None)]
    assert api.cursors == [None]
