"""Steps 5-6 of a run: diff the canonical store against each destination's write ledger and
write only what changed, in the largest batches the connector takes.

An unchanged record is never written again: the content hash of the native record a
destination would receive is compared with the hash it last acknowledged. Records rejected
last time have no ledger entry, so every run retries them automatically.

After a complete pass the writer leaves a write mark, and the next pass diffs only what can
have changed since (:mod:`sync.engine.write_scope`): its cost follows the changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from connectors.base import Connector
from mapping.errors import RecordError
from mapping.model import is_phi_path
from mapping.schema import GENERIC, Dialect
from mapping.spec import EntityMapping
from mapping.transforms import TransformContext
from mapping.translate import to_native
from sync.engine.fingerprint import ledger_hash, mapping_fingerprint, outbound_keys
from sync.engine.phi import note_record
from sync.engine.report import Reject, RunReport
from sync.engine.write_scope import WriteScope, leave_mark, write_scope
from sync.state import RecordErrorRow, StateStore, StoredRecord
from sync.state._ledger import LedgerWrite
from sync.state._records import NaturalKeyTaken

__all__ = ["DestinationWriter"]

_PAGE = 2000
_SHOWN_VALUE = 40  # characters of an operational value shown in a plan's change list


@dataclass
class _Pending:
    ids: list[str] = field(default_factory=list)
    natives: list[dict[str, Any]] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    new: list[bool] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class _Pass:
    """One destination entity's write pass: what it is writing and what it has learnt."""

    dest: str
    entity: str
    em: EntityMapping
    connector: Any
    heartbeat: Callable[[int], None]
    fingerprint: str
    pending: _Pending = field(default_factory=_Pending)
    archive: list[str] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)  # failed before; the destination holds them
    current: dict[str, int] = field(default_factory=dict)  # hash-equal: note their version


def _pages(
    rows: Iterator[tuple[StoredRecord, str | None]],
) -> Iterator[list[tuple[StoredRecord, str | None]]]:
    page: list[tuple[StoredRecord, str | None]] = []
    for row in rows:
        page.append(row)
        if len(page) >= _PAGE:
            yield page
            page = []
    if page:
        yield page


@dataclass
class DestinationWriter:
    store: StateStore
    report: RunReport
    ctx: TransformContext
    unit: Callable[[], AbstractContextManager[Any]]
    run_id: int | None
    dry_run: bool
    mirror: bool
    _before: dict[str, StoredRecord] = field(default_factory=dict, init=False, repr=False)
    _dialect: Dialect = field(default=GENERIC, init=False, repr=False)
    _rejected: list[str] = field(default_factory=list, init=False, repr=False)

    def write(
        self,
        dest: str,
        entity: str,
        em: EntityMapping,
        connector: Connector,
        heartbeat: Callable[[int], None],
        *,
        live: int | None = None,
    ) -> None:
        """Write what ``dest`` lacks of ``entity`` (``live``: its live records, when the
        caller counted them)."""
        fingerprint = mapping_fingerprint(em, self.ctx)
        self._dialect = connector.dialect
        failing = self.store.open_error_keys(self.report.job, dest, em.object)
        scope = write_scope(
            self.store, self.report.job, dest, entity, fingerprint, self.mirror, live=live
        )
        # Counted before writing: what is written now becomes acknowledged too. With a
        # scope, the live records it leaves out are acknowledged (write_scope's docstring).
        whole = scope.among is None
        acknowledged = self.store.count_acknowledged(dest, entity, fingerprint) if whole else 0
        # A destination whose mapping sends no sealed (PHI) field gets records unopened.
        todo = self.store.records_to_write(
            dest, entity, fingerprint, include_tombstones=self.mirror,
            fields=outbound_keys(em), among=scope.among,
        )  # fmt: skip
        run = _Pass(dest, entity, em, connector, heartbeat, fingerprint)
        self._rejected = []
        seen: set[str] = set()  # of the failing ones only: all ids would be one per record
        listed = 0  # live records listed
        for page in _pages(todo):
            if failing:
                seen.update(rec.id for rec, _ in page if rec.id in failing)
            listed += sum(not rec.tombstone for rec, _ in page)
            self._write_page(run, page, failing)
        if not whole:
            acknowledged = max(0, scope.live - listed)  # a record stored meanwhile
        settled = self._retry_acknowledged(run, failing - seen)
        self.report.count_written(dest, entity, "unchanged", acknowledged - settled)
        self._finish(run, scope)

    def _retry_acknowledged(self, run: _Pass, ids: set[str]) -> int:
        """A record that failed before is acknowledged at its version when the diff skips
        it: open those few so their old errors are settled the usual way; how many."""
        retried = self.store.get_records(run.entity, ids) if ids else {}
        live = [rec for rec in retried.values() if not rec.tombstone]
        if live:
            hashes = self.store.ledger_hashes(run.dest, run.entity, [r.id for r in live])
            self._write_page(run, [(r, hashes.get(r.id)) for r in live], ids)
        return len(live)

    def _finish(self, run: _Pass, scope: WriteScope) -> None:
        """Write what is pending, note what was settled and current, archive, and leave
        the mark the next pass follows (never for a plan)."""
        run.pending = self._checkpoint(run, run.pending)
        if not self.dry_run:
            if run.settled:
                self.store.resolve_errors(self.report.job, run.dest, run.em.object, run.settled)
            if run.current:
                self.store.note_current(run.dest, run.entity, run.current, run.fingerprint)
        if run.archive:
            self._archive(run.dest, run.entity, run.em, run.connector, run.archive)
        if not self.dry_run:
            leave_mark(self.store, scope, self._rejected)

    def _write_page(
        self, run: _Pass, page: list[tuple[StoredRecord, str | None]], failing: set[str]
    ) -> None:
        entity, em = run.entity, run.em
        if self.dry_run:
            self._before = self._committed(entity, [r.id for r, h in page if h is not None])
        records = [rec for rec, _ in page]
        # Records the destination already holds never get its own (owned) fields back.
        held = (
            self.store.native_ids_for(entity, run.dest, [r.id for r in records])
            if (_unowned(em) is not em)
            else {}
        )
        taken = {
            rid: (name, value) for rid, name, value in self.store.key_collisions(entity, records)
        }
        for rec, last_hash in page:
            if rec.tombstone:
                if self.mirror and last_hash is not None:
                    run.archive.append(rec.id)
                continue
            if rec.id in taken:  # its referral number / NPI belongs to another record
                name, value = taken[rec.id]
                err = NaturalKeyTaken(entity, name, value, key=rec.id, job=self.report.job)
                self._reject(run.dest, em.object, [(rec.id, err)])
                continue
            wrote = self._diff(run, rec, last_hash, held=rec.id in held)
            if not wrote and rec.id in failing:
                run.settled.append(rec.id)
            if len(run.pending) >= run.connector.write_chunk_size:
                run.pending = self._checkpoint(run, run.pending)

    def _checkpoint(self, run: _Pass, pending: _Pending) -> _Pending:
        """Write ``pending`` and record it in the ledger: a crash re-sends at most one chunk."""
        done = len(pending)
        self._flush(run, pending)
        run.heartbeat(done)
        return _Pending()

    def _diff(self, run: _Pass, rec: StoredRecord, last_hash: str | None, *, held: bool) -> bool:
        """Queue ``rec`` if the destination lacks this version; False when it holds it.

        The content hash leaves out the fields the destination owns (``owned: true`` in its
        mapping): it is their system of record, so a change there never needs a write back,
        and a record it already holds (``held``) is sent without them. A record it does not
        hold yet is created whole."""
        dest, entity, pending = run.dest, run.entity, run.pending
        em = _unowned(run.em) if held else run.em
        digest = ledger_hash(run.fingerprint, rec.data, outbound_keys(_unowned(run.em)))
        if digest == last_hash:  # e.g. only hub-only fields (the event log) changed
            self.report.count_written(dest, entity, "unchanged")
            run.current[rec.id] = rec.version
            return False
        note_record(entity, rec.data)  # on its way to a vendor client: redact it from logs
        try:
            native = to_native(em, rec.data, self.ctx, self._dialect)
        except RecordError as exc:
            self._reject(dest, em.object, [(rec.id, exc)])
            return True
        if self.dry_run and last_hash is not None:
            self._describe_update(dest, entity, em, rec, native, last_hash)
        pending.ids.append(rec.id)
        pending.natives.append(native)
        pending.hashes.append(digest)
        pending.new.append(last_hash is None)
        pending.versions.append(rec.version)
        return True

    def _committed(self, entity: str, ids: list[str]) -> dict[str, StoredRecord]:
        """The records as committed before this plan.

        A plan merges inside a transaction that is rolled back; a store session belongs to
        its thread, so a read from another thread sees the committed versions.
        """
        if not ids:
            return {}
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="plan-before") as pool:
            return pool.submit(self.store.get_records, entity, ids).result()

    def _describe_update(
        self,
        dest: str,
        entity: str,
        em: EntityMapping,
        rec: StoredRecord,
        native: dict[str, Any],
        last_hash: str,
    ) -> None:
        """``REF-1041 Stage__c: Scheduled -> Completed (to salesforce)``; PHI fields by name."""
        key = _label(entity, rec)
        old = self._before.get(rec.id)
        fingerprint = mapping_fingerprint(em, self.ctx)
        keys = outbound_keys(_unowned(em))
        if old is None or ledger_hash(fingerprint, old.data, keys) != last_hash:
            self.report.add("changes", f"{key}: changes not yet sent (to {dest})")
            return
        try:
            before = to_native(em, old.data, self.ctx, self._dialect)
        except RecordError:
            return
        phi = {fm.native for fm in em.fields if _is_phi(entity, fm.canonical)}
        moved = [
            f"{name} changed"
            if name in phi
            else f"{name}: {_shown(before.get(name))} -> {_shown(native.get(name))}"
            for name in sorted({*before, *native}, key=str)
            if before.get(name) != native.get(name)
        ]
        if moved:
            self.report.add("changes", f"{key} {'; '.join(moved)} (to {dest})")

    def _flush(self, run: _Pass, pending: _Pending) -> None:
        dest, entity, em, connector = run.dest, run.entity, run.em, run.connector
        if not pending:
            return
        if self.dry_run:
            for new in pending.new:
                self.report.count_written(dest, entity, "created" if new else "updated")
            return
        results = connector.upsert(em.object, pending.natives, key=em.key)
        if len(results) != len(pending):
            raise RuntimeError(
                f"connector {dest} returned {len(results)} results for {len(pending)} records; "
                "a connector must return one result per input (connectors/base.py)"
            )
        done: list[LedgerWrite] = []
        links: list[tuple[str, str]] = []
        failed: list[tuple[str, RecordError]] = []
        for cid, digest, new, version, res in zip(
            pending.ids, pending.hashes, pending.new, pending.versions, results, strict=True
        ):
            if res.error is not None:
                failed.append((cid, res.error))
                continue
            done.append(LedgerWrite(cid, digest, res.id, version))
            if res.id:
                links.append((cid, res.id))
            created = res.created if res.created is not None else new
            self.report.count_written(dest, entity, "created" if created else "updated")
        with self.unit():
            if done:
                self.store.record_writes(
                    dest, entity, done, self.run_id, fingerprint=run.fingerprint
                )
                self.store.resolve_errors(self.report.job, dest, em.object, [d[0] for d in done])
            if links:
                self.store.link_many(entity, dest, links)
            self._reject(dest, em.object, failed)

    def _archive(
        self, dest: str, entity: str, em: EntityMapping, connector: Connector, ids: list[str]
    ) -> None:
        if self.dry_run:
            self.report.count_written(dest, entity, "archived", len(ids))
            return
        results = connector.archive(em.object, ids, key=em.key)
        ok = [cid for cid, r in zip(ids, results, strict=True) if r.error is None]
        failed = [
            (cid, r.error) for cid, r in zip(ids, results, strict=True) if r.error is not None
        ]
        with self.unit():
            if ok:
                self.store.forget_writes(dest, entity, ok)
            self._reject(dest, em.object, failed)
        self.report.count_written(dest, entity, "archived", len(ok))

    def _reject(self, dest: str, obj: str, failed: list[tuple[str, Any]]) -> None:
        if not failed:
            return
        rows = []
        for cid, err in failed:
            row = RecordErrorRow.from_error(dest, obj, err)
            row = RecordErrorRow(row.system, row.object, cid, row.code, row.message, row.field)
            rows.append(row)
            self._rejected.append(cid)
            self.report.add("rejects", Reject(dest, obj, cid, row.field, row.code, row.message))
        self.store.record_errors(self.report.job, rows)


def _shown(value: Any) -> str:
    """An operational value as a plan shows it (short; never called for a PHI field)."""
    if value is None or value == "":
        return "(empty)"
    text = str(value)
    return text if len(text) <= _SHOWN_VALUE else text[: _SHOWN_VALUE - 3] + "..."


def _label(entity: str, rec: StoredRecord) -> str:
    """How people know the record: its referral number, NPI or name (never PHI), else its id."""
    for name in ("referral_number", "npi", "organization_npi", "name"):
        value = rec.data.get(name)
        if value and not _is_phi(entity, name):
            return str(value)
    return rec.id


_UNOWNED: dict[int, tuple[EntityMapping, EntityMapping]] = {}


def _unowned(em: EntityMapping) -> EntityMapping:
    """``em`` without the fields its connection owns (``em`` itself when it owns none)."""
    hit = _UNOWNED.get(id(em))
    if hit is not None and hit[0] is em:
        return hit[1]
    kept = [fm for fm in em.fields if not (fm.owned and fm.writes)]
    out = em if len(kept) == len(em.fields) else em.model_copy(update={"fields": kept})
    if len(_UNOWNED) > 256:
        _UNOWNED.clear()
    _UNOWNED[id(em)] = (em, out)
    return out


@lru_cache(maxsize=512)
def _is_phi(entity: str, path: str) -> bool:
    return is_phi_path(entity, path)
