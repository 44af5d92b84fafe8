"""Which records a write pass diffs: every record of the entity, or, when the job's write
mark holds, only those that can have changed since its last complete pass.

The write ledger's diff (:meth:`~sync.state.StateStore.records_to_write`) skips in SQL every
record the destination acknowledged at its stored version, but it still reads an index entry
per record: at a million referrals that is most of a run that changed a thousand. After a
complete pass the writer leaves a *write mark* (:func:`leave_mark`): when the pass began (as
stamps, below), a fingerprint of the mapping (and of whether tombstones are archived, and
refsync's version), and the ids the pass left unacknowledged. A record can only need writing
later if it was stored since, if its ledger row changed since (another job wrote it with
another mapping), or if it was left unacknowledged; so the next pass diffs those only
(:func:`write_scope`), and lists exactly what a whole pass would.

"Since" is by the stamps the store puts on records and ledger rows, which never go back: a
process whose clock is behind stamps the latest stamp instead. A pass's start is taken as
the latest stamp when it begins, so whatever the clocks of the processes sharing a store, a
later change is stamped at or after it; or, when earlier, five minutes
(:data:`~sync.engine.outputs.MARGIN`) before its clock, so a change stamped just before the
pass began but committed after it read is looked at next time. (A bulk load long ago is not
looked at again: only its last stamp is.)

A whole pass instead, logged with the reason: no mark (no pass of the job finished yet),
another mapping, a bulk change since (:data:`BULK`), or more than half the records to look
at.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sync.engine.fingerprint import code_version
from sync.engine.outputs import MARGIN
from sync.state import StateStore, WriteMark

__all__ = ["BULK", "WriteScope", "leave_mark", "write_scope"]

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the mark of a table without a stamp yet

BULK = 10_000
"""Right after a bulk change (a run moments after a first sync, say) most rows are stamped
since the mark, and one scan in id order costs less than joining each: a pass is whole when
more records and ledger rows are stamped since than there are live records, and more than
this many (below it, joining them is cheap whatever the ratio)."""


@dataclass(frozen=True)
class WriteScope:
    """One pass's scope: ``among`` the ids to diff (sorted; None: every record), ``live``
    the entity's live records when ``among`` is set (the rest are acknowledged)."""

    job: str
    destination: str
    entity: str
    began: datetime  # as stamps on the records, and on the destination's ledger rows
    written: datetime
    fingerprint: str
    among: list[str] | None = None
    live: int = 0


def write_scope(
    store: StateStore,
    job: str,
    destination: str,
    entity: str,
    fingerprint: str,
    mirror: bool,
    *,
    live: int | None = None,
    bulk: int = BULK,
) -> WriteScope:
    """The scope of ``job``'s pass writing ``entity`` to ``destination`` with the mapping
    whose fingerprint is ``fingerprint`` (``mirror``: tombstones are archived there;
    ``live``: the entity's live records, counted here when None; ``bulk``: see
    :data:`BULK`)."""
    # Stamps never go back (a process whose clock is behind stamps the latest stamp), so a
    # change from now on is stamped at or after the latest stamp, whatever the clocks; one
    # stamped a little before now and committed after this pass read is within the margin.
    clock = store.now() - MARGIN
    began = min(store.latest_change(entity) or _EPOCH, clock)
    written = min(store.latest_write(destination, entity) or _EPOCH, clock)
    key = _mark_fingerprint(fingerprint, mirror)
    mark = store.write_mark(job, destination, entity)
    why = _why_whole(mark, key)
    if mark is not None and why is None:
        live = store.count_records(entity) if live is None else live
        among, why = _among(store, mark, (destination, entity, fingerprint), mirror, live, bulk)
        if among is not None:
            return WriteScope(job, destination, entity, began, written, key, among, live)
    log.info("writes of %s to %s looked at every record: %s", entity, destination, why)
    return WriteScope(job, destination, entity, began, written, key)


def _among(
    store: StateStore,
    mark: WriteMark,
    of: tuple[str, str, str],
    mirror: bool,
    live: int,
    bulk: int,
) -> tuple[list[str] | None, str]:
    """The ids to diff since ``mark``, or None and why every record is diffed instead."""
    destination, entity, fingerprint = of
    since = {"since": mark.watermark, "written_since": mark.ledger_watermark}
    stamped = store.stamped_since(destination, entity, **since)
    if stamped > max(live, bulk):
        return None, f"{stamped:,} records and ledger rows stamped since the last pass"
    changed = store.to_write_since(
        destination, entity, fingerprint, include_tombstones=mirror, **since
    )
    among = sorted({*changed, *mark.retry})
    if 2 * len(among) > live:
        return None, f"{len(among):,} of {live:,} {entity} records to look at"
    return among, ""


def leave_mark(store: StateStore, scope: WriteScope, unacknowledged: Collection[str]) -> None:
    """After a complete pass of ``scope``: the next pass diffs what changed since it began,
    and the ids it left ``unacknowledged``."""
    mark = WriteMark(scope.began, scope.written, scope.fingerprint, frozenset(unacknowledged))
    store.set_write_mark(scope.job, scope.destination, scope.entity, mark)


def _why_whole(mark: WriteMark | None, key: str) -> str | None:
    if mark is None:
        return "no write mark yet (no pass of this job has finished)"
    if mark.fingerprint != key:
        return "the mapping, the archiving of deletions or refsync's version changed"
    return None


def _mark_fingerprint(fingerprint: str, mirror: bool) -> str:
    text = f"{fingerprint}\x1f{mirror}\x1f{code_version()}"
    return hashlib.sha256(text.encode()).hexdigest()
