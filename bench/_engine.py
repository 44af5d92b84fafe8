"""Shared by ``bench/end_to_end.py`` and ``bench/crash_consistency.py``.

- :func:`systems`: both CRM sandboxes running in this process, and a program directory
  written from the shipped templates and pointed at them (HubSpot provisioned), as
  ``refsync demo`` and ``tests/sync/conftest.py`` wire it.
- :func:`in_child`: run a function in a fresh ``spawn`` process and return its answer with
  that process's peak RSS (``VmHWM``, which starts fresh at exec) and CPU seconds. The
  sandboxes' server threads stay in this process, on the other core, so the child's figures
  are the client's alone (what a run against real Salesforce and HubSpot would cost us).
- :func:`engine_run`: the child side of one ``Engine.run(job)`` as ``refsync run`` does it,
  with the time of each engine phase, of each destination's ``connector.upsert`` and of the
  HubSpot client's rate limiter, all measured from outside the engine (a subclass that
  times the phase methods and a connector factory that times ``upsert``).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from queue import Empty
from typing import Any

from _profile import profiled

from config import write_program
from connectors.sandbox import HubSpotSandbox, SalesforceSandbox
from sync.demo import point_at_sandboxes, provision_hubspot, write_epic_export
from sync.engine import Engine, Runtime, open_program
from sync.engine.runtime import default_factory
from sync.state import StateStore

__all__ = ["JOB", "Systems", "engine_run", "in_child", "stats_delta", "systems"]

JOB = "scheduling-to-crm"


@dataclass
class Systems:
    """A program directory and the two sandboxes it points at."""

    root: Path
    sf: SalesforceSandbox
    hs: HubSpotSandbox
    env: dict[str, str]

    @property
    def exports(self) -> Path:
        return self.root / "exports" / "epic"

    def write_export(self, name: str, n: int) -> Path:
        """An Epic-style export of ``n`` referrals (REF-1040 ...), then a second's pause:
        a read's window ends at the run's start, rounded down to the second."""
        path = write_epic_export(self.exports / name, n, datetime.now(UTC))
        time.sleep(1.1)
        return path

    def fresh(self) -> None:
        """Empty both sandboxes (HubSpot provisioned again), zero their counters, drop state."""
        self.sf.reset_data()
        self.hs.reset_data()
        provision_hubspot(self.root)
        self.sf.stats.reset()
        self.hs.stats.reset()
        (self.root / "state.db").unlink(missing_ok=True)

    def counts(self) -> tuple[int, int]:
        return len(self.sf.records("Referral__c")), len(self.hs.records("deals"))


@contextmanager
def systems(ten_second_limit: int = 190) -> Iterator[Systems]:
    """Sandboxes in this process and a program directory pointed at them (temporary)."""
    with (
        tempfile.TemporaryDirectory(prefix="refsync-bench-") as tmp,
        SalesforceSandbox(daily_limit=50_000_000) as sf,
        HubSpotSandbox(ten_second_limit=ten_second_limit, daily_limit=50_000_000) as hs,
    ):
        root = Path(tmp) / "program"
        write_program(root)
        env = {k: v for k, v in os.environ.items() if k != "REFSYNC_STATE_URL"}
        point_at_sandboxes(root, sf, hs, env)
        env.setdefault("REFSYNC_PATIENT_KEY", secrets.token_hex(32))
        os.environ.pop("REFSYNC_STATE_URL", None)
        os.environ.update(env)  # spawned children inherit the sandbox tokens
        provision_hubspot(root)
        sf.stats.reset()
        hs.stats.reset()
        yield Systems(root, sf, hs, env)


def stats_delta(sandbox: Any) -> dict[str, Any]:
    """The sandbox's counters as plain data (call sites reset them before a measured run)."""
    snap = sandbox.stats.snapshot()
    return {
        "calls": dict(snap.calls),
        "total": snap.total_calls,
        "write_calls": snap.write_calls,
        "records_written": snap.records_written,
        "faults": dict(snap.faults),
    }


# -- measuring a function in a child process -------------------------------------------------


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _child(fn: Callable[..., dict[str, Any]], args: tuple[Any, ...], queue: Any) -> None:
    try:
        before = resource.getrusage(resource.RUSAGE_SELF)
        answer = profiled(getattr(fn, "__name__", "fn"), fn, *args)
        after = resource.getrusage(resource.RUSAGE_SELF)
        answer["cpu_seconds"] = (after.ru_utime + after.ru_stime) - (
            before.ru_utime + before.ru_stime
        )
        answer["peak_mb"] = _status_mb("VmHWM")  # the whole process: imports included
        queue.put(("ok", answer))
    except BaseException as exc:  # report, do not hang the parent
        queue.put(("error", f"{type(exc).__name__}: {exc}"))


def in_child(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """``fn(*args)`` (a dict) in a fresh spawned process, plus ``cpu_seconds``, ``peak_mb``
    and ``process_seconds`` (spawn to answer, interpreter start and imports included)."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    started = time.perf_counter()
    process = ctx.Process(target=_child, args=(fn, args, queue))
    process.start()
    status, answer = _answer(process, queue)
    process.join()
    if status != "ok":
        raise RuntimeError(f"{getattr(fn, '__name__', fn)} failed in the child: {answer}")
    answer["process_seconds"] = time.perf_counter() - started
    return answer


def _answer(process: Any, queue: Any) -> tuple[str, Any]:
    """The child's answer; an error if it died without one (killed, or failed at start)."""
    while True:
        try:
            return queue.get(timeout=1.0)
        except Empty:
            if not process.is_alive():
                try:
                    return queue.get(timeout=1.0)  # it may have answered just before exiting
                except Empty:
                    return "error", f"the child process exited with code {process.exitcode}"


# -- one engine run, timed from outside ------------------------------------------------------


class _Phases:
    """Wall time per named phase; ``mark`` is the engine's progress callback (phase, records).

    A sampler thread reads the process's RSS every 50 ms and keeps the largest seen in each
    phase (``peak_mb``; "other" outside them: start, bookmarks, people files)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.peak_mb: dict[str, float] = {}
        self._dest: tuple[str, float] | None = None
        self._current = "other"
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self._note_rss()

    def _note_rss(self) -> None:
        phase, rss = self._current, _status_mb("VmRSS")
        self.peak_mb[phase] = max(self.peak_mb.get(phase, 0.0), rss)

    def stop(self) -> None:
        self._stop.set()
        self._sampler.join()
        self._note_rss()

    @contextmanager
    def span(self, name: str) -> Iterator[None]:
        start, outer = time.perf_counter(), self._current
        self._note_rss()
        self._current = name
        try:
            yield
        finally:
            self._note_rss()
            self._current = outer
            self._close_dest()
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def mark(self, phase: str, _records: int) -> None:
        if phase.startswith("write ") and " to " in phase:
            dest = phase.rsplit(" to ", 1)[1]
            if self._dest is None or self._dest[0] != dest:
                self._close_dest()
                self._dest = (dest, time.perf_counter())

    def _close_dest(self) -> None:
        if self._dest is not None:
            name = f"write to {self._dest[0]}"
            spent = time.perf_counter() - self._dest[1]
            self.seconds[name] = self.seconds.get(name, 0.0) + spent
            self._dest = None


class _TimedEngine(Engine):
    """The engine unchanged; only the time spent in each of its phases is recorded, and the
    CPU seconds of each destination's write (``time.thread_time`` of the thread writing it)."""

    def __init__(self, runtime: Runtime, store: StateStore, phases: _Phases) -> None:
        super().__init__(runtime, store, progress=phases.mark)
        self.phases = phases
        self.write_cpu: dict[str, float] = {}

    def _read(self, *args: Any, **kwargs: Any) -> Any:
        with self.phases.span("read + translate + merge"):
            return super()._read(*args, **kwargs)

    def _derive(self, *args: Any, **kwargs: Any) -> Any:
        with self.phases.span("derive (qualify, rollups)"):
            return super()._derive(*args, **kwargs)

    def _write(self, *args: Any, **kwargs: Any) -> Any:
        with self.phases.span("write (all destinations)"):
            return super()._write(*args, **kwargs)

    def _write_destination(self, dest: str, *args: Any, **kwargs: Any) -> Any:
        # Each destination writes on its own thread: its thread time is its client CPU.
        start = time.thread_time()
        try:
            return profiled(f"write-{dest}", super()._write_destination, dest, *args, **kwargs)
        finally:
            self.write_cpu[dest] = self.write_cpu.get(dest, 0.0) + time.thread_time() - start


class _TimedConnector:
    """Delegates everything to the real connector; adds up the time spent in ``upsert``."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.upsert_seconds = 0.0

    def upsert(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return self._inner.upsert(*args, **kwargs)
        finally:
            self.upsert_seconds += time.perf_counter() - start

    def limiter_wait(self) -> float:
        transport = getattr(self._inner, "_transport", None)  # HubSpot only, once built
        return float(transport.limiter.waited_seconds) if transport is not None else 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def engine_run(root: str, job: str) -> dict[str, Any]:
    """Child side: ``Engine.run(job)`` for the program in ``root``, as ``refsync run`` does."""
    program = open_program(root)
    store = StateStore.open(program.state_url)
    built: dict[str, _TimedConnector] = {}

    def factory(name: str, prog: Any) -> Any:
        built[name] = _TimedConnector(default_factory(name, prog))
        return built[name]

    runtime = Runtime(program, factory=factory)
    phases = _Phases()
    start = time.perf_counter()
    engine = _TimedEngine(runtime, store, phases)
    try:
        report = engine.run(job)
        seconds = time.perf_counter() - start
        upserts = {name: c.upsert_seconds for name, c in built.items()}
        limiter = {name: c.limiter_wait() for name, c in built.items()}
    finally:
        runtime.close()
        store.close()
        phases.stop()
    return {
        "seconds": seconds,
        "status": report.status,
        "summary": report.summary(),
        "counts": report.counts(),
        "phases": phases.seconds,
        "phase_peak_mb": phases.peak_mb,
        "upsert_seconds": upserts,
        "limiter_seconds": limiter,
        "write_cpu_seconds": engine.write_cpu,
    }
