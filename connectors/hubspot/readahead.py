"""Cursor-paged reads fetched ahead of the consumer, one call after the other, on one thread.

A cursor-paged API (HubSpot's list API) cannot be read in parallel: page k+1's cursor is in
page k. What can overlap is the caller's work on earlier pages (translation, association
reads) and the server's work on the next ones. So one thread fetches page after page into a
bounded queue, up to ``ahead`` pages before the consumer: the calls are exactly those of a
plain page-after-page loop, never two at once; if the consumer stops early, at most ``ahead``
pages were fetched and not used. An error of a fetch reaches the consumer after the pages
fetched before it, where a plain loop would have raised it.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["read_ahead"]

P = TypeVar("P")
C = TypeVar("C")

_POLL_S = 0.05  # how often a producer blocked on a full queue checks that the reader is gone


@dataclass(frozen=True)
class _Failed:
    error: BaseException


@dataclass
class _Producer(Generic[P, C]):
    fetch: Callable[[C | None], tuple[P, C | None]]
    pages: queue.Queue[tuple[P, C | None] | _Failed]
    stop: threading.Event

    def run(self, cursor: C | None) -> None:
        try:
            while not self.stop.is_set():
                page = self.fetch(cursor)
                if not self._offer(page) or page[1] is None:
                    return
                cursor = page[1]
        except BaseException as exc:  # handed to the consumer, raised there
            self._offer(_Failed(exc))

    def _offer(self, item: tuple[P, C | None] | _Failed) -> bool:
        while not self.stop.is_set():
            with contextlib.suppress(queue.Full):
                self.pages.put(item, timeout=_POLL_S)
                return True
        return False


def read_ahead(
    fetch: Callable[[C | None], tuple[P, C | None]],
    first: C | None,
    ahead: int,
    name: str = "read-ahead",
) -> Generator[tuple[P, C | None], None, None]:
    """Yield ``(page, cursor after it)`` from ``fetch(cursor)``, starting at ``first``, until a
    page whose next cursor is None; pages are fetched up to ``ahead`` before they are used.

    Close the iterator (``contextlib.closing``) when leaving early: that stops the fetching
    thread, after the call it may have in flight."""
    producer: _Producer[P, C] = _Producer(
        fetch, queue.Queue(maxsize=max(1, ahead)), threading.Event()
    )
    thread = threading.Thread(target=producer.run, args=(first,), name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = producer.pages.get()
            if isinstance(item, _Failed):
                raise item.error
            yield item
            if item[1] is None:
                return
    finally:
        producer.stop.set()
        thread.join()
