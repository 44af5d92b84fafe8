"""Partner rollups, computed incrementally: only the partners whose referrals, outreach,
clinicians or own record changed in this run are recomputed, and of their referrals only the
ones that changed are read.

A partner's rollup is its counts (total, completed, open referrals; last referral and last
outreach) and its measures over the rollup window (``measures.rollup_days``). Finding the
partners a change concerns takes the membership index of :mod:`sync.engine.rollup_index`.
Recomputing one takes, per referral, what the rollup reads of it: an entry
(:class:`mapping.rollup.Entry`), kept per partner in ``rollup_entries`` with the referral's
record version, sealed like the referral's care dates it holds. A run builds entries for the
referrals it changed (and any the partner's list holds without one), keeps the others, and
folds the partner's entries as of now (:func:`mapping.rollup.partner_rollup`), so its cost
follows the referrals that changed. Why: recomputed from the canonical referrals, the rollup
of a partner with 32,000 referrals opened and validated every one of them on each run that
changed one (4.5 of 5.8 s of a 1,000-change run among 100,000 linked referrals).

Entries depend on the referral and the qualified-referral definitions only. The window
moves with the calendar even when no record changes, so the first run of each day (or after
``measures:`` settings or the definitions change) rebuilds the index, checks every entry's
version against its referral's (a referral stored by a run that stopped before its rollups
is caught there), and recomputes every partner; changed definitions rebuild every entry.
Partner records are stored only when a value changed, so the write ledger sends a partner to
the CRMs only when its rollup (or the partner itself) changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import orjson
from pydantic import BaseModel, ValidationError

from config.models import MeasuresConfig
from mapping.measures import MeasureConfig
from mapping.model import (
    Clinician,
    OutreachActivity,
    Partner,
    QualifiedReferralDefinition,
    Referral,
)
from mapping.rollup import Entry, PartnerRollup, entry_of, partner_rollup
from sync.engine.rollup_index import (
    CHUNK,
    INDEX,
    MEMBER,
    load_live,
    members_of,
    rebuild_index,
    reindex,
)
from sync.state import StateStore, StoredRecord

__all__ = [
    "ENTRIES",
    "INDEX",
    "MEMBER",
    "ROLLUP_FIELDS",
    "RollupResult",
    "rollup_fields",
    "update_rollups",
]

ENTRIES = "rollup_entries"
_M = TypeVar("_M", bound=BaseModel)
_MARKER = ("rollup_marker", "day")
ROLLUP_FIELDS = frozenset({
    "referrals_total", "referrals_completed", "referrals_open", "last_referral_at",
    "last_referral_week", "last_outreach_at", "referrals_recent", "acceptance_rate",
    "leakage_rate", "median_days_to_schedule", "referrals_after_outreach", "referral_trend",
    "derived_status",
})  # fmt: skip
"""The partner fields a rollup pass writes (the keys of :func:`rollup_fields`)."""


@dataclass(slots=True)
class RollupResult:
    """What one rollup pass did: partners recomputed and stored, and whether in full."""

    full: bool = False
    recomputed: int = 0
    changed: list[str] = field(default_factory=list)
    unreadable: int = 0
    referrals_read: int = 0  # referrals opened to build their entries (the pass's main cost)


@dataclass(frozen=True, slots=True)
class _Pass:
    """What every partner of one pass is recomputed with."""

    definitions: Sequence[QualifiedReferralDefinition]
    fingerprint: str  # of the definitions: entries built under others are rebuilt
    changed: Collection[str]  # referrals this run changed: their entries are rebuilt
    versions: Mapping[str, int] | None  # the day's first run: every linked referral's version
    now: datetime
    config: MeasureConfig
    tz: ZoneInfo


def update_rollups(
    store: StateStore,
    touched: Mapping[str, Iterable[str]],
    definitions: Sequence[QualifiedReferralDefinition],
    *,
    now: datetime,
    settings: MeasuresConfig,
    tz: ZoneInfo,
) -> RollupResult:
    """Recompute the rollups of the partners ``touched`` records (entity -> ids) affect."""
    fingerprint = _fingerprint(definitions)
    marker = {
        "day": now.astimezone(tz).date().isoformat(),
        "settings": settings.model_dump(),
        "definitions": fingerprint,  # targets are read when entries are built
    }
    stored = store.get_record(*_MARKER)
    full = stored is None or stored.tombstone or stored.data != marker
    result = RollupResult(full=full)
    versions: dict[str, int] | None = None
    if full:
        affected, versions = rebuild_index(store)
        affected |= set(store.record_ids(ENTRIES))  # a deleted partner's, to be dropped
    else:
        members = members_of(store, {k: list(dict.fromkeys(v)) for k, v in touched.items()})
        affected = reindex(store, members) | set(touched.get("partner", ()))
    config = MeasureConfig(
        windows=(settings.rollup_days,),
        attribution_days=settings.attribution_days,
        trend_days=settings.trend_days,
        trend_threshold=settings.trend_threshold,
        active_days=settings.active_days,
    )
    run = _Pass(
        definitions, fingerprint, frozenset(touched.get("referral", ())),
        versions, now, config, tz,
    )  # fmt: skip
    for start in range(0, len(ordered := sorted(affected)), CHUNK):
        _recompute(store, ordered[start : start + CHUNK], run, result)
    if full:
        store.put_records(_MARKER[0], [(_MARKER[1], marker, False)])
    return result


def _fingerprint(definitions: Sequence[QualifiedReferralDefinition]) -> str:
    dumped = [d.model_dump(mode="json") for d in definitions]
    return hashlib.sha256(orjson.dumps(dumped, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _recompute(store: StateStore, pids: Sequence[str], run: _Pass, result: RollupResult) -> None:
    partners = load_live(store, "partner", pids)
    index = load_live(store, INDEX, sorted(partners))
    stored = store.get_records(ENTRIES, pids)
    kept = {pid: _kept(stored.get(pid), run) for pid in partners}
    lists = {pid: index.get(pid, {}).get("referrals") or [] for pid in partners}
    needed = sorted({i for pid, ids in lists.items() for i in ids if i not in kept[pid]})
    built = _build(store, needed, run, result)
    clinicians = _models(
        load_live(store, "clinician", _union(index, "clinicians")), Clinician, result
    )
    # a kept entry is stored again as the row it was read as (no copy of 100,000 rows)
    rows_of = {pid: [r for i in ids if (r := _row(built.get(i)) or kept[pid].get(i))]
               for pid, ids in lists.items()}  # fmt: skip
    entries = {pid: [Entry._make(r) for r in rows] for pid, rows in rows_of.items()}
    near = _Near.of(_outreach(store, index, clinicians, entries, result), clinicians)
    valid = {p.id for p in _models(partners, Partner, result)}
    updates, saved = [], []
    for pid, data in partners.items():
        if pid not in valid:
            continue  # a partner record that no longer fits the model: counted unreadable
        if (new := {**data, **_fields(pid, entries[pid], near, run)}) != data:
            updates.append((pid, new, False))
        rows = {"definitions": run.fingerprint, "entries": rows_of[pid]}
        if (was := stored.get(pid)) is None or was.tombstone or was.data != rows:
            saved.append((pid, rows, False))
    result.recomputed += len(partners)
    # the entries of a partner no longer live go with it (they hold its referrals' dates)
    saved += [(pid, {}, True) for pid, was in stored.items()
              if pid not in partners and not was.tombstone]  # fmt: skip
    if saved:
        store.put_records(ENTRIES, saved, read=stored)
    if updates:
        result.changed += store.put_records("partner", updates).changed


def _fields(pid: str, entries: Sequence[Entry], near: _Near, run: _Pass) -> dict[str, Any]:
    """One partner's rollup fields, folded from its entries and its own outreach."""
    staff = near.staff.get(pid, [])
    rolled = partner_rollup(
        pid, entries, staff, near.to(pid, staff, entries), now=run.now, config=run.config
    )
    return rollup_fields(rolled, run.tz)


def _row(entry: Entry | None) -> list[Any] | None:
    return None if entry is None else list(entry)


def _kept(record: StoredRecord | None, run: _Pass) -> dict[str, list[Any]]:
    """The stored entries (rows, as read) still good: built under these definitions, of a
    referral this run did not change, and (on the day's first run) from the version its
    referral has now."""
    if record is None or record.tombstone or record.data.get("definitions") != run.fingerprint:
        return {}
    versions, width = run.versions, len(Entry._fields)
    return {
        row[0]: row
        for row in record.data.get("entries") or ()
        if len(row) == width
        and row[0] not in run.changed
        and (versions is None or versions.get(row[0]) == row[1])
    }


def _build(
    store: StateStore, ids: Sequence[str], run: _Pass, result: RollupResult
) -> dict[str, Entry]:
    """The entries of ``ids``, from their stored referrals (opened), a chunk at a time."""
    out: dict[str, Entry] = {}
    for start in range(0, len(ids), CHUNK):
        for rid, rec in store.get_records("referral", ids[start : start + CHUNK]).items():
            if rec.tombstone:
                continue
            result.referrals_read += 1
            try:
                referral = Referral.model_validate(rec.data)
            except ValidationError:
                result.unreadable += 1
                continue
            out[rid] = entry_of(referral, rec.version, run.definitions)
    return out


def _outreach(
    store: StateStore,
    index: Mapping[str, Mapping[str, Any]],
    clinicians: Sequence[Clinician],
    entries: Mapping[str, Sequence[Entry]],
    result: RollupResult,
) -> list[OutreachActivity]:
    """The outreach the partners' rollups read: what counts for them (to them or their
    staff), and what counts for the practice of a clinician of one of their referrals that
    works elsewhere (outreach to that clinician touches the referral too)."""
    known = {c.id for c in clinicians}
    elsewhere = sorted({e.clinician_id for rows in entries.values() for e in rows
                        if e.clinician_id and e.clinician_id not in known})  # fmt: skip
    practices = {
        d.get("partner_id") for d in load_live(store, "clinician", elsewhere, opened=False).values()
    }
    more = sorted(p for p in practices if p and p not in index)
    lists = {**index, **load_live(store, INDEX, more)}
    return _models(
        load_live(store, "outreach", _union(lists, "outreach")), OutreachActivity, result
    )


@dataclass(frozen=True, slots=True)
class _Near:
    """The chunk's outreach by partner and by clinician, and each partner's staff, so each
    partner's fold sees its own activities only (with 1,000 partners and 10,000 activities,
    each fold going through all of them made the pass three times slower)."""

    by_partner: Mapping[str, list[OutreachActivity]]
    by_clinician: Mapping[str, list[OutreachActivity]]
    staff: Mapping[str, list[str]]

    @classmethod
    def of(cls, outreach: Iterable[OutreachActivity], clinicians: Iterable[Clinician]) -> _Near:
        by_partner: dict[str, list[OutreachActivity]] = {}
        by_clinician: dict[str, list[OutreachActivity]] = {}
        for o in outreach:
            by_partner.setdefault(o.partner_id or "", []).append(o)
            for c in set(o.clinician_ids):
                by_clinician.setdefault(c, []).append(o)
        staff: dict[str, list[str]] = {}
        for clinician in clinicians:
            staff.setdefault(clinician.partner_id or "", []).append(clinician.id)
        return cls(by_partner, by_clinician, staff)

    def to(
        self, pid: str, staff: Iterable[str], entries: Iterable[Entry]
    ) -> list[OutreachActivity]:
        """The activities to the partner, its staff or a clinician of one of its referrals."""
        found = {id(o): o for o in self.by_partner.get(pid, [])}
        for c in {*staff, *(e.clinician_id for e in entries if e.clinician_id)}:
            found |= {id(o): o for o in self.by_clinician.get(c, [])}
        return list(found.values())


def _union(index: Mapping[str, Mapping[str, Any]], name: str) -> list[str]:
    return sorted({i for lists in index.values() for i in lists.get(name) or ()})


def _models(
    records: Mapping[str, dict[str, Any]], model: type[_M], result: RollupResult
) -> list[_M]:
    out: list[_M] = []
    for data in records.values():
        try:
            out.append(model.model_validate(data))
        except ValidationError:
            result.unreadable += 1
    return out


def rollup_fields(rolled: PartnerRollup, tz: ZoneInfo) -> dict[str, Any]:
    """The rollup fields of one partner (JSON values, as the partner record stores them)."""
    last = datetime.fromisoformat(rolled.last_received) if rolled.last_received else None
    return {
        "referrals_total": rolled.total,
        "referrals_completed": rolled.completed,
        "referrals_open": rolled.open,
        "last_referral_at": rolled.last_received,
        "last_referral_week": _week(last, tz),
        "last_outreach_at": rolled.last_outreach.isoformat() if rolled.last_outreach else None,
        "referrals_recent": rolled.recent,
        "acceptance_rate": _percent(rolled.acceptance.value),
        "leakage_rate": _percent(rolled.leakage.value),
        "median_days_to_schedule": _round(rolled.to_schedule.median),
        "referrals_after_outreach": rolled.after_outreach,
        "referral_trend": rolled.trend.value,
        "derived_status": rolled.status.value,
    }


def _percent(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _week(at: datetime | None, tz: ZoneInfo) -> str | None:
    if at is None:
        return None
    year, week, _ = at.astimezone(tz).isocalendar()
    return f"{year}-W{week:02d}"
