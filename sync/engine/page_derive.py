"""Referral derivation on the page that merged them, while their data is still in memory.

:func:`sync.engine.derive_pass.derive_referrals` reads every referral a run touched again
after the read phase, opens (decrypts) it, derives it and stores it again: for a first run,
a second read, decryption, encryption and write per referral. A :class:`PageDeriver` derives
the referrals of a merged page before the page stores them, so they are stored once, already
derived; the pass then skips them (``prederived``) and only handles the rest.

The result is the pass's, because what derivation reads is settled when the page is merged:

- the run's definitions, clock and time zone are fixed for the run;
- the clinicians: a reader derives on its pages only when no clinician read step follows in
  the run (:func:`derives_on_page`), so every clinician the pass would see is already stored;
- the referral itself: one that a later page changes again is marked unsettled and left to
  the pass (it derives it again, from its final merged data; a referrer link its first page
  made still counts, as the pass alone would have made it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from mapping.model import QualifiedReferralDefinition
from sync.engine.derive_pass import Lookups, Outcome, derive_one
from sync.state import StateStore, StoredRecord

__all__ = ["PageDeriver", "derives_on_page"]

Puts = dict[str, tuple[dict[str, Any], bool]]


def derives_on_page(steps: Sequence[str], index: int) -> bool:
    """Whether the read step ``index`` of a run (entities in run order) may derive referrals
    on its pages: it reads referrals and no later step reads clinicians (they could change
    the referrer a referral links to)."""
    return steps[index] == "referral" and "clinician" not in steps[index + 1 :]


@dataclass
class PageDeriver:
    """Derives the referrals of each merged page; remembers what it found per referral."""

    store: StateStore
    definitions: list[QualifiedReferralDefinition]
    now: datetime
    tz: ZoneInfo
    # what each referral's page found; a referral in it was derived or changed by a page
    derived: dict[str, Outcome] = field(default_factory=dict)

    def derive(self, puts: Puts, stored: Mapping[str, StoredRecord]) -> Puts:
        """``puts`` with the live referrals that change derived. A referral an earlier page
        already changed is left as merged and marked unsettled: the run's pass derives it."""
        wanted: dict[str, dict[str, Any]] = {}
        for cid, (data, tombstone) in puts.items():
            old = stored.get(cid)
            if tombstone or (old is not None and not old.tombstone and old.data == data):
                continue  # the pass would not see it either: it is not stored as changed
            earlier = self.derived.get(cid)
            if earlier is not None:  # the pass derives it from its final data
                self.derived[cid] = Outcome(links=earlier.links, settled=False)
            else:
                wanted[cid] = data
        if not wanted:
            return puts
        lookups = Lookups.of(self.store, list(wanted.values()))
        out = dict(puts)
        for cid, data in wanted.items():
            new, outcome = derive_one(data, lookups, self.definitions, now=self.now, tz=self.tz)
            out[cid] = (new, False)
            self.derived[cid] = outcome
        return out
