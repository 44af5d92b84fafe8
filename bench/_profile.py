"""One function under cProfile in a benchmark's child, when ``REFSYNC_BENCH_PROFILE`` is set.

Every bench child (an engine run, a reader, a write thread) calls :func:`profiled`; with
``REFSYNC_BENCH_PROFILE=<folder>`` each dumps ``<name>-<pid>.prof`` there, for
``python -m pstats`` or snakeviz. cProfile sees the thread it runs on only, so a write thread
is profiled on its own. Standard library only: dlt's own venv imports it too.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["profiled"]

T = TypeVar("T")


def profiled(name: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``, under cProfile when ``REFSYNC_BENCH_PROFILE`` names a folder."""
    folder = os.environ.get("REFSYNC_BENCH_PROFILE")
    if not folder:
        return fn(*args, **kwargs)
    import cProfile

    profile = cProfile.Profile()
    try:
        return profile.runcall(fn, *args, **kwargs)
    finally:
        Path(folder).mkdir(parents=True, exist_ok=True)
        profile.dump_stats(Path(folder) / f"{name}-{os.getpid()}.prof")
