"""A run keeps the collector off its start-up objects and leaves the process as it found it."""

from __future__ import annotations

import gc
import weakref

from sync.engine.gcfreeze import start_up_objects_frozen


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def test_objects_alive_at_the_start_are_frozen_only_within_the_block():
    assert gc.get_freeze_count() == 0
    with start_up_objects_frozen():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_garbage_made_within_the_block_is_still_collected_and_nothing_stays_frozen_after():
    with start_up_objects_frozen():
        node = _Node()
        gone = weakref.ref(node)
        del node
        gc.collect()
        assert gone() is None
    before = _Node()  # alive at the start of the next block, dead within it
    kept = weakref.ref(before)
    with start_up_objects_frozen():
        del before
        gc.collect()
        assert kept() is not None  # frozen: left out of collections in the block
    gc.collect()
    assert kept() is None  # unfrozen afterwards: a scheduler process does not leak it
