"""Associations (v4): read beside records, written after them.

Changing an association does not change either record's modified date, and search does
not return associations, so they are read with the v4 batch read API for every page of
records, and exposed as native fields ``associations.<to_object_type>`` whose values are
**canonical** ids (the targets' ``refsync_id``): a single id for to-one links
(deal -> company, deal -> contact, contact -> company, engagement -> company), a list
otherwise. Writing sets the links to exactly the given targets: missing ones are created
(default association type), stale ones archived.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from connectors.hubspot.ids import IdResolver
from connectors.hubspot.transport import Transport
from mapping.errors import RecordRejected

__all__ = [
    "ASSOCIATION_PREFIX",
    "ENGAGEMENT_TYPES",
    "AssociationStore",
    "association_targets",
    "is_single",
]

ASSOCIATION_PREFIX = "associations."
ENGAGEMENT_TYPES = ("meetings", "calls", "notes", "tasks")
_READ_CHUNK = 1000
_WRITE_CHUNK = 100
_SINGLE = {
    ("deals", "companies"),
    ("deals", "contacts"),
    ("contacts", "companies"),
    *((kind, "companies") for kind in ENGAGEMENT_TYPES),
}


def is_single(from_type: str, to_type: str) -> bool:
    """True when the link is to-one (the field holds one id, not a list)."""
    return (from_type, to_type) in _SINGLE


def association_targets(fields: Iterable[str]) -> list[str]:
    """The ``to`` object types named by ``associations.<type>`` fields."""
    return [f[len(ASSOCIATION_PREFIX) :] for f in fields if f.startswith(ASSOCIATION_PREFIX)]


def _as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value if v not in (None, "")]


class AssociationStore:
    """Batch reads and writes of one object type's associations."""

    def __init__(self, transport: Transport, ids: IdResolver) -> None:
        self._transport = transport
        self._ids = ids

    # -- reads ----------------------------------------------------------------------------

    def current(self, from_type: str, to_type: str, ids: Sequence[str]) -> dict[str, list[str]]:
        """HubSpot ids of ``to_type`` linked to each of ``ids`` (every page followed)."""
        out: dict[str, list[str]] = {i: [] for i in ids}
        pending = [{"id": i} for i in ids]
        while pending:
            chunk, pending = pending[:_READ_CHUNK], pending[_READ_CHUNK:]
            response = self._transport.call(
                "associations_batch",
                "get_page",
                from_type,
                to_type,
                {"inputs": chunk},
                what=f"{from_type}->{to_type} associations batch read",
            )
            for result in (response.data or {}).get("results", []):
                source = str(result["from"]["id"])
                out.setdefault(source, []).extend(
                    str(t["toObjectId"]) for t in result.get("to", [])
                )
                after = ((result.get("paging") or {}).get("next") or {}).get("after")
                if after:
                    pending.append({"id": source, "after": after})
        return out

    def read_fields(
        self, from_type: str, to_types: Sequence[str], ids: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """``{hubspot id: {"associations.<to>": canonical id(s)}}`` for ``ids``."""
        fields: dict[str, dict[str, Any]] = {i: {} for i in ids}
        for to_type in to_types:
            links = self.current(from_type, to_type, ids)
            targets = {t for linked in links.values() for t in linked}
            canonical = self._ids.canonical_ids(to_type, targets)
            for source, linked in links.items():
                keys = [canonical[t] for t in linked if t in canonical]
                value: Any = (keys[0] if keys else None) if is_single(from_type, to_type) else keys
                fields.setdefault(source, {})[ASSOCIATION_PREFIX + to_type] = value
        return fields

    # -- writes ---------------------------------------------------------------------------

    def write(
        self,
        from_type: str,
        wanted: Mapping[str, Mapping[str, Any]],
        *,
        new_ids: frozenset[str] = frozenset(),
    ) -> dict[str, RecordRejected]:
        """Make each record's links exactly ``wanted[hubspot id][to_type]`` (canonical ids).

        Returns the records whose links could not be written (target unknown), by HubSpot id.
        ``new_ids`` were just created, so they have no links yet (no read needed).
        """
        failures: dict[str, RecordRejected] = {}
        to_types = sorted({t for fields in wanted.values() for t in fields})
        for to_type in to_types:
            rows = {i: _as_list(f[to_type]) for i, f in wanted.items() if to_type in f}
            resolved = self._ids.hubspot_ids(to_type, {k for keys in rows.values() for k in keys})
            desired: dict[str, set[str]] = {}
            for source, keys in rows.items():
                unknown = [k for k in keys if k not in resolved]
                if unknown:
                    failures[source] = RecordRejected(
                        f"HubSpot {from_type}: {len(unknown)} associated {to_type} not found by "
                        f"refsync_id; sync the {to_type} first",
                        field=ASSOCIATION_PREFIX + to_type,
                        code="ASSOCIATION_TARGET_MISSING",
                    )
                desired[source] = {resolved[k] for k in keys if k in resolved}
            existing_ids = [i for i in rows if i not in new_ids]
            current = self.current(from_type, to_type, existing_ids) if existing_ids else {}
            self._apply(from_type, to_type, desired, current)
        return failures

    def _apply(
        self,
        from_type: str,
        to_type: str,
        desired: Mapping[str, set[str]],
        current: Mapping[str, list[str]],
    ) -> None:
        create = [
            {"from": {"id": s}, "to": {"id": t}}
            for s, targets in desired.items()
            for t in sorted(targets - set(current.get(s, ())))
        ]
        stale = [
            {
                "from": {"id": s},
                "to": [{"id": t} for t in sorted(set(current.get(s, ())) - targets)],
            }
            for s, targets in desired.items()
            if set(current.get(s, ())) - targets
        ]
        what = f"{from_type}->{to_type} associations"
        for start in range(0, len(stale), _WRITE_CHUNK):
            body = {"inputs": stale[start : start + _WRITE_CHUNK]}
            self._transport.call(
                "associations_batch", "archive", from_type, to_type, body, what=f"{what} archive"
            )
        for start in range(0, len(create), _WRITE_CHUNK):
            body = {"inputs": create[start : start + _WRITE_CHUNK]}  # type: ignore[dict-item]
            self._transport.call(
                "associations_batch",
                "create_default",
                from_type,
                to_type,
                body,
                what=f"{what} create",
            )
