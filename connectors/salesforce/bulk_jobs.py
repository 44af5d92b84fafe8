"""Waiting for a Bulk API 2.0 job, ingest or query: polled until ``JobComplete``, a failed
job raised as :class:`ConnectorError`, a job past its timeout aborted (``PATCH`` state
``Aborted``) and raised as :class:`ServiceUnavailable` so the run retries later."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from mapping.errors import ConnectorError, ServiceUnavailable

__all__ = ["poll_job"]

_FAILED = frozenset({"Failed", "Aborted"})


def poll_job(
    call: Callable[..., Any],
    sleep: Callable[[float], None],
    where: str,
    path: str,
    *,
    label: str,
    poll_seconds: float,
    timeout_seconds: float,
    first_poll: float,
    failed: Callable[[str, dict[str, Any]], str],
) -> None:
    """Poll ``GET path`` (``call(where, method, path, **kwargs)``) every ``first_poll``
    seconds, doubling up to ``poll_seconds``; ``failed(state, info)`` words a failed job."""
    deadline = time.monotonic() + timeout_seconds
    pause = min(first_poll, poll_seconds)
    while True:
        info = call(where, "GET", path).json()
        state = info.get("state")
        if state == "JobComplete":
            return
        if state in _FAILED:
            raise ConnectorError(failed(state, info))
        if time.monotonic() > deadline:
            call(where, "PATCH", path, json={"state": "Aborted"})
            raise ServiceUnavailable(
                f"{where}: {label} still {state} after {timeout_seconds:g}s; aborted it, the "
                "run will retry (raise bulk_timeout_seconds if jobs are slow)"
            )
        sleep(pause)
        pause = min(pause * 2, poll_seconds)
