"""Steps 2-4 of a run: read each source since its bookmark, translate, merge.

The pieces: :mod:`sync.engine.identity` says which canonical record each native record is,
:mod:`sync.engine.digests` which snapshot records are unchanged since their last read,
:func:`sync.engine.merge.merge_record` merges one record (a pure function), and
:mod:`sync.engine.backfill` writes refsync's key into records created elsewhere; this module
runs them page by page and records what they report.

Each page is merged in its own transaction (flat memory, and a crash loses at most the
page being merged); the page's bookmark is only *collected* here and committed by the run
once every destination acknowledged its writes.

A record whose content (with the mapping that reads it) has the same keyed hash as when it
was last merged is not translated again, nor its PHI registered: it is counted ``unchanged``
and only linked (snapshot records and event rows alike: :mod:`sync.engine.digests` says why
that holds for event rows). A record that was rejected has no stored hash, so it is read
again until it is fixed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.base import Bookmark, Connector, NativeRecord
from mapping.errors import RecordError, TransformError
from mapping.history import Decision
from mapping.schema import GENERIC, Dialect
from mapping.spec import EntityMapping
from mapping.transforms import TransformContext
from mapping.translate import (
    InboundRecord,
    has_native,
    native_fields,
    native_value,
    to_canonical,
    to_native,
)
from sync.engine.backfill import backfill_keys, unkeyed
from sync.engine.digests import ContentDigests
from sync.engine.events import event_for, outcome_message
from sync.engine.identity import IdentityResolver
from sync.engine.matching import PatientMatcher
from sync.engine.merge import Conflict, MergeResult, Ownership, changed_fields, merge_record
from sync.engine.page_derive import PageDeriver
from sync.engine.phi import note_inbound, note_natives
from sync.engine.prospects import settle_prospects
from sync.engine.report import Reject, RunReport, Transition
from sync.state import ConflictRow, RecordErrorRow, StateStore, StoredRecord

__all__ = ["SourceReader"]


@dataclass
class SourceReader:
    """Reads one source connection's entities into the canonical store."""

    store: StateStore
    report: RunReport
    ownership: Ownership
    ctx: TransformContext
    unit: Callable[[], AbstractContextManager[Any]]
    run_id: int | None
    started: datetime
    matcher: PatientMatcher  # events without a referral number, and what stays unmatched
    dry_run: bool = False
    translate: Callable[[EntityMapping, Mapping[str, Any], TransformContext], InboundRecord] = (
        to_canonical
    )
    touched: set[tuple[str, str]] = field(default_factory=set)  # (entity, id) changed this run
    deriver: PageDeriver | None = None  # derives the referrals of each page before storing
    # entity -> ids new this run (one set per entity: no (entity, id) tuple per record)
    _created: dict[str, set[str]] = field(default_factory=dict)
    _connector: Connector | None = None
    _rejected: int = 0  # record errors so far: a merge that added none is remembered
    _identity: IdentityResolver = field(init=False)
    _digests: ContentDigests = field(init=False)

    def __post_init__(self) -> None:
        self._identity = IdentityResolver(self.store, self.matcher, self.ctx, self.translate)
        self._digests = ContentDigests(self.store.keyed_hash)

    def read(
        self,
        source: str,
        entity: str,
        em: EntityMapping,
        connector: Connector,
        heartbeat: Callable[[int], None],
    ) -> Bookmark | None:
        """Merge everything ``source`` changed since its bookmark; return the new bookmark."""
        self._connector = connector
        since = self.store.get_bookmark(source, em.object)
        fields = native_fields(em, "in")
        last: Bookmark | None = None
        for page in connector.read(em.object, since=since, fields=fields, until=self.started):
            with self.unit():
                self._merge_page(source, entity, em, page.records)
                self._reject(source, em.object, page.rejects)
            last = page.bookmark
            heartbeat(len(page.records))
        return last

    def _merge_page(
        self, source: str, entity: str, em: EntityMapping, records: Sequence[NativeRecord]
    ) -> None:
        latest = {r.id: r for r in records}  # a page boundary may repeat a record
        self.report.count_read(source, entity, "read", len(latest))
        digests, same, early = self._unchanged(source, entity, em, latest)
        # PHI is redacted from logs from here on; a record skipped as unchanged is not
        # translated nor merged, only resolved (by its link): its values go nowhere.
        self._note_phi(entity, em, [r for n, r in latest.items() if n not in same])
        if early:
            self.report.count_read(source, entity, "unchanged", len(early))
        rest = {n: r for n, r in latest.items() if n not in early}
        resolved = self._identity.resolve(source, entity, em, list(rest.values()), self._connector)
        self._reject(source, em.object, resolved.unmatched)
        ids = resolved.ids
        if rematched := same & resolved.matched:  # merged every time (sync.engine.digests)
            same -= rematched
            self._note_phi(entity, em, [latest[n] for n in rematched])
        live, found, stored = self._stored(entity, ids, same)
        # Records are merged one after another against the state the previous ones left,
        # so several rows of one referral in a page all reach its event log.
        working = {cid: row.data for cid, row in stored.items()}
        puts: dict[str, tuple[dict[str, Any], bool]] = {}
        links: list[tuple[str, str]] = []
        merged_clean: list[tuple[str, str]] = []
        for native_id, rec in rest.items():
            cid = ids.get(native_id)
            if cid is None:
                continue
            digest, row = digests.get(native_id), found.get(cid)
            if native_id in same:
                if cid in live or (row and not row.tombstone):
                    # linked when it was merged (a referral of several rows keeps one link,
                    # the others resolve by their referral number): no link to write again
                    self.report.count_read(source, entity, "unchanged")  # as when last read
                    continue
                self._note_phi(entity, em, [rec])  # its record is gone: merged again
            links.append((cid, native_id))
            if rec.deleted:
                if row is not None and not row.tombstone and cid not in puts:
                    puts[cid] = (row.data, True)
                    self.report.count_read(source, entity, "deleted")
                continue
            rejected = self._rejected
            merged = self._merge_one(source, entity, em, cid, rec, working.get(cid))
            if merged is not None:
                working[cid] = merged
                puts[cid] = (merged, False)
            if digest is not None and self._rejected == rejected:
                merged_clean.append((native_id, digest))
        if not self.dry_run:
            placed = {**early, **ids}
            filled = backfill_keys(self._connector, em, unkeyed(em, latest.values(), placed))
            if filled.written or filled.errors:
                self.report.count_read(source, entity, "keys written back", filled.written)
            self._reject(source, em.object, filled.errors)
            self.store.remember_read_hashes(source, entity, merged_clean)
        if entity == "clinician":  # a system supplying a prospect's NPI (sync.engine.prospects)
            read_ids = [cid for cid in ids.values() if cid]
            settled = settle_prospects(self.store, em, read_ids, working, puts)
            puts = settled.puts
            self.report.count_read(source, entity, "prospects supplied", len(settled.supplied))
            self.report.count_read(
                source, entity, "prospects retired: NPI taken by a clinician", len(settled.retired)
            )
        if puts and entity == "referral" and self.deriver is not None:
            puts = self.deriver.derive(puts, stored)
        if puts:
            items = [(cid, data, tomb) for cid, (data, tomb) in puts.items()]
            changed = self.store.put_records(entity, items, read=stored).changed
            self.touched.update((entity, cid) for cid in changed)
        if links:
            self.store.link_many(entity, source, links)

    def _unchanged(
        self, source: str, entity: str, em: EntityMapping, latest: Mapping[str, NativeRecord]
    ) -> tuple[dict[str, str], set[str], dict[str, str]]:
        """The page's digests; the native ids whose digest is the one stored when they were
        last merged; and of those, the ones linked to a live record (native id -> its id),
        which need nothing more: not even identity resolution. Clinicians are never skipped
        that early (prospects are settled against every clinician a page read)."""
        digests = {} if self.dry_run else self._digests.digests(em, latest.values())
        known = self.store.read_hashes_linked(source, entity, digests) if digests else {}
        same = {n for n, d in digests.items() if n in known and known[n][0] == d}
        if entity == "clinician":
            return digests, same, {}
        early = {n: cid for n in same if (cid := known[n][1]) is not None}
        return digests, same, early

    def _note_phi(self, entity: str, em: EntityMapping, records: Sequence[NativeRecord]) -> None:
        """Register the PHI of native records about to be merged (sync.engine.phi)."""
        phi = self._connector.phi_native_fields if self._connector else ()
        note_natives(entity, em, (r.fields for r in records), phi)

    def _stored(
        self, entity: str, ids: Mapping[str, str | None], same: set[str]
    ) -> tuple[set[str], dict[str, StoredRecord], dict[str, StoredRecord]]:
        """For a page's ids: the live ones of rows skipped as unchanged, the stored records of
        the others, and those of them opened (or never sealed).

        A row whose digest is the one last read (``same``) is skipped unless its record is
        gone: only its id is looked up, and only the records of the other rows are read and
        opened (decrypted), so a run over a full export decodes what changed, not the whole
        program. Clinicians are all read and opened (prospects are settled against every one
        the page read)."""
        merged = {cid for n, cid in ids.items() if cid and n not in same}
        if entity == "clinician":
            live: set[str] = set()
            wanted = {cid for cid in ids.values() if cid}
        else:
            skipped = {cid for n in same if (cid := ids.get(n))} - merged
            live = self.store.live_record_ids(entity, skipped) if skipped else set()
            wanted = merged | (skipped - live)

        def opens(row: StoredRecord) -> bool:
            return entity == "clinician" or row.tombstone or row.id in merged

        found = self.store.get_records_opening(entity, wanted, opens)
        opened = {cid: row for cid, row in found.items() if row.sealed is None or opens(row)}
        return live, found, opened

    def _merge_one(
        self,
        source: str,
        entity: str,
        em: EntityMapping,
        cid: str,
        rec: NativeRecord,
        current: dict[str, Any] | None,
    ) -> dict[str, Any] | None:
        native = dict(rec.fields)
        names = [n for n in native_fields(em, "in") if n != em.key]
        if rec.event is not None:  # an event: a blank cell says nothing, it clears nothing
            names = [n for n in names if native_value(native, n) not in (None, "")]
        elif current:  # a snapshot: only what differs from our own echo
            envelope = self._dialect().envelope_keys
            names = changed_fields(native, self._expected(em, current), names, envelope)
        if not names:
            self.report.count_read(source, entity, "unchanged")
            return None
        inbound = self.translate(
            em, {k: native_value(native, k) for k in names if has_native(native, k)}, self.ctx
        )
        note_inbound(entity, inbound.values)
        for err in inbound.errors:
            self._reject(source, em.object, [_keyed(err, rec.id)])
        events = []
        if inbound.stage is not None and entity == "referral":
            try:
                events.append(
                    event_for(source, rec, inbound.stage, inbound.values, received_at=self.started)
                )
            except RecordError as err:
                self._reject(source, em.object, [err])
        result = merge_record(
            entity,
            cid,
            current,
            inbound.values,
            system=source,
            ownership=self.ownership,
            events=events,
        )
        self._note(source, entity, em, cid, current, result)
        if result.data is None:  # a replayed event or an unchanged value: counted, not silent
            self.report.count_read(source, entity, "unchanged")
        return result.data

    def _note(
        self,
        source: str,
        entity: str,
        em: EntityMapping,
        cid: str,
        current: dict[str, Any] | None,
        result: MergeResult,
    ) -> None:
        for err in result.errors:
            self._reject(source, em.object, [err])
        label = str((result.data or current or {}).get("referral_number") or cid)
        self._note_events(source, entity, cid, label, result)
        for c in result.conflicts:
            self.report.add(
                "conflicts",
                f"{c.entity} {c.canonical_id}: {c.field} is owned by "
                f"{c.owner}; the change from {c.proposing_system} was not applied",
            )
        self._record_conflicts(result.conflicts)
        if result.transition is not None and result.data is not None:
            self.report.add_transition(Transition(label, *result.transition, source))
        if result.data is None:
            return
        if current is None:
            self._created.setdefault(entity, set()).add(cid)
            self.report.count_read(source, entity, "created")
        elif cid not in self._created.get(entity, ()):  # a record's later rows refine it
            self.report.count_read(source, entity, "updated")
            shown = [f for f in result.changed_fields if f not in _LOG_FIELDS]
            if shown:
                self.report.add("updates", f"{entity} {label}: {', '.join(shown)} (from {source})")

    def _note_events(
        self, source: str, entity: str, cid: str, label: str, result: MergeResult
    ) -> None:
        """Count every new event by what the fold decided; list the ones not applied."""
        rows: list[ConflictRow] = []
        for event, outcome in result.outcomes:
            self.report.count_read(source, entity, f"events {outcome.decision.value}")
            if result.newest is not None and event.at < result.newest:
                self.report.add(
                    "stale",
                    f"{label}: {event.stage.value} from {source} arrived "
                    f"after newer events and was placed in time order"
                    f"{f' ({event.source})' if event.source else ''}",
                )
            kind = _REPORTED.get(outcome.decision)
            if kind is None:
                continue
            message = outcome_message(label, event, outcome)
            self.report.add(kind, message)
            if kind != "superseded":
                owner = outcome.owner or "stage machine"
                rows.append(
                    ConflictRow(
                        "referral", cid, "stage", source, owner, summary=message, run_id=self.run_id
                    )
                )
        if rows:
            self.store.record_conflicts(rows)

    def _record_conflicts(self, conflicts: Sequence[Conflict]) -> None:
        if conflicts:
            self.store.record_conflicts(
                [
                    ConflictRow(
                        c.entity,
                        c.canonical_id,
                        c.field,
                        c.proposing_system,
                        c.owner,
                        run_id=self.run_id,
                    )
                    for c in conflicts
                ]
            )

    def _dialect(self) -> Dialect:
        return self._connector.dialect if self._connector is not None else GENERIC

    def _expected(self, em: EntityMapping, current: dict[str, Any] | None) -> dict[str, Any]:
        if current is None:
            return {}
        try:
            return to_native(em, current, self.ctx, self._dialect())
        except TransformError:
            return {}

    def _reject(self, system: str, obj: str, errors: Sequence[RecordError]) -> None:
        if not errors:
            return
        self._rejected += len(errors)
        rows = [RecordErrorRow.from_error(system, obj, e) for e in errors]
        for row in rows:
            self.report.add(
                "rejects", Reject(row.system, row.object, row.key, row.field, row.code, row.message)
            )
        self.store.record_errors(self.report.job, rows)


_REPORTED = {
    Decision.REFUSED: "refused",
    Decision.CONFLICT: "conflicts",
    Decision.SUPERSEDED: "superseded",
}
_LOG_FIELDS = ("events", "stage_history")  # every new event changes these: not worth listing


def _keyed(err: RecordError, key: str) -> RecordError:
    if not err.key:
        err.key = key
    return err
