"""Bookmarks, runs, per-record errors and conflicts."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from mapping.errors import StateError
from sync.state._base import StoreBase, chunks
from sync.state._schema import bookmarks, conflicts, record_errors, runs
from sync.state._types import ConflictInfo, ConflictRow, RecordErrorInfo, RecordErrorRow, RunInfo

__all__ = ["JournalMixin"]

_ERROR_KEY = ("job", "system", "object", "key", "field")


def _require_json(what: str, value: Any) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise StateError(
            f"{what} must be plain JSON ({error}); store timestamps as ISO-8601 text with an offset"
        ) from error


class JournalMixin(StoreBase):
    """What happened: where each read got to, runs, failures and refused changes."""

    # -- bookmarks ---------------------------------------------------------------------

    def get_bookmark(self, connection: str, object: str) -> dict[str, Any] | None:
        """The bookmark saved for ``connection``/``object``, or None before the first run."""
        query = sa.select(bookmarks.c.bookmark).where(
            bookmarks.c.connection == connection, bookmarks.c.object == object
        )
        with self._tx(f"read the bookmark of {connection}/{object}", read_only=True) as conn:
            return conn.execute(query).scalar_one_or_none()

    def set_bookmark(self, connection: str, object: str, bookmark: dict[str, Any]) -> None:
        """Save the bookmark (call it in the session that commits the run's writes)."""
        _require_json(f"the bookmark of {connection}/{object}", bookmark)
        row = {
            "connection": connection,
            "object": object,
            "bookmark": bookmark,
            "updated_at": self._now(),
        }
        with self._tx(f"save the bookmark of {connection}/{object}") as conn:
            self._upsert(conn, bookmarks, [row], keys=("connection", "object"))

    def clear_bookmark(self, connection: str, object: str) -> bool:
        """Forget the bookmark: the next read of ``connection``/``object`` is a full read.

        Returns whether there was one.
        """
        statement = bookmarks.delete().where(
            bookmarks.c.connection == connection, bookmarks.c.object == object
        )
        with self._tx(f"clear the bookmark of {connection}/{object}") as conn:
            return conn.execute(statement).rowcount == 1

    # -- runs --------------------------------------------------------------------------

    def start_run(self, job: str, *, host: str, pid: int) -> int:
        """Record a run as ``running`` (committed at once) and return its id."""
        row = {
            "job": job,
            "status": "running",
            "started_at": self._now(),
            "counts": {},
            "host": host,
            "pid": pid,
        }
        with self._independent_tx(f"start a run of {job}") as conn:
            return int(conn.execute(runs.insert().returning(runs.c.id), row).scalar_one())

    def finish_run(self, run_id: int, status: str, counts: dict[str, Any]) -> None:
        """Close a run with its final status and counts (committed at once)."""
        _require_json(f"the counts of run {run_id}", counts)
        statement = (
            runs.update()
            .where(runs.c.id == run_id)
            .values(status=status, counts=counts, finished_at=self._now())
        )
        with self._independent_tx(f"finish run {run_id}") as conn:
            if conn.execute(statement).rowcount != 1:
                raise StateError(f"run {run_id} does not exist; start it with start_run")

    def interrupt_runs(self, job: str, *, before: int) -> list[int]:
        """Mark ``job``'s runs older than run ``before`` still ``running`` as ``interrupted``.

        Call it holding the job's lock: then no other run of ``job`` is alive, so a run still
        ``running`` had its process killed (SIGKILL, OOM, power loss) before it could finish.
        Returns the ids marked (committed at once).
        """
        where = (runs.c.job == job, runs.c.status == "running", runs.c.id < before)
        with self._independent_tx(f"mark interrupted runs of {job}") as conn:
            ids = [int(i) for i in conn.execute(sa.select(runs.c.id).where(*where)).scalars()]
            if ids:
                conn.execute(
                    runs.update()
                    .where(runs.c.id.in_(ids))
                    .values(status="interrupted", finished_at=self._now())
                )
        return ids

    def last_runs(self, job: str | None = None, limit: int = 10) -> list[RunInfo]:
        """The newest runs first, of one job or of all."""
        query = sa.select(runs).order_by(runs.c.started_at.desc(), runs.c.id.desc()).limit(limit)
        if job is not None:
            query = query.where(runs.c.job == job)
        with self._tx("read runs", read_only=True) as conn:
            return [
                RunInfo(
                    id=r.id,
                    job=r.job,
                    status=r.status,
                    started_at=r.started_at,
                    finished_at=r.finished_at,
                    counts=r.counts,
                    host=r.host,
                    pid=r.pid,
                )
                for r in conn.execute(query)
            ]

    # -- record errors -----------------------------------------------------------------

    def record_errors(self, job: str, rows: Iterable[RecordErrorRow]) -> int:
        """Upsert failures on (job, system, object, key, field).

        A new failure starts at 1 attempt; a repeated one bumps ``attempts``, moves
        ``last_seen``, takes the new code and message and is open again. Returns the
        number of distinct failures recorded.
        """
        now = self._now()
        latest: dict[tuple[str, ...], dict[str, Any]] = {}
        for r in rows:
            row: dict[str, Any] = {
                "job": job,
                "system": r.system,
                "object": r.object,
                "key": r.key,
                "field": r.field or "",
                "code": r.code,
                "message": r.message,
                "first_seen": now,
                "last_seen": now,
                "attempts": 1,
                "resolved": False,
            }
            latest[tuple(str(row[k]) for k in _ERROR_KEY)] = row

        def _bump(excluded: Any) -> dict[str, Any]:
            return {
                "attempts": record_errors.c.attempts + 1,
                "last_seen": excluded.last_seen,
                "code": excluded.code,
                "message": excluded.message,
                "resolved": False,
            }

        with self._tx(f"record errors of {job}") as conn:
            self._upsert(conn, record_errors, list(latest.values()), keys=_ERROR_KEY, update=_bump)
        return len(latest)

    def resolve_errors(self, job: str, system: str, object: str, keys: Iterable[str]) -> None:
        """Mark every open failure of these records as resolved (they synced)."""
        with self._tx(f"resolve errors of {job}") as conn:
            for batch in chunks(dict.fromkeys(keys)):
                conn.execute(
                    record_errors.update()
                    .where(
                        record_errors.c.job == job,
                        record_errors.c.system == system,
                        record_errors.c.object == object,
                        self._in(record_errors.c.key, batch),
                        record_errors.c.resolved.is_(False),
                    )
                    .values(resolved=True)
                )

    def open_error_keys(self, job: str, system: str, object: str) -> set[str]:
        """The keys with an open failure for ``job`` on ``system``/``object``."""
        query = sa.select(record_errors.c.key).where(
            record_errors.c.job == job,
            record_errors.c.system == system,
            record_errors.c.object == object,
            record_errors.c.resolved.is_(False),
        )
        with self._tx(f"read open errors of {job}", read_only=True) as conn:
            return {row.key for row in conn.execute(query)}

    def resolve_errors_not_seen_since(
        self, job: str, systems: Iterable[str], since: datetime
    ) -> int:
        """Resolve the open failures of ``job`` on ``systems`` not seen again since ``since``.

        After a run that re-read its sources from the start (``refsync retry``), a source-side
        failure the run did not hit again is fixed. Returns how many were resolved.
        """
        names = list(dict.fromkeys(systems))
        if not names:
            return 0
        statement = (
            record_errors.update()
            .where(
                record_errors.c.job == job,
                self._in(record_errors.c.system, names),
                record_errors.c.resolved.is_(False),
                record_errors.c.last_seen < since,
            )
            .values(resolved=True)
        )
        with self._tx(f"resolve errors of {job}") as conn:
            return int(conn.execute(statement).rowcount or 0)

    def open_errors(
        self, job: str | None = None, *, include_resolved: bool = False
    ) -> list[RecordErrorInfo]:
        """Unresolved failures (every failure with ``include_resolved``), most recent first."""
        query = sa.select(record_errors).order_by(
            record_errors.c.last_seen.desc(), record_errors.c.id
        )
        if not include_resolved:
            query = query.where(record_errors.c.resolved.is_(False))
        if job is not None:
            query = query.where(record_errors.c.job == job)
        with self._tx("read record errors", read_only=True) as conn:
            return [
                RecordErrorInfo(
                    job=r.job,
                    system=r.system,
                    object=r.object,
                    key=r.key,
                    field=r.field,
                    code=r.code,
                    message=r.message,
                    first_seen=r.first_seen,
                    last_seen=r.last_seen,
                    attempts=r.attempts,
                    resolved=r.resolved,
                )
                for r in conn.execute(query)
            ]

    # -- conflicts ---------------------------------------------------------------------

    def record_conflicts(self, rows: Iterable[ConflictRow]) -> int:
        """Append refused changes; returns how many were recorded."""
        now = self._now()
        params = [
            {
                "entity": r.entity,
                "canonical_id": r.canonical_id,
                "field": r.field,
                "proposing_system": r.proposing_system,
                "owner": r.owner,
                "proposed_hash": r.proposed_hash,
                "summary": r.summary,
                "run_id": r.run_id,
                "recorded_at": now,
            }
            for r in rows
        ]
        if params:
            with self._tx("record conflicts") as conn:
                conn.execute(conflicts.insert(), params)
        return len(params)

    def list_conflicts(
        self,
        *,
        entity: str | None = None,
        canonical_id: str | None = None,
        run_id: int | None = None,
        limit: int = 100,
    ) -> list[ConflictInfo]:
        """Recorded conflicts, newest first, optionally narrowed."""
        query = sa.select(conflicts).order_by(conflicts.c.id.desc()).limit(limit)
        for column, value in (
            (conflicts.c.entity, entity),
            (conflicts.c.canonical_id, canonical_id),
            (conflicts.c.run_id, run_id),
        ):
            if value is not None:
                query = query.where(column == value)
        with self._tx("read conflicts", read_only=True) as conn:
            return [
                ConflictInfo(
                    id=r.id,
                    entity=r.entity,
                    canonical_id=r.canonical_id,
                    field=r.field,
                    proposing_system=r.proposing_system,
                    owner=r.owner,
                    proposed_hash=r.proposed_hash,
                    summary=r.summary,
                    run_id=r.run_id,
                    recorded_at=r.recorded_at,
                )
                for r in conn.execute(query)
            ]
