"""The virtual object ``Activity``: outreach kept as Salesforce Tasks *and* Events.

A mapping entity has one native object, but liaisons log outreach in Salesforce both as
Tasks (calls, emails, to-dos) and as Events (calendar meetings and visits). ``Activity``
reads both (bookmark: one per object) and writes Tasks:

- **time**: an Event has ``ActivityDateTime``; a Task only ``ActivityDate`` (a date whose time
  is midnight UTC, as Salesforce documents it), so a Task's ``ActivityDateTime`` is read as
  that midnight. One mapping reads ``ActivityDateTime`` whatever the record's object.
- **kind**: an activity logged in Salesforce itself has no ``Outreach_Kind__c``; it is read
  with the default of its ``Type`` (Meeting, Call, Email), else of its subtype
  (``TaskSubtype`` Call / Email, ``EventSubtype`` Event), else of its object
  (``settings.activity_default_kinds``). A blank ``Subject`` reads as "Salesforce task" /
  "Salesforce event".
- **partner**: ``Account.Refsync_Id__c`` through the derived, read-only ``AccountId`` (the
  What's account, else the Who contact's): a polymorphic ``What.<custom field>`` cannot be
  selected in SOQL.
- **writes**: upserts go to Task, except for keys an Event already carries (one query per 200
  keys), which update that Event with the fields an Event has. Archives and key backfills go
  to whichever object holds the record (by Id prefix for backfills).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from connectors.base import Bookmark, NativeRecord, ReadPage, WriteResult
from connectors.salesforce.writes import ids_by_key
from mapping.errors import SchemaMismatch
from mapping.schema import FieldSchema, ObjectSchema

if TYPE_CHECKING:
    from connectors.salesforce.connector import SalesforceConnector

__all__ = [
    "ACTIVITY",
    "ACTIVITY_OBJECTS",
    "archive_activities",
    "backfill_activity_keys",
    "describe_activities",
    "read_activities",
    "upsert_activities",
]

ACTIVITY = "Activity"
ACTIVITY_OBJECTS = ("Task", "Event")
_KIND = "Outreach_Kind__c"
_WHEN, _DAY = "ActivityDateTime", "ActivityDate"
_SUBTYPE = {"Task": "TaskSubtype", "Event": "EventSubtype"}
_ID_PREFIX = {"00T": "Task", "00U": "Event"}
# What Salesforce keeps itself on an Event (a timed event has no separate date to send).
_EVENT_SKIPS = frozenset({_DAY})


def describe_activities(connector: SalesforceConnector) -> ObjectSchema:
    """Task's and Event's fields and lookup paths (a field exists if either has it)."""
    fields: dict[str, FieldSchema] = {}
    for name in ACTIVITY_OBJECTS:
        for field, schema in {
            **connector.schemas.full(name).fields,
            **connector.schemas.read_paths(name),
        }.items():
            fields.setdefault(field, schema)
    return ObjectSchema(name=ACTIVITY, fields=fields, dialect=connector.dialect)


def read_activities(
    connector: SalesforceConnector,
    *,
    since: Bookmark | None,
    fields: Sequence[str],
    until: datetime | None,
) -> Iterator[ReadPage]:
    """Changed Tasks, then changed Events, as one stream; see the module docstring."""
    union = describe_activities(connector)
    missing = [f for f in fields if f not in union.fields]
    if missing:
        raise SchemaMismatch(
            f"Salesforce Task and Event have no field {', '.join(missing)}; run `refsync "
            "provision salesforce` or fix the mapping"
        )
    marks: dict[str, Any] = dict(since or {})
    for name in ACTIVITY_OBJECTS:
        extras = ["Type", _SUBTYPE[name], _DAY] if _KIND in fields or _WHEN in fields else []
        wanted = [f for f in dict.fromkeys([*fields, *extras])]
        own = [f for f in wanted if connector.schemas.visible(name, f)]
        for page in connector.read(name, since=marks.get(name), fields=own, until=until):
            marks[name] = page.bookmark
            records = [_filled(connector, name, r, fields) for r in page.records]
            yield ReadPage(records, dict(marks))


def _filled(
    connector: SalesforceConnector, name: str, record: NativeRecord, fields: Sequence[str]
) -> NativeRecord:
    values = dict(record.fields)
    if _WHEN in fields and not values.get(_WHEN) and values.get(_DAY):
        values[_WHEN] = f"{str(values[_DAY])[:10]}T00:00:00.000+0000"
    if _KIND in fields and not values.get(_KIND) and not record.deleted:
        defaults = connector.settings.activity_default_kinds
        found = (defaults.get(str(values.get(k) or "")) for k in ("Type", _SUBTYPE[name]))
        values[_KIND] = next((k for k in found if k), defaults.get(name))
    if "Subject" in fields and not values.get("Subject"):
        values["Subject"] = f"Salesforce {name.lower()}"
    kept = {k: v for k, v in values.items() if k in fields or k in ("Id", "SystemModstamp")}
    return NativeRecord(record.id, kept, record.deleted, record.modified_at)


def upsert_activities(
    connector: SalesforceConnector, records: Sequence[Mapping[str, Any]], *, key: str
) -> list[WriteResult]:
    """Tasks by ``key``; a record whose key an Event carries updates that Event."""
    keys = [str(r.get(key)) for r in records if r.get(key) is not None]
    on_event = ids_by_key(
        connector.client, connector.runner, "Event", key, keys, purpose="to update"
    ) if keys else {}  # fmt: skip
    event_fields = connector.schemas.full("Event").fields
    routed: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        routed.setdefault("Event" if str(record.get(key)) in on_event else "Task", []).append(index)
    results: dict[int, WriteResult] = {}
    for name, indexes in routed.items():
        batch = [records[i] for i in indexes]
        if name == "Event":
            batch = [_event_record(r, event_fields) for r in batch]
        for index, result in zip(indexes, connector.upsert(name, batch, key=key), strict=True):
            results[index] = result
    return [results[i] for i in range(len(records))]


def _event_record(record: Mapping[str, Any], fields: Mapping[str, FieldSchema]) -> dict[str, Any]:
    """The part of an outreach record an Event takes (no Task-only Status, no date)."""
    rels = {n.partition(".")[0] for n in fields if "." in n}
    return {k: v for k, v in record.items() if (k in fields or k in rels) and k not in _EVENT_SKIPS}


def archive_activities(
    connector: SalesforceConnector, keys: Sequence[str], *, key: str
) -> list[WriteResult]:
    """Delete by ``key`` from Task and from Event; one result per key."""
    found: dict[str, WriteResult] = {}
    for name in ACTIVITY_OBJECTS:
        for result in connector.archive(name, keys, key=key):
            if result.id is not None or result.key not in found:
                found[result.key] = result
    return [found[k] for k in keys]


def backfill_activity_keys(
    connector: SalesforceConnector, pairs: Sequence[tuple[str, str]], *, key: str
) -> list[WriteResult]:
    """Write canonical ids onto Tasks and Events by their Id prefix (00T, 00U)."""
    by_object: dict[str, list[int]] = {}
    for index, (native_id, _) in enumerate(pairs):
        by_object.setdefault(_ID_PREFIX.get(native_id[:3], "Task"), []).append(index)
    results: dict[int, WriteResult] = {}
    for name, indexes in by_object.items():
        done = connector.backfill_keys(name, [pairs[i] for i in indexes], key=key)
        for index, result in zip(indexes, done, strict=True):
            results[index] = result
    return [results[i] for i in range(len(pairs))]
