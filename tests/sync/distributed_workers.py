"""Real ``refsync worker`` processes for the distributed tests: start, wait ready, stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

from celery import Celery

__all__ = ["running_workers"]

_READY_SECONDS = 45.0
_STOP_SECONDS = 15.0


@contextmanager
def running_workers(
    app: Celery, program: Path, hostnames: list[str], env: Mapping[str, str], logs: Path
) -> Iterator[None]:
    """``python -m sync worker`` per hostname; yields once every one answers a ping.

    Each worker runs in its own process group, so teardown reaches its pool processes too:
    SIGTERM (Celery's warm shutdown), then SIGKILL of the group if it does not exit in time.
    """
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in hostnames:
            procs[name] = _start(program, name, env, logs / f"{name}.log")
        _wait_ready(app, procs, logs)
        yield
    finally:
        _stop(list(procs.values()))


def _start(
    program: Path, hostname: str, env: Mapping[str, str], log: Path
) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "sync", "worker", "--config", str(program)]
    argv += ["--hostname", hostname, "--concurrency", "1"]
    with log.open("wb") as out:
        return subprocess.Popen(
            argv, env=dict(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM all (they shut down in parallel), SIGKILL the groups of any that hang."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + _STOP_SECONDS
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=_STOP_SECONDS)
        # The pool's processes share the group; none may outlive the test.
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def _wait_ready(app: Celery, procs: Mapping[str, subprocess.Popen[bytes]], logs: Path) -> None:
    deadline = time.monotonic() + _READY_SECONDS
    answered: set[str] = set()
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            if proc.poll() is not None:
                tail = (logs / f"{name}.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"worker {name} exited with {proc.returncode}:\n{tail}")
        for reply in app.control.ping(destination=list(procs), timeout=0.5):
            answered.update(reply)
        if answered >= set(procs):
            return
    missing = sorted(set(procs) - answered)
    raise TimeoutError(f"workers {missing} did not answer a ping within {_READY_SECONDS}s")
