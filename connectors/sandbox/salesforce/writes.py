"""Validating and applying writes: create, update, upsert by external id, delete.

Every write path (single-record REST, sObject Collections, Bulk API 2.0) goes through
:class:`Writer`, so the field-level rules are the same everywhere and come from the describe
schema: unknown fields, read-only fields, required fields, text lengths, restricted
picklists, lookups (ids and nested external-id references such as
``{"Partner__r": {"Refsync_Id__c": "x"}}``), unique external ids, and injected row locks.
A per-record problem raises :class:`RecordFailure` (``statusCode`` style); a malformed value
raises the request-level :class:`ApiError` the JSON parser would.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from connectors.sandbox.common import FaultPlan
from connectors.sandbox.salesforce.activities import ACTIVITY_DEFAULTS, derive_activity
from connectors.sandbox.salesforce.duplicates import DuplicateRule, check_duplicates
from connectors.sandbox.salesforce.errors import RecordFailure, record_error
from connectors.sandbox.salesforce.schema import FieldDef, ObjectDef
from connectors.sandbox.salesforce.store import Row, Store
from connectors.sandbox.salesforce.values import coerce_json, is_id, is_text, to_id18

__all__ = ["MultipleMatches", "Writer"]

Coerce = Callable[[FieldDef, Any], Any]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ACTIVE_OWNER_ONLY = frozenset({"Contact", "Lead", "Task"})
_DEFAULTS = {
    ("Task", "Status"): "Not Started",
    ("Task", "Priority"): "Normal",
    **ACTIVITY_DEFAULTS,
}


class MultipleMatches(Exception):
    """An upsert key matched several records (REST answers 300 with their URLs)."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__(f"{len(ids)} records match")
        self.ids = ids


def _not_writable(name: str) -> RecordFailure:
    return record_error(
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        f"Unable to create/update fields: {name}. Please check the security settings of this "
        "field and verify that it is read/write for your profile or permission set.",
        name,
    )


class Writer:
    """Applies writes to a :class:`Store` as the integration user ``user_id``."""

    def __init__(self, store: Store, faults: FaultPlan, user_id: str) -> None:
        self.store = store
        self.faults = faults
        self.user_id = user_id
        self.duplicate_rules: list[DuplicateRule] = []

    # -- public operations (callers hold store.lock) ----------------------------------------

    def create(self, obj: ObjectDef, body: dict[str, Any], coerce: Coerce = coerce_json) -> str:
        values = self._prepare(obj, body, creating=True, coerce=coerce)
        return self._insert(obj, values)

    def update(
        self, obj: ObjectDef, row_id: str, body: dict[str, Any], coerce: Coerce = coerce_json
    ) -> None:
        row = self.live_row(obj, row_id)
        values = self._prepare(obj, body, creating=False, coerce=coerce)
        self._check_lock(obj, row)
        self._apply_update(obj, row, values)

    def upsert(
        self,
        obj: ObjectDef,
        key: FieldDef,
        value: Any,
        body: dict[str, Any],
        coerce: Coerce = coerce_json,
    ) -> tuple[str, bool]:
        """Update the one live record whose ``key`` equals ``value``, or create it.

        Returns ``(id, created)``. Raises :class:`MultipleMatches` on several matches.
        """
        if key.name == "Id":
            if value in (None, ""):
                return self.create(obj, body, coerce), True
            self.update(obj, str(value), body, coerce)
            return to_id18(str(value)), False
        matches = self.store.table(obj.name).matches(key.name, value)
        if len(matches) > 1:
            raise MultipleMatches(matches)
        if matches:
            self.update(obj, matches[0], body, coerce)
            return matches[0], False
        values = self._prepare(obj, body, creating=True, coerce=coerce)
        values[key.name] = value
        return self._insert(obj, values), True

    def delete(self, obj: ObjectDef, row_id: str) -> None:
        row = self.live_row(obj, row_id)
        self._check_lock(obj, row)
        self._stamp(obj, {**row, "IsDeleted": True})

    def live_row(self, obj: ObjectDef, row_id: str) -> Row:
        """The record ``row_id`` of ``obj``, or the per-record error Salesforce gives."""
        if not is_id(row_id):
            raise record_error(
                "MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {row_id}", "Id"
            )
        row = self.store.get(obj.name, row_id)
        if row is None:
            raise record_error("NOT_FOUND", "The requested resource does not exist")
        if row.get("IsDeleted"):
            raise record_error("ENTITY_IS_DELETED", "entity is deleted")
        return row

    # -- validation ---------------------------------------------------------------------------

    def _prepare(
        self, obj: ObjectDef, body: dict[str, Any], *, creating: bool, coerce: Coerce
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, raw in body.items():
            if name == "attributes" or (name.lower() == "id" and not creating):
                continue
            rel = obj.relationship(name) if isinstance(raw, dict) else None
            if rel is not None:
                values[rel.name] = self._resolve_reference(rel, raw)
                continue
            f = obj.field(name)
            if f is None:
                raise record_error(
                    "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}"
                )
            if not (f.createable if creating else f.updateable):
                raise _not_writable(f.name)
            values[f.name] = self._check_value(f, coerce(f, raw))
        self._check_required(obj, values, creating=creating)
        self._check_owner(obj, values)
        return values

    def _check_owner(self, obj: ObjectDef, values: dict[str, Any]) -> None:
        """Since Spring '15 an inactive user may own accounts, opportunities and custom
        objects, but not contacts, leads or tasks (``INACTIVE_OWNER_OR_USER``)."""
        owner = values.get("OwnerId")
        if owner is None or obj.name not in _ACTIVE_OWNER_ONLY:
            return
        found = self.store.get_any(str(owner))
        if found is not None and found[0].name == "User" and found[1].get("IsActive") is False:
            raise record_error(
                "INACTIVE_OWNER_OR_USER",
                f"operation performed with inactive user [{owner}] as owner of {obj.name.lower()}",
                "OwnerId",
            )

    def _check_value(self, f: FieldDef, value: Any) -> Any:
        if value is None:
            return None
        if is_text(f) and f.length and len(value) > f.length:
            raise record_error(
                "STRING_TOO_LONG",
                f"{f.label}: data value too large: {value[:50]} (max length={f.length})",
                f.name,
            )
        if f.type == "picklist" and f.restricted and value not in f.picklist:
            raise record_error(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{f.label}: bad value for restricted picklist field: {value}",
                f.name,
            )
        if f.type == "email" and not _EMAIL.match(value):
            raise record_error(
                "INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {value}", f.name
            )
        if f.type == "reference":
            return self._check_lookup(f, value)
        return value

    def _check_lookup(self, f: FieldDef, value: Any) -> str:
        if not is_id(value):
            raise record_error(
                "MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", f.name
            )
        found = self.store.get_any(value)
        if found is None or found[0].name not in f.reference_to or found[1].get("IsDeleted"):
            raise record_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", f.name)
        return str(found[1]["Id"])

    def _resolve_reference(self, rel: FieldDef, ref: dict[str, Any]) -> str | None:
        keys = [k for k in ref if k != "attributes"]
        # a polymorphic lookup (WhatId) names its target in attributes.type
        kind = (ref.get("attributes") or {}).get("type") or rel.reference_to[0]
        target = self.store.object(kind)
        if target is None or target.name not in rel.reference_to or len(keys) != 1:
            raise record_error(
                "INVALID_FIELD", f"Invalid foreign key reference for {rel.relationship_name}"
            )
        key = target.field(keys[0])
        if key is None or not (key.external_id or key.name == "Id"):
            raise record_error(
                "INVALID_FIELD",
                f"Field name provided, {keys[0]} is not an External ID or indexed field for "
                f"{target.name}",
            )
        value = ref[keys[0]]
        if value is None:
            return None
        ids = self.store.table(target.name).matches(key.name, value) if key.name != "Id" else []
        if key.name == "Id" and is_id(value) and self.store.get(target.name, value):
            ids = [to_id18(value)]
        if not ids:
            raise record_error(
                "INVALID_FIELD",
                f"Foreign key external ID: {value} not found for field {key.name} in entity "
                f"{target.name}",
            )
        if len(ids) > 1:
            raise record_error(
                "INVALID_FIELD", f"More than 1 record found for external id field: {ids}"
            )
        return ids[0]

    def _check_required(self, obj: ObjectDef, values: dict[str, Any], *, creating: bool) -> None:
        missing = [
            f.name
            for f in obj.fields
            if f.required_on_create
            and (
                values.get(f.name) is None
                if creating
                else (f.name in values and values[f.name] is None)
            )
        ]
        if missing:
            raise record_error(
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                *missing,
            )

    def _check_unique(self, obj: ObjectDef, row: Row) -> None:
        table = self.store.table(obj.name)
        for f in obj.external_id_fields:
            value = row.get(f.name)
            if not f.unique or value is None:
                continue
            others = [i for i in table.matches(f.name, value) if i != row["Id"]]
            if others:
                raise record_error(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {f.name} duplicates value on record with id: "
                    f"{others[0]}",
                )

    def _check_lock(self, obj: ObjectDef, row: Row) -> None:
        keys = [row.get("Id")] + [row.get(f.name) for f in obj.external_id_fields]
        if self.faults.is_row_locked(*keys):
            raise record_error(
                "UNABLE_TO_LOCK_ROW",
                "unable to obtain exclusive access to this record or 1 records",
            )

    def _check_duplicates(self, obj: ObjectDef, row: Row) -> None:
        if self.duplicate_rules:
            others = self.store.table(obj.name).rows.values()
            check_duplicates(obj, row, others, self.duplicate_rules)

    # -- applying -------------------------------------------------------------------------------

    def _insert(self, obj: ObjectDef, values: dict[str, Any]) -> str:
        row_id = self.store.ids.new(obj.key_prefix)
        row: Row = {"Id": row_id, "IsDeleted": False, "CreatedById": self.user_id}
        if obj.field("OwnerId") is not None:
            row["OwnerId"] = self.user_id
        for (name, field), default in _DEFAULTS.items():
            if name == obj.name:
                row[field] = default
        row.update({k: v for k, v in values.items() if v is not None or k not in row})
        if obj.custom and row.get("Name") is None and obj.field("Name") is not None:
            row["Name"] = row_id
        derive_activity(self.store, obj.name, row)
        self._check_lock(obj, row)
        self._check_unique(obj, row)
        self._check_duplicates(obj, row)
        row["CreatedDate"] = self._now()
        self._stamp(obj, row)
        return row_id

    def _apply_update(self, obj: ObjectDef, row: Row, values: dict[str, Any]) -> None:
        merged = {**row, **values}
        derive_activity(self.store, obj.name, merged)
        self._check_unique(obj, merged)
        self._check_duplicates(obj, merged)
        self._stamp(obj, merged)

    def _stamp(self, obj: ObjectDef, row: Row) -> None:
        now = self._now()
        row["LastModifiedDate"] = row["SystemModstamp"] = now
        row["LastModifiedById"] = self.user_id
        row.setdefault("CreatedDate", now)
        if obj.field("Name") is not None and obj.field("Name").calculated:  # type: ignore[union-attr]
            row["Name"] = " ".join(p for p in (row.get("FirstName"), row.get("LastName")) if p)
        self.store.put(obj.name, row)

    def _now(self) -> Any:
        return self.store.clock().replace(microsecond=0)
