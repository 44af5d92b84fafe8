"""The virtual object ``engagements``: outreach as meetings, calls, notes or tasks.

A mapping entity has one native object, but HubSpot keeps outreach in four object types
with type-specific property names. ``engagements`` routes each written record by its
``refsync_outreach_kind`` (``settings.engagement_routes``: visit/seminar/... -> meetings,
call -> calls, email/newsletter -> notes, task -> tasks) and sends only the properties that
type has. Reads walk all four types (bookmark: one per type) and fill the title/body alias
groups, so one mapping reads ``hs_meeting_title`` whatever the record's type. An engagement a
liaison logged in HubSpot itself (no ``refsync_outreach_kind``) is read with the default kind
of its type (``settings.default_kinds``: meeting -> visit, call -> call, note -> email), and a
note, which has no title, with the subject "HubSpot note".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from connectors.base import Bookmark, NativeRecord, ReadPage, WriteResult
from connectors.hubspot.associations import ASSOCIATION_PREFIX, ENGAGEMENT_TYPES
from connectors.hubspot.describe import HUBSPOT_DIALECT
from mapping.errors import SchemaMismatch
from mapping.schema import FieldSchema, ObjectSchema

if TYPE_CHECKING:
    from connectors.hubspot.connector import HubSpotConnector

__all__ = [
    "ALIASES",
    "KIND_PROPERTY",
    "archive_engagements",
    "describe_engagements",
    "read_engagements",
    "route",
    "upsert_engagements",
]

KIND_PROPERTY = "refsync_outreach_kind"
ALIASES: tuple[tuple[str, ...], ...] = (
    ("hs_meeting_title", "hs_call_title", "hs_task_subject"),
    ("hs_meeting_body", "hs_call_body", "hs_note_body", "hs_task_body"),
)


def route(connector: HubSpotConnector, record: Mapping[str, Any]) -> str:
    """The engagement type a record goes to (notes when the kind is unknown)."""
    kind = str(record.get(KIND_PROPERTY) or "").strip().lower().replace(" ", "_")
    return connector.settings.engagement_routes.get(kind, "notes")


def describe_engagements(connector: HubSpotConnector) -> ObjectSchema:
    """Union of the four types' fields (a field exists if any type has it)."""
    fields: dict[str, FieldSchema] = {}
    for kind in ENGAGEMENT_TYPES:
        for name, schema in connector.describe(kind).fields.items():
            fields.setdefault(name, schema)
    return ObjectSchema(name="engagements", fields=fields, dialect=HUBSPOT_DIALECT)


def read_engagements(
    connector: HubSpotConnector, *, since: Bookmark | None, fields: Sequence[str], until: Any
) -> Iterator[ReadPage]:
    union = describe_engagements(connector)
    missing = [f for f in fields if f not in union.fields]
    if missing:
        raise SchemaMismatch(
            f"HubSpot engagements have no propert{'y' if len(missing) == 1 else 'ies'} "
            f"{', '.join(missing)}; run `refsync provision hubspot --apply` or fix the mapping"
        )
    marks: dict[str, Any] = dict(since or {})
    for kind in ENGAGEMENT_TYPES:
        own = connector.describe(kind).fields
        wanted = [*fields, *(n for group in ALIASES if set(group) & set(fields) for n in group)]
        kind_fields = [f for f in dict.fromkeys(wanted) if f in own]
        for page in connector.read(kind, since=marks.get(kind), fields=kind_fields, until=until):
            marks[kind] = page.bookmark
            defaults = _defaults(connector, kind, fields)
            records = [_aliased(r, fields, defaults) for r in page.records]
            yield ReadPage(records, dict(marks))


def _defaults(connector: HubSpotConnector, kind: str, fields: Sequence[str]) -> dict[str, str]:
    """What an engagement logged natively in HubSpot lacks: refsync's kind (by its type) and,
    for a note, which has no title, a subject naming what it is."""
    out: dict[str, str] = {}
    default_kind = connector.settings.default_kinds.get(kind)
    if KIND_PROPERTY in fields and default_kind:
        out[KIND_PROPERTY] = default_kind
    for name in ALIASES[0]:
        if name in fields:
            out[name] = f"HubSpot {kind.removesuffix('s')}"
    return out


def _aliased(
    record: NativeRecord, fields: Sequence[str], defaults: Mapping[str, str]
) -> NativeRecord:
    values = dict(record.fields)
    for group in ALIASES:
        found = next((values[n] for n in group if values.get(n) not in (None, "")), None)
        for name in group:
            if name in fields:
                values.setdefault(name, found)
                if values[name] in (None, ""):
                    values[name] = found
    for name, default in defaults.items():
        if values.get(name) in (None, ""):
            values[name] = default
    return NativeRecord(record.id, values, record.deleted, record.modified_at)


def upsert_engagements(
    connector: HubSpotConnector, records: Sequence[Mapping[str, Any]], *, key: str
) -> list[WriteResult]:
    by_type: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        by_type.setdefault(route(connector, record), []).append(index)
    results: dict[int, WriteResult] = {}
    for kind, indexes in by_type.items():
        own = connector.describe(kind).fields
        subset = [
            {
                k: v
                for k, v in records[i].items()
                if k in own or k == key or k.startswith(ASSOCIATION_PREFIX)
            }
            for i in indexes
        ]
        for index, result in zip(
            indexes, connector.upsert_object(kind, subset, key=key), strict=True
        ):
            results[index] = result
    return [results[i] for i in range(len(records))]


def archive_engagements(
    connector: HubSpotConnector, keys: Sequence[str], *, key: str
) -> list[WriteResult]:
    found: dict[str, WriteResult] = {}
    for kind in ENGAGEMENT_TYPES:
        for result in connector.archive(kind, keys, key=key):
            if result.id is not None or result.key not in found:
                found[result.key] = result
    return [found[k] for k in keys]
