"""What a run (or a plan) did: counts per source and destination, stage moves, conflicts,
rejected records. Plain data: rendered by the CLI, stored as the run's counts, dumped as JSON.

Nothing here holds a field value: keys, field names, codes and counts only (no PHI).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Reject", "RunReport", "Transition"]

_LIST_LIMIT = 200  # a report lists at most this many items of each kind; counts stay exact


@dataclass(frozen=True, slots=True)
class Transition:
    key: str
    before: str | None
    after: str
    system: str

    def describe(self) -> str:
        return f"{self.key}: {self.before or '(new)'} -> {self.after} (from {self.system})"


@dataclass(frozen=True, slots=True)
class Reject:
    system: str
    object: str
    key: str
    field: str
    code: str
    message: str


@dataclass
class RunReport:
    job: str
    dry_run: bool = False
    run_id: int | None = None
    status: str = "running"
    read: Counter[str] = field(default_factory=Counter)  # "source/entity/what" -> n
    written: Counter[str] = field(default_factory=Counter)  # "dest/entity/what" -> n
    transitions: list[Transition] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)  # events about replaced appointments
    stale: list[str] = field(default_factory=list)  # events that arrived after newer ones
    unresolved: list[str] = field(default_factory=list)  # referrers no clinician matches yet
    rejects: list[Reject] = field(default_factory=list)
    updates: list[str] = field(default_factory=list)
    # plan only: what each destination would see change, `REF-1041 Stage__c: A -> B (to x)`
    changes: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)  # files written for people (worklists)
    totals: Counter[str] = field(default_factory=Counter)
    by_stage: Counter[str] = field(default_factory=Counter)  # stage moved to -> n (exact)
    message: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    # referral -> stage moved to (every referral moved this run: a string each, no tuple)
    _moved: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    # referral -> its index in ``transitions`` (the listed ones only, at most _LIST_LIMIT)
    _listed: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def count_read(self, source: str, entity: str, what: str, n: int = 1) -> None:
        if n:
            with self._lock:
                self.read[f"{source}/{entity}/{what}"] += n

    def count_written(self, dest: str, entity: str, what: str, n: int = 1) -> None:
        if n:
            with self._lock:  # destinations are written from threads of their own
                self.written[f"{dest}/{entity}/{what}"] += n

    def add(self, kind: str, item: Any) -> None:
        """Append to one of the listed kinds, keeping the exact total in ``totals``."""
        with self._lock:
            self.totals[kind] += 1
            if isinstance(item, Transition):
                self.by_stage[item.after] += 1
            items = getattr(self, kind)
            if len(items) < _LIST_LIMIT:
                items.append(item)

    def add_transition(self, move: Transition) -> None:
        """One stage move per referral and run: a later move of the same referral extends it
        (``(new) -> scheduled`` then ``scheduled -> completed`` is ``(new) -> completed``)."""
        with self._lock:
            after = self._moved.get(move.key)
            self._moved[move.key] = move.after
            self.by_stage[move.after] += 1
            if after is not None:
                self.by_stage[after] -= 1
                if not self.by_stage[after]:
                    del self.by_stage[after]
                at = self._listed.get(move.key)
                if at is not None:
                    first = self.transitions[at]
                    self.transitions[at] = Transition(move.key, first.before, move.after,
                                                      move.system)  # fmt: skip
                return
            self.totals["transitions"] += 1
            if len(self.transitions) < _LIST_LIMIT:
                self._listed[move.key] = len(self.transitions)
                self.transitions.append(move)

    @property
    def rejected(self) -> int:
        return self.totals["rejects"]

    def exit_code(self) -> int:
        return 1 if self.rejected or self.status == "failed" else 0

    def counts(self) -> dict[str, Any]:
        """The run's figures as stored with the run (JSON-able, value-free)."""
        return {
            "read": dict(self.read),
            "written": dict(self.written),
            "transitions": self.totals["transitions"],
            "conflicts": self.totals["conflicts"],
            "refused": self.totals["refused"],
            "superseded": self.totals["superseded"],
            "stale": self.totals["stale"],
            "unresolved referrers": self.totals["unresolved"],
            "rejected": self.rejected,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "dry_run": self.dry_run,
            "run_id": self.run_id,
            "status": self.status,
            "message": self.message,
            "read": dict(self.read),
            "written": dict(self.written),
            "transitions": [t.describe() for t in self.transitions],
            "conflicts": list(self.conflicts),
            "refused": list(self.refused),
            "superseded": list(self.superseded),
            "stale": list(self.stale),
            "unresolved": list(self.unresolved),
            "updates": list(self.updates),
            "changes": list(self.changes),
            "outputs": list(self.outputs),
            "rejects": [asdict(r) for r in self.rejects],
            "totals": dict(self.totals),
            "by_stage": dict(self.by_stage),
            "rejected": self.rejected,
        }

    def summary(self) -> str:
        writes = sum(
            n
            for k, n in self.written.items()
            if k.rsplit("/", 1)[1] in ("created", "updated", "archived")
        )
        reads = sum(n for k, n in self.read.items() if k.endswith("/read"))
        verb = "would write" if self.dry_run else "wrote"
        return (
            f"{self.job}: {self.status}; read {reads}, {verb} {writes}, "
            f"{self.totals['transitions']} stage moves, {self.totals['conflicts']} conflicts, "
            f"{self.totals['refused']} refused, {self.rejected} rejected"
            + (f" (run {self.run_id})" if self.run_id is not None else "")
        )
