"""Child side of ``bench/change_cost.py``: one ``Engine.run(job)`` of a program, as ``refsync
run`` does it, with what it cost the client.

Run: ``python bench/_change_child.py ROOT JOB OUT.json`` with ``PYTHONPATH`` set to the
checkout whose code is measured (``change_cost.py --code before=<commit>`` points it at
another checkout). This file imports only what every version of the engine has
(``open_program``, ``Runtime``, ``Engine``, ``StateStore``), so one measuring script serves
both sides. It writes a JSON object:

- ``cpu_seconds``: user + system CPU of ``Engine.run`` (this process only; the sandboxes
  serve from the parent), ``system_seconds``: the system part of it (reads of the state
  file's pages from the OS cache are system time), ``seconds``: its wall time;
- ``statements``: SQL statements sent to the state store; ``rows_read``: rows fetched back;
- ``decrypts``: sealed PHI tokens opened (``Sealer._decrypt`` calls), or null if the code
  measured has no such method;
- ``outputs_seconds`` / ``outputs_cpu``: the share of ``write_outputs`` (the people files);
- ``status``, ``summary``, ``code``: the run's outcome and the folder the engine came from.

``REFSYNC_BENCH_PROFILE=<dir>`` runs ``Engine.run`` under cProfile (``change-<pid>.prof``).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from _profile import profiled


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _system() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


class _Counters:
    """Counts kept by wrappers around the code measured (nothing in it changes)."""

    def __init__(self) -> None:
        self.statements = 0
        self.rows_read = 0
        self.decrypts: int | None = None
        self.outputs_seconds = 0.0
        self.outputs_cpu = 0.0

    def count_decrypts(self) -> None:
        from sync.state import _sealing

        sealer = getattr(_sealing, "Sealer", None)
        original = getattr(sealer, "_decrypt", None)
        if sealer is None or original is None:
            return
        self.decrypts = 0

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.decrypts = (self.decrypts or 0) + 1
            return original(*args, **kwargs)

        sealer._decrypt = counted

    def count_rows(self) -> None:
        """Rows fetched from any cursor (SQLAlchemy's fetch strategy is where they pass)."""
        from sqlalchemy.engine import cursor

        strategy = cursor.CursorFetchStrategy
        for name in ("fetchone", "fetchmany", "fetchall"):
            original = getattr(strategy, name)

            def counted(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                got = _original(*args, **kwargs)
                if isinstance(got, list):
                    self.rows_read += len(got)
                elif got is not None:
                    self.rows_read += 1
                return got

            setattr(strategy, name, counted)

    def count_statements(self, engine: Any) -> None:
        import sqlalchemy as sa

        def counted(*_args: Any) -> None:
            self.statements += 1

        sa.event.listen(engine, "before_cursor_execute", counted)

    def time_outputs(self) -> None:
        """Time ``write_outputs`` where the engine calls it (``sync.engine.run``)."""
        from sync.engine import run

        original = run.write_outputs

        def timed(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), _cpu()
            try:
                return original(*args, **kwargs)
            finally:
                self.outputs_seconds += time.perf_counter() - wall
                self.outputs_cpu += _cpu() - cpu

        run.write_outputs = timed


def measure(root: str, job: str) -> dict[str, Any]:
    """``Engine.run(job)`` for the program in ``root`` and its counters."""
    import sync
    from sync.engine import Engine, Runtime, open_program
    from sync.state import StateStore

    counters = _Counters()
    counters.count_decrypts()
    counters.count_rows()
    counters.time_outputs()
    program = open_program(root)
    store = StateStore.open(program.state_url)
    counters.count_statements(store.engine)
    runtime = Runtime(program)
    wall, cpu, system = time.perf_counter(), _cpu(), _system()
    try:
        report = profiled("change", Engine(runtime, store).run, job)
        seconds, cpu_seconds = time.perf_counter() - wall, _cpu() - cpu
        system_seconds = _system() - system
    finally:
        runtime.close()
        store.close()
    return {
        "cpu_seconds": cpu_seconds,
        "system_seconds": system_seconds,
        "seconds": seconds,
        "statements": counters.statements,
        "rows_read": counters.rows_read,
        "decrypts": counters.decrypts,
        "outputs_seconds": counters.outputs_seconds,
        "outputs_cpu": counters.outputs_cpu,
        "status": report.status,
        "summary": report.summary(),
        "code": str(Path(sync.__file__).resolve().parents[1]),
    }


if __name__ == "__main__":
    root, job, out = sys.argv[1:4]
    Path(out).write_text(json.dumps(measure(root, job)), encoding="utf-8")
