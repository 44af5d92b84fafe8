"""Keep Python's cyclic garbage collector off the objects a run starts with.

A run allocates millions of short-lived objects (decoded pages, records, CRM bodies), so the
collector runs often, and each of its full passes walks every object alive: the imported
modules, vendor clients and the program, which a run never frees. Measured on the end-to-end
benchmark (5,000 referrals, client CPU of the first run, three interleaved pairs, load 1.3-1.9):
5.0, 4.8 and 4.7 s without, 4.4, 4.2 and 4.3 s with them frozen (-11 %); peak RSS the same. The
run's own garbage is still collected as before.

A process that runs many jobs (``refsync schedule``) collects once before freezing and
unfreezes after each run, so nothing that dies later stays frozen forever.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["start_up_objects_frozen"]


@contextmanager
def start_up_objects_frozen() -> Iterator[None]:
    """Within the block, objects alive at its start are left out of every collection."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
