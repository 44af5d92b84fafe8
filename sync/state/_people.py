"""What the people files were written from, so the next run lists again only what changed.

A connection's *people mark* says when its people files were last written (the records
changed since then are the ones to list again), a fingerprint of everything else their rows
depend on (definitions, partners and clinicians, refsync's version) and the SHA-256 of each
file. The *referrer mentions* are, per connection, the referrals whose referring NPI no
clinician holds, with the provider fields the new referrers list shows: it is counted from
them without reading every referral. Neither holds PHI (ids, NPIs, provider names).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sync.state._base import StoreBase, chunks
from sync.state._raw import executemany
from sync.state._schema import people_marks, people_seen, records, referrer_mentions

__all__ = ["Mention", "MentionCount", "PeopleMark", "PeopleMixin"]


Mention = tuple[str, str, str | None, str | None, str | None]
"""(referral id, referring NPI, referring name, referring practice, service line)."""
MentionCount = tuple[str, int, str | None, str | None, tuple[str, ...]]
"""(referring NPI, referrals, referring name, referring practice, service lines)."""


@dataclass(frozen=True)
class PeopleMark:
    """When a connection's people files were written from the store, and what else held."""

    watermark: datetime
    fingerprint: str
    files: Mapping[str, str]  # file name -> SHA-256 of the file as written


class PeopleMixin(StoreBase):
    """People marks, referrer mentions and the records changed since a time."""

    def now(self) -> datetime:
        """The store's clock (the time it stamps on records it stores)."""
        return self._now()

    def latest_change(self, entity: str) -> datetime | None:
        """The latest time stamped on a record of ``entity``. Stamps never go back (see
        ``StoreBase._stamp``), so every later change is stamped at or after it, whatever
        the clocks of the processes."""
        with self._tx(f"read when {entity} records last changed", read_only=True) as conn:
            return self._latest(conn, records.c.updated_at, records.c.entity == entity)

    def changed_since(
        self, entity: str, since: datetime, *, seen_by: str | None = None
    ) -> list[str]:
        """Ids of ``entity``'s records (tombstones included) stored at or after ``since``,
        by the store's clock, read through an index, so it costs what changed; with
        ``seen_by``, less those still at the version :meth:`note_seen` noted for it."""
        query = sa.select(records.c.id).where(
            records.c.entity == entity, records.c.updated_at >= since
        )
        if seen_by is not None:
            seen = people_seen
            query = query.where(
                ~sa.exists().where(
                    seen.c.connection == seen_by,
                    seen.c.entity == records.c.entity,
                    seen.c.record_id == records.c.id,
                    seen.c.version == records.c.version,
                )
            )
        with self._tx(f"read {entity} records changed since", read_only=True) as conn:
            return [str(i) for i in conn.execute(query.order_by(records.c.id)).scalars()]

    def note_seen(self, connection: str, entity: str, since: datetime) -> None:
        """Note, for ``connection``, the version of each of ``entity``'s records stored at
        or after ``since`` (replacing what was noted before), in one statement: a later
        :meth:`changed_since` with ``seen_by`` leaves out those still at that version.

        Note them before reading the records they stand for: a record that a transaction
        still in flight stamped is noted at its old version (or not at all), so it counts
        as changed next time, whenever that transaction commits."""
        picked = sa.select(
            sa.literal(connection), records.c.entity, records.c.id, records.c.version
        ).where(records.c.entity == entity, records.c.updated_at >= since)
        seen = people_seen
        with self._tx(f"note the {entity} records seen") as conn:
            conn.execute(
                seen.delete().where(seen.c.connection == connection, seen.c.entity == entity)
            )
            conn.execute(
                seen.insert().from_select(["connection", "entity", "record_id", "version"], picked)
            )

    def people_mark(self, connection: str) -> PeopleMark | None:
        """The mark :meth:`set_people_mark` left for ``connection``, if any."""
        query = sa.select(people_marks).where(people_marks.c.connection == connection)
        with self._tx("read the people mark", read_only=True) as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return PeopleMark(row.watermark, row.fingerprint, dict(row.files))

    def set_people_mark(self, connection: str, mark: PeopleMark | None) -> None:
        """Remember (or, with None, forget) ``connection``'s people mark."""
        with self._tx("store the people mark") as conn:
            conn.execute(people_marks.delete().where(people_marks.c.connection == connection))
            if mark is not None:
                row = {"connection": connection, "watermark": mark.watermark,
                       "fingerprint": mark.fingerprint, "files": dict(mark.files)}  # fmt: skip
                conn.execute(people_marks.insert(), row)

    def replace_mentions(
        self, connection: str, mentions: Iterable[Mention], *, of: Collection[str] | None
    ) -> None:
        """Replace the mentions of the referrals ``of`` (None: all of them) by ``mentions``
        (each must be of one of those referrals)."""
        table = referrer_mentions
        rows = [
            {"referral_id": m[0], "npi": m[1], "name": m[2], "practice": m[3],
             "service_line": m[4]}
            for m in mentions
        ]  # fmt: skip
        with self._tx("store referrer mentions") as conn:
            mine = table.c.connection == connection
            if of is None:
                conn.execute(table.delete().where(mine))
            else:
                for ids in chunks(list(of)):
                    conn.execute(table.delete().where(mine, self._in(table.c.referral_id, ids)))
            executemany(conn, table.insert(), {"connection": connection}, rows)

    def mention_counts(self, connection: str) -> list[MentionCount]:
        """Per NPI of ``connection``'s mentions (in NPI order): how many, the name and
        practice of the last mention in referral id order that gives a name (of the first
        when none does), and the service lines named (sorted). Counted in SQL, in one scan
        grouped by NPI and service line: the rows that come back follow the NPIs and their
        lines, not the referrals."""
        mine = referrer_mentions.c.connection == connection
        counts: dict[str, int] = {}
        lines: dict[str, set[str]] = {}
        first: dict[str, str] = {}
        named: dict[str, str] = {}
        with self._tx("count referrer mentions", read_only=True) as conn:
            for npi, line, n, low, high in conn.execute(_per_line(mine)):
                counts[npi] = counts.get(npi, 0) + int(n)
                lines.setdefault(npi, set())
                if line:
                    lines[npi].add(line)
                first[npi] = min(first.get(npi, low), low)
                if high is not None:
                    named[npi] = max(named.get(npi, high), high)
            names = self._names_of(conn, mine, [named.get(n, first[n]) for n in counts])
        return [(npi, counts[npi], *names[npi], tuple(sorted(lines[npi])))
                for npi in sorted(counts)]  # fmt: skip

    def _names_of(
        self, conn: Connection, mine: sa.ColumnElement[bool], ids: list[str]
    ) -> dict[str, tuple[str | None, str | None]]:
        table = referrer_mentions
        names: dict[str, tuple[str | None, str | None]] = {}
        for batch in chunks(ids):
            query = sa.select(table.c.npi, table.c.name, table.c.practice).where(
                mine, self._in(table.c.referral_id, batch)
            )
            names.update({n: (a, p) for n, a, p in conn.execute(query)})
        return names


def _per_line(mine: sa.ColumnElement[bool]) -> sa.Select[Any]:
    """Per NPI and service line: mentions, the first referral id, the last that names."""
    table = referrer_mentions
    gives_name = sa.and_(table.c.name.is_not(None), table.c.name != "")
    last_named = sa.func.max(sa.case((gives_name, table.c.referral_id)))
    first = sa.func.min(table.c.referral_id)
    query = sa.select(table.c.npi, table.c.service_line, sa.func.count(), first, last_named)
    return query.where(mine).group_by(table.c.npi, table.c.service_line)
