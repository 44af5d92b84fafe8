"""Search-index lag: incremental reads look back before the bookmark, and deliver nothing twice.

HubSpot's CRM search reads an index that trails the database: a record changed at ``T`` can
surface in search seconds after records changed later, by which time a bookmark taken from
the newest stamp seen has passed ``T`` (catalogue case C2). So each incremental read asks
search for ``[bookmark - lookback, until]`` (``search_lookback_seconds``, default 120 s),
and drops the records of that overlap it already delivered with the same modified stamp:
the bookmark keeps, as ``recent``, each record id delivered within the lookback of its
position with that stamp (at most :data:`RECENT_CAP` of the newest; beyond that a repeat is
delivered again and the engine counts it ``unchanged``). A record that surfaces later than
the lookback is still missed by incremental reads; a full read (no bookmark) finds it.

The bookmark's position never moves back: pages read inside the overlap carry the old one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from connectors.base import Bookmark
from connectors.hubspot.search import Cursor

__all__ = ["RECENT_CAP", "Lookback", "later"]

RECENT_CAP = 2000

Json = dict[str, Any]


def later(a: Cursor, b: Cursor) -> Cursor:
    """The further of two cursors (``id`` None sorts before every id at the same stamp)."""
    rank_a = (a.ts, -1 if a.id is None else a.id)
    rank_b = (b.ts, -1 if b.id is None else b.id)
    return a if rank_a >= rank_b else b


@dataclass
class Lookback:
    """The overlap of one object's incremental read and what it already delivered."""

    window_ms: int
    seen: dict[int, int] = field(default_factory=dict)  # record id -> modified ms delivered
    repeats: int = 0  # records of the overlap dropped as already delivered

    @classmethod
    def load(cls, since: Bookmark | None, window_ms: int) -> Lookback:
        recent = (since or {}).get("recent") or {}
        try:
            seen = {int(k): int(v) for k, v in dict(recent).items()}
        except (TypeError, ValueError):
            seen = {}  # an unreadable list only costs re-delivering the overlap
        return cls(window_ms, seen)

    def start(self, cursor: Cursor) -> Cursor:
        """Where the search walk starts: ``window`` before the bookmark."""
        if self.window_ms <= 0:
            return cursor
        return Cursor(max(0, cursor.ts - self.window_ms), None)

    def fresh(self, records: Iterable[Json], stamp: Callable[[Json], int]) -> list[Json]:
        """``records`` minus those already delivered at the same stamp; remembers the rest."""
        out = []
        for record in records:
            rid, ms = int(record["id"]), stamp(record)
            if self.seen.get(rid) == ms:
                self.repeats += 1
                continue
            if self.window_ms > 0:
                self.seen[rid] = ms
            out.append(record)
        return out

    def note(self, records: Iterable[Json], stamp: Callable[[Json], int]) -> None:
        """Remember records delivered by a full read."""
        if self.window_ms > 0:
            self.seen.update((int(r["id"]), stamp(r)) for r in records)

    def recent(self, position_ts: int) -> dict[str, int]:
        """The ``recent`` bookmark entry: deliveries within the window of ``position_ts``."""
        floor = position_ts - self.window_ms
        kept = sorted(((ms, rid) for rid, ms in self.seen.items() if ms >= floor), reverse=True)[
            :RECENT_CAP
        ]
        return {str(rid): ms for ms, rid in kept}
