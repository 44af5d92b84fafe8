"""Operating the state store: check it, back it up, restore a backup (``refsync state ...``).

Backups and restores use SQLite's online backup API (``sqlite3.Connection.backup``): a
consistent copy even while a run writes, WAL included, never a raw file copy. PostgreSQL has
its own tools (``pg_dump`` / ``pg_restore``); these functions say so instead of half doing it.
A backup holds the store's hashing key and the encrypted PHI: it is created with mode 0600
and must be kept like the state itself.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from mapping.errors import ConfigurationError, StateError
from sync.state._engine import (
    HEAD_REVISION,
    create_state_engine,
    redact_url,
    translate_errors,
)
from sync.state._schema import job_locks, record_errors, records, runs
from sync.state._types import utc_now

__all__ = ["StateCheck", "backup_state", "check_state", "restore_state", "sqlite_path"]


@dataclass(slots=True)
class StateCheck:
    """What ``refsync state check`` found; ``problems`` empty means the store is usable."""

    url: str
    problems: list[str] = field(default_factory=list)
    revision: str | None = None
    runs: dict[str, int] = field(default_factory=dict)
    records: int = 0
    open_errors: int = 0
    locks: list[str] = field(default_factory=list)
    orphaned_runs: list[str] = field(default_factory=list)
    """Runs still ``running`` that hold no live lock: their process died (marked
    ``interrupted`` by their job's next run)."""

    @property
    def ok(self) -> bool:
        return not self.problems


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL (None for PostgreSQL or an in-memory database)."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def check_state(url: str, *, clock: Callable[[], datetime] = utc_now) -> StateCheck:
    """Integrity (SQLite), schema revision, runs by status, records, open errors, held locks.

    Reads only: a damaged file is reported with SQLite's own reason, never repaired or migrated.
    """
    found = StateCheck(redact_url(url))
    path = sqlite_path(url)
    if path is not None:
        reason = _sqlite_damage(path)
        if reason is not None:
            found.problems.append(reason)
            return found
    try:
        _read_facts(url, found, clock)
    except StateError as exc:
        found.problems.append(exc.message)
    return found


def _sqlite_damage(path: Path) -> str | None:
    if not path.is_file():
        return f"{path} does not exist (a first run creates it; restore a backup otherwise)"
    try:
        with closing(_connect(path, read_only=True)) as conn:
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        return f"{path}: SQLite says: {exc}"
    if rows != ["ok"]:
        return f"{path}: SQLite's integrity check failed: {'; '.join(map(str, rows[:5]))}"
    return None


def _read_facts(url: str, found: StateCheck, clock: Callable[[], datetime]) -> None:
    engine = create_state_engine(url)
    try:
        with translate_errors(engine.url, "be checked"), engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            if "alembic_version" not in tables or "runs" not in tables:
                found.problems.append("this database is not a refsync state (no runs table)")
                return
            found.revision = conn.execute(
                sa.text("SELECT version_num FROM alembic_version")
            ).scalar()
            if found.revision != HEAD_REVISION:
                found.problems.append(
                    f"schema revision {found.revision} is not this refsync's ({HEAD_REVISION}); "
                    "a run migrates it, or upgrade refsync if it is newer"
                )
            status_counts = sa.select(runs.c.status, sa.func.count()).group_by(runs.c.status)
            found.runs = {str(s): int(n) for s, n in conn.execute(status_counts)}
            found.records = int(
                conn.execute(sa.select(sa.func.count()).select_from(records)).scalar_one()
            )
            open_errors = sa.select(sa.func.count()).where(record_errors.c.resolved.is_(False))
            found.open_errors = int(conn.execute(open_errors).scalar_one())
            now = clock()
            holders: set[int] = set()
            for lock in conn.execute(sa.select(job_locks)):
                live = "held" if lock.expires_at > now else "expired"
                holders |= {lock.run_id} if live == "held" else set()
                found.locks.append(
                    f"{lock.job}: {live} by run {lock.run_id} on {lock.host} (pid {lock.pid}) "
                    f"until {lock.expires_at.isoformat(timespec='seconds')}"
                )
            running = sa.select(runs.c.id, runs.c.job, runs.c.host).where(
                runs.c.status == "running"
            )
            found.orphaned_runs = [
                f"run {r.id} of {r.job} on {r.host}: still 'running' but holds no lock (its "
                "process died; the job's next run marks it interrupted)"
                for r in conn.execute(running)
                if r.id not in holders
            ]
    finally:
        engine.dispose()


def _postgres_refusal(action: str, tool: str) -> ConfigurationError:
    return ConfigurationError(
        f"refsync state {action} works on SQLite state files; this state is in PostgreSQL: "
        f"use {tool} (e.g. `{tool} --format=custom ...`), which PostgreSQL keeps consistent "
        "while refsync runs"
    )


def backup_state(url: str, destination: Path) -> Path:
    """A consistent copy of the SQLite state at ``destination`` (new file, mode 0600)."""
    source = sqlite_path(url)
    if source is None:
        raise _postgres_refusal("backup", "pg_dump")
    damage = _sqlite_damage(source)
    if damage is not None:
        raise StateError(f"cannot back up the state: {damage}")
    _copy(source, _new_private_file(destination))
    return destination


def restore_state(
    url: str, backup: Path, *, clock: Callable[[], datetime] = utc_now
) -> Path | None:
    """Replace the SQLite state with ``backup``; return where the old state was kept (if any).

    Refused (StateError, exit 4) when ``backup`` is not an intact refsync state, or while a
    live run holds a job lock. The current state is kept beside it as
    ``state.db.before-restore-<time>`` (a damaged one is moved there as it is).
    """
    target = sqlite_path(url)
    if target is None:
        raise _postgres_refusal("restore", "pg_restore")
    _require_backup(backup)
    stamp = clock().strftime("%Y%m%dT%H%M%SZ")
    aside = target.with_name(f"{target.name}.before-restore-{stamp}")
    if not target.exists():
        _copy(backup, _new_private_file(target))
        return None
    if _sqlite_damage(target) is None:
        _refuse_if_running(url, clock)
        _copy(target, _new_private_file(aside))
        _copy(backup, target)  # the backup API replaces every page under SQLite's own lock
        return aside
    for suffix in ("", "-wal", "-shm"):  # a damaged file: keep it as it is, WAL and all
        part = Path(f"{target}{suffix}")
        if part.exists():
            part.rename(Path(f"{aside}{suffix}"))
    _copy(backup, _new_private_file(target))
    return aside


def _require_backup(backup: Path) -> None:
    damage = _sqlite_damage(backup)
    if damage is not None:
        raise StateError(f"cannot restore from {backup}: {damage}")
    check = StateCheck(str(backup))
    _read_facts(f"sqlite:///{backup.resolve()}", check, utc_now)
    if not check.ok:
        raise StateError(f"cannot restore from {backup}: {'; '.join(check.problems)}")


def _refuse_if_running(url: str, clock: Callable[[], datetime]) -> None:
    check = check_state(url, clock=clock)
    held = [lock for lock in check.locks if ": held by" in lock]
    if held:
        raise StateError(
            f"a run holds a job lock ({'; '.join(held)}); stop it or let it finish, then "
            "restore (restoring under a live run would lose what it writes)"
        )


def _new_private_file(path: Path) -> Path:
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        raise ConfigurationError(f"{path} already exists; choose a new file name") from None
    except OSError as exc:
        raise StateError(f"cannot create {path}: {exc.strerror}") from exc
    return path


def _connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    if read_only:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    return sqlite3.connect(path, timeout=30)


def _copy(source: Path, destination: Path) -> None:
    src = _connect(source, read_only=True)
    dst = _connect(destination)
    try:
        src.backup(dst)
    except sqlite3.Error as exc:
        raise StateError(f"copying {source} to {destination} failed: SQLite says: {exc}") from exc
    finally:
        dst.close()
        src.close()
