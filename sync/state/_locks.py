"""Job locks in the database, so they hold across processes and machines."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mapping.errors import LockHeld, StateError
from sync.state._base import StoreBase
from sync.state._schema import job_locks
from sync.state._types import LockInfo

__all__ = ["LocksMixin", "pid_alive"]


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it is just not ours
    return True


def _lock_info(row: sa.Row[Any]) -> LockInfo:
    return LockInfo(
        job=row.job,
        host=row.host,
        pid=row.pid,
        run_id=row.run_id,
        acquired_at=row.acquired_at,
        heartbeat_at=row.heartbeat_at,
        expires_at=row.expires_at,
    )


class LocksMixin(StoreBase):
    """One live run per job. Each method commits at once and is refused inside a session.

    A lock is stale when its ``expires_at`` has passed (the holder stopped heartbeating),
    or when its holder ran on this host and that pid no longer exists. A stale lock is
    taken over with a compare-and-set on the exact row that was read, so when several
    contenders see the same stale lock exactly one of them wins.
    """

    def acquire_lock(self, job: str, *, run_id: int, ttl_seconds: int, host: str, pid: int) -> None:
        """Take the job lock for ``run_id`` or raise :class:`LockHeld` naming the holder.

        Taking a lock this run already holds refreshes it.
        """
        now = self._now()
        row = {
            "job": job,
            "host": host,
            "pid": pid,
            "run_id": run_id,
            "ttl_seconds": int(ttl_seconds),
            "acquired_at": now,
            "heartbeat_at": now,
            "expires_at": now + timedelta(seconds=ttl_seconds),
        }
        with self._independent_tx(f"take the lock of job {job}") as conn:
            holder = None
            # Twice: the holder may release between our insert and our read.
            for _ in range(2):
                if self._insert_ignore(conn, job_locks, row) == 1:
                    return
                holder = self._holder(conn, job)
                if holder is not None:
                    break
            if holder is None:
                raise StateError(f"the lock of job {job!r} is changing hands too fast; retry")
            if holder.run_id != run_id and not self._stale(holder, host, now):
                raise _held(job, holder)
            if not self._take_over(conn, holder, row):
                raise _held(job, self._holder(conn, job) or holder)

    def heartbeat(self, job: str, run_id: int) -> None:
        """Extend the lock by its ttl; :class:`LockHeld` if this run lost it (stop the run)."""
        now = self._now()
        mine = (job_locks.c.job == job, job_locks.c.run_id == run_id)
        with self._independent_tx(f"heartbeat the lock of job {job}") as conn:
            ttl = conn.execute(sa.select(job_locks.c.ttl_seconds).where(*mine)).scalar()
            updated = 0
            if ttl is not None:
                # Still conditional on run_id: a takeover since our read makes this a no-op.
                updated = conn.execute(
                    job_locks.update()
                    .where(*mine)
                    .values(heartbeat_at=now, expires_at=now + timedelta(seconds=ttl))
                ).rowcount
            if updated != 1:
                holder = self._holder(conn, job)
                lost_to = f"to {holder.describe()}" if holder else "(it was released or broken)"
                raise LockHeld(
                    f"run {run_id} lost the lock of job {job!r} {lost_to}; stop this run",
                    holder=holder.describe() if holder else None,
                )

    def release_lock(self, job: str, run_id: int) -> bool:
        """Release the lock if ``run_id`` holds it; returns whether it did."""
        with self._independent_tx(f"release the lock of job {job}") as conn:
            deleted = conn.execute(
                job_locks.delete().where(job_locks.c.job == job, job_locks.c.run_id == run_id)
            )
            return deleted.rowcount == 1

    def lock_holder(self, job: str) -> LockInfo | None:
        """Who holds the job lock now, if anyone (expired or not)."""
        with self._tx(f"read the lock of job {job}", read_only=True) as conn:
            return self._holder(conn, job)

    def break_lock(self, job: str) -> LockInfo | None:
        """Remove a job lock whoever holds it (admin action); returns what was removed."""
        with self._independent_tx(f"break the lock of job {job}") as conn:
            holder = self._holder(conn, job)
            conn.execute(job_locks.delete().where(job_locks.c.job == job))
            return holder

    # -- helpers -----------------------------------------------------------------------

    def _holder(self, conn: Connection, job: str) -> LockInfo | None:
        row = conn.execute(sa.select(job_locks).where(job_locks.c.job == job)).first()
        return _lock_info(row) if row else None

    def _stale(self, holder: LockInfo, host: str, now: datetime) -> bool:
        if holder.expires_at <= now:
            return True
        return holder.host == host and not pid_alive(holder.pid)

    def _take_over(self, conn: Connection, seen: LockInfo, row: dict[str, Any]) -> bool:
        """Replace the exact lock row we read; False if someone changed it meanwhile."""
        statement = (
            job_locks.update()
            .where(
                job_locks.c.job == seen.job,
                job_locks.c.run_id == seen.run_id,
                job_locks.c.host == seen.host,
                job_locks.c.pid == seen.pid,
                job_locks.c.heartbeat_at == seen.heartbeat_at,
            )
            .values({k: v for k, v in row.items() if k != "job"})
        )
        return conn.execute(statement).rowcount == 1


def _held(job: str, holder: LockInfo) -> LockHeld:
    return LockHeld(
        f"job {job!r} is locked by {holder.describe()}; wait for that run to finish, or, if "
        "it is gone, wait until the lock expires (or run on the same host to reclaim it)",
        holder=holder.describe(),
    )
