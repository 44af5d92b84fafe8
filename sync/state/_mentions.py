"""Referrer mentions and their tallies: what the new referrers list is counted from.

The *referrer mentions* are, per connection, the referrals whose referring NPI no clinician
holds, with the provider fields the new referrers list shows. Their *tallies* hold, per
connection, NPI and service line, how many mentions there are, the first referral id and
the last one that gives a name. :meth:`MentionsMixin.replace_mentions` keeps them in the
same transaction as the mentions, from the mentions it removes and adds alone (a group's
first or last named id that goes is found again through an index), so a run that changed K
referrals pays for K, and :meth:`MentionsMixin.mention_counts` reads one row per NPI and
line, however many referrals name them. Neither holds PHI (ids, NPIs, provider names).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sync.state._base import StoreBase, chunks
from sync.state._raw import executemany
from sync.state._schema import referrer_mentions, referrer_tallies

__all__ = ["Mention", "MentionCount", "MentionsMixin"]


Mention = tuple[str, str, str | None, str | None, str | None]
"""(referral id, referring NPI, referring name, referring practice, service line)."""
MentionCount = tuple[str, int, str | None, str | None, tuple[str, ...]]
"""(referring NPI, referrals, referring name, referring practice, service lines)."""

_Group = tuple[str, str]  # (NPI, service line; '' for none)
_Tally = tuple[int, str, str | None]  # (mentions, first id, last id that gives a name)


@dataclass
class _Change:
    """What one call does to a group: mentions added less removed, the ids removed, the
    lowest id added and the highest added that gives a name."""

    count: int = 0
    gone: set[str] = field(default_factory=set)
    low: str | None = None
    named: str | None = None


class MentionsMixin(StoreBase):
    """Referrer mentions per connection, and their tallies per NPI and service line."""

    def replace_mentions(
        self, connection: str, mentions: Iterable[Mention], *, of: Collection[str] | None
    ) -> None:
        """Replace the mentions of the referrals ``of`` (None: all of them) by ``mentions``
        (each must be of one of those referrals), and their tallies with them."""
        rows = [
            {"referral_id": m[0], "npi": m[1], "name": m[2], "practice": m[3],
             "service_line": m[4] or ""}
            for m in mentions
        ]  # fmt: skip
        with self._tx("store referrer mentions") as conn:
            if of is None:
                for table in (referrer_mentions, referrer_tallies):
                    conn.execute(table.delete().where(table.c.connection == connection))
                removed: list[tuple[str, str, str]] = []
            else:
                removed = self._take_mentions(conn, connection, list(of))
            executemany(conn, referrer_mentions.insert(), {"connection": connection}, rows)
            self._retally(conn, connection, _changes(removed, rows))

    def mention_counts(self, connection: str) -> list[MentionCount]:
        """Per NPI of ``connection``'s mentions (in NPI order): how many, the name and
        practice of the last mention in referral id order that gives a name (of the first
        when none does), and the service lines named (sorted). Read from the tallies: the
        rows read follow the NPIs and their lines, not the referrals."""
        t = referrer_tallies
        query = sa.select(t.c.npi, t.c.service_line, t.c.mentions, t.c.first_id,
                          t.c.last_named_id).where(t.c.connection == connection)  # fmt: skip
        counts: dict[str, int] = {}
        lines: dict[str, set[str]] = {}
        first: dict[str, str] = {}
        named: dict[str, str] = {}
        with self._tx("count referrer mentions", read_only=True) as conn:
            for npi, line, n, low, high in conn.execute(query):
                counts[npi] = counts.get(npi, 0) + int(n)
                lines.setdefault(npi, set())
                if line:
                    lines[npi].add(line)
                first[npi] = min(first.get(npi, low), low)
                if high is not None:
                    named[npi] = max(named.get(npi, high), high)
            ids = [named.get(n, first[n]) for n in counts]
            names = self._names_of(conn, connection, ids)
        return [(npi, counts[npi], *names[npi], tuple(sorted(lines[npi])))
                for npi in sorted(counts)]  # fmt: skip

    def _take_mentions(
        self, conn: Connection, connection: str, ids: list[str]
    ) -> list[tuple[str, str, str]]:
        """Delete the mentions of the referrals ``ids``; (id, NPI, line) of each deleted."""
        table = referrer_mentions
        taken: list[tuple[str, str, str]] = []
        for batch in chunks(ids):
            # by the key: a SELECT here would rather scan the group index, which covers it
            query = table.delete().where(
                table.c.connection == connection, self._in(table.c.referral_id, batch)
            )
            returned = query.returning(table.c.referral_id, table.c.npi, table.c.service_line)
            taken.extend((i, n, line or "") for i, n, line in conn.execute(returned))
        return taken

    def _retally(self, conn: Connection, connection: str, changes: dict[_Group, _Change]) -> None:
        """Bring the tallies of the groups ``changes`` touched up to date (the mentions
        already are): counts by the difference, first and last named ids by the ids added,
        or through the index when the one a tally held was removed."""
        if not changes:
            return
        old = self._tallies(conn, connection, sorted({npi for npi, _ in changes}))
        new: list[dict[str, Any]] = []
        for group, change in changes.items():
            count, first, last = old.get(group, (0, None, None))
            if count + change.count <= 0:
                continue
            # an edge that goes is found again; else it is the old one's or an added id
            if first in change.gone:
                first = _bound(conn, connection, group, named=False)
            else:
                first = min(i for i in (first, change.low) if i is not None)
            if last in change.gone:
                last = _bound(conn, connection, group, named=True)
            elif change.named is not None:
                last = change.named if last is None else max(last, change.named)
            new.append({"npi": group[0], "service_line": group[1],
                        "mentions": count + change.count, "first_id": first,
                        "last_named_id": last})  # fmt: skip
        t = referrer_tallies
        gone = t.delete().where(t.c.connection == connection, t.c.npi == sa.bindparam("g_npi"),
                                t.c.service_line == sa.bindparam("g_line"))  # fmt: skip
        conn.execute(gone, [{"g_npi": n, "g_line": line} for n, line in changes])
        executemany(conn, t.insert(), {"connection": connection}, new)

    def _tallies(self, conn: Connection, connection: str, npis: list[str]) -> dict[_Group, _Tally]:
        t = referrer_tallies
        found: dict[_Group, _Tally] = {}
        for batch in chunks(npis):
            query = sa.select(t.c.npi, t.c.service_line, t.c.mentions, t.c.first_id,
                              t.c.last_named_id).where(t.c.connection == connection,
                                                       self._in(t.c.npi, batch))  # fmt: skip
            found.update({(n, line): (int(c), f, ln) for n, line, c, f, ln in conn.execute(query)})
        return found

    def _names_of(
        self, conn: Connection, connection: str, ids: list[str]
    ) -> dict[str, tuple[str | None, str | None]]:
        table = referrer_mentions
        names: dict[str, tuple[str | None, str | None]] = {}
        for batch in chunks(ids):
            query = sa.select(table.c.npi, table.c.name, table.c.practice).where(
                table.c.connection == connection, self._in(table.c.referral_id, batch)
            )
            names.update({n: (a, p) for n, a, p in conn.execute(query)})
        return names


def _changes(
    removed: Iterable[tuple[str, str, str]], added: Iterable[dict[str, Any]]
) -> dict[_Group, _Change]:
    changes: dict[_Group, _Change] = {}
    for rid, npi, line in removed:
        change = changes.setdefault((npi, line), _Change())
        change.count -= 1
        change.gone.add(rid)
    for row in added:
        change = changes.setdefault((row["npi"], row["service_line"]), _Change())
        change.count += 1
        rid = row["referral_id"]
        change.low = rid if change.low is None else min(change.low, rid)
        if row["name"]:
            change.named = rid if change.named is None else max(change.named, rid)
    return changes


def _bound(conn: Connection, connection: str, group: _Group, *, named: bool) -> str | None:
    """The lowest referral id of ``group``'s mentions, or with ``named`` the highest of those
    that give a name: one probe of the index on (connection, NPI, line, id), or of its
    partial twin over the named mentions."""
    table = referrer_mentions
    where = [table.c.connection == connection, table.c.npi == group[0],
             table.c.service_line == group[1]]  # fmt: skip
    if named:
        where.append(table.c.name != "")  # the named index's own condition
    edge = sa.func.max if named else sa.func.min
    found = conn.execute(sa.select(edge(table.c.referral_id)).where(*where)).scalar()
    return None if found is None else str(found)
