"""CRM objects, one at a time: list, read, create, update, archive (``/crm/v3/objects``).

Also the helpers the batch and search handlers share: resolving a table, rendering a record
as ``SimplePublicObject`` JSON, and validating one write (values, unique values, row locks).
"""

from __future__ import annotations

from typing import Any

from connectors.sandbox.hubspot._app import Call, Route, SandboxState
from connectors.sandbox.hubspot._clock import iso_ms
from connectors.sandbox.hubspot._data import default_read_properties
from connectors.sandbox.hubspot._errors import (
    HubSpotError,
    batch_error,
    conflict,
    invalid_property_values,
    not_found,
    validation_error,
)
from connectors.sandbox.hubspot._store import Record, Table
from connectors.sandbox.hubspot._values import check_values

__all__ = [
    "ROUTES",
    "WriteRejected",
    "find_record",
    "locked_error",
    "missing_ids_error",
    "prepare_write",
    "record_json",
    "resolve_table",
]

_BASE = "/crm/v3/objects/<objectType>"
_PAGE_MAX = 100


def resolve_table(state: SandboxState, object_type: str) -> tuple[str, Table]:
    """(canonical type name, its table) for any accepted spelling of the type."""
    name = state.schema.resolve(object_type)
    schema = state.schema
    table = state.store.table(
        name,
        schema.created_property(name),
        schema.modified_property(name),
        schema.unique_properties(name),
    )
    return name, table


def record_json(
    state: SandboxState,
    name: str,
    rec: Record,
    wanted: list[str] | None = None,
    *,
    full: bool = False,
) -> dict[str, Any]:
    """A record as SimplePublicObject JSON.

    ``full``: every set property (what writes answer). Otherwise the requested properties
    that are set, or the type's defaults when none were requested; the
    id/create/modify properties are always included.
    """
    table_props = rec.props
    if full:
        props: dict[str, str | None] = dict(table_props)
    else:
        definitions = state.schema.properties(name)
        names = [p for p in wanted if p in definitions] if wanted else []
        names = names or list(default_read_properties(name))
        names += [
            "hs_object_id",
            state.schema.created_property(name),
            state.schema.modified_property(name),
        ]
        # unset properties are left out: the spec types values as non-null strings
        props = {p: table_props[p] for p in names if p in table_props and p in definitions}
    out: dict[str, Any] = {
        "id": str(rec.id),
        "properties": props,
        "createdAt": iso_ms(rec.created),
        "updatedAt": iso_ms(rec.updated),
        "archived": rec.archived,
    }
    if rec.archived and rec.archived_at is not None:
        out["archivedAt"] = iso_ms(rec.archived_at)
    return out


class WriteRejected(Exception):
    """One input of a write could not be applied; ``error`` is the whole-call answer."""

    def __init__(self, error: HubSpotError, category: str, sub_category: str | None = None):
        super().__init__(error.body.get("message"))
        self.error = error
        self.category = category
        self.sub_category = sub_category


def locked_error(singular: str, rec_id: int | str) -> HubSpotError:
    """The sandbox's row-lock answer (HubSpot documents none; see the package docstring)."""
    return conflict(
        f"The {singular} is being updated by another request; retry. objectId={rec_id}",
        subCategory="CONCURRENT_UPDATE",
    )


def prepare_write(
    state: SandboxState,
    name: str,
    table: Table,
    values: Any,
    rec: Record | None,
    claimed: dict[tuple[str, str], int] | None = None,
    *,
    check_locks: bool = True,
) -> dict[str, str | None]:
    """Validated changes for a create (``rec`` None) or update; raises :class:`WriteRejected`.

    Caller holds the store lock. ``claimed`` tracks unique values taken earlier in the same
    batch, so two inputs of one batch cannot take the same value.
    """
    if not isinstance(values, dict):
        raise WriteRejected(validation_error("properties must be an object"), "VALIDATION_ERROR")
    current_pipeline = rec.props.get("pipeline") if rec else None
    stages = state.extras["pipelines"].stage_ids
    changes, problems = check_values(state.schema, name, values, stages, current_pipeline)
    if problems:
        raise WriteRejected(invalid_property_values(problems), "VALIDATION_ERROR")
    singular = state.schema.singular(name)
    keys = [str(rec.id)] if rec else []
    keys += _unique_values_free(table, changes, rec, claimed, singular)
    if check_locks and keys and state.faults.is_row_locked(*keys):
        state.stats.record_fault("row_lock")
        raise WriteRejected(locked_error(singular, keys[0]), "CONFLICT", "CONCURRENT_UPDATE")
    return changes


def _unique_values_free(
    table: Table,
    changes: dict[str, str | None],
    rec: Record | None,
    claimed: dict[tuple[str, str], int] | None,
    singular: str,
) -> list[str]:
    """The unique values a write sets; raises if another record (or input) holds one."""
    values = []
    for prop in table.unique_props:
        value = changes.get(prop)
        if value is None:
            continue
        values.append(value)
        if claimed is not None and (prop, table.index_key(prop, value)) in claimed:
            raise WriteRejected(
                validation_error(f"Duplicate {prop} values found in batch input"),
                "VALIDATION_ERROR",
            )
        holder = table.holder(prop, value)
        if holder is not None and (rec is None or holder != rec.id):
            raise WriteRejected(
                conflict(f"{singular.capitalize()} already exists. Existing ID: {holder}"),
                "CONFLICT",
            )
    return values


def find_record(
    table: Table, state: SandboxState, name: str, key: str, id_property: str | None
) -> Record | None:
    """The live record whose ``id_property`` (default: the record id) equals ``key``."""
    if id_property and id_property != "hs_object_id":
        definition = state.schema.property(name, id_property)
        unique = definition is not None and (definition["hasUniqueValue"] or id_property == "email")
        if not unique:
            raise validation_error(
                f"{id_property} is not a unique property of {name}; use a property "
                "created with hasUniqueValue=true"
            )
        return table.find(id_property, key)
    return table.find("hs_object_id", key)


def _with_associations(call: Call, name: str, rec: Record, out: dict[str, Any]) -> dict[str, Any]:
    """Add ``associations`` for the ``associations=`` types asked for (unknown ones ignored)."""
    state = call.state
    found: dict[str, Any] = {}
    for wanted in call.args("associations"):
        try:
            other = state.schema.resolve(wanted)
        except HubSpotError:
            continue
        pair = f"{state.schema.singular(name)}_to_{state.schema.singular(other)}"
        results = [
            {"id": str(to_id), "type": kind[2].lower().replace(" ", "_") if kind[2] else pair}
            for to_id, kinds in state.extras["associations"].linked(name, rec.id, other)
            for kind in kinds
        ]
        if results:
            found[wanted] = {"results": results}
    if found:
        out["associations"] = found
    return out


def _get_page(call: Call, objectType: str) -> tuple[int, Any]:
    name, table = resolve_table(call.state, objectType)
    try:
        limit = int(call.request.args.get("limit", 10))
        after = int(call.request.args.get("after", 0) or 0)
    except ValueError:
        raise validation_error("limit and after must be integers") from None
    limit = max(1, min(limit, _PAGE_MAX))
    wanted = call.args("properties")
    call.require_scopes(name, wanted, "read")
    with call.state.store.lock:
        recs, next_after = table.page(after, limit, call.flag("archived"))
        results = [
            _with_associations(call, name, r, record_json(call.state, name, r, wanted))
            for r in recs
        ]
    body: dict[str, Any] = {"results": results}
    if next_after is not None:
        cursor = str(next_after)
        body["paging"] = {"next": {"after": cursor, "link": f"?after={cursor}"}}
    return 200, body


def _get_by_id(call: Call, objectType: str, objectId: str) -> tuple[int, Any]:
    name, table = resolve_table(call.state, objectType)
    call.require_scopes(name, call.args("properties"), "read")
    with call.state.store.lock:
        id_property = call.request.args.get("idProperty")
        if call.flag("archived"):
            rec = table.records.get(int(objectId)) if objectId.isdigit() else None
            rec = rec if rec is not None and rec.archived else None
        else:
            rec = find_record(table, call.state, name, objectId, id_property)
        if rec is None:
            raise not_found()
        out = record_json(call.state, name, rec, call.args("properties"))
        return 200, _with_associations(call, name, rec, out)


def _create(call: Call, objectType: str) -> tuple[int, Any]:
    name, table = resolve_table(call.state, objectType)
    body = call.json()
    state = call.state
    call.require_write_scopes(name, body)
    with state.store.lock:
        try:
            changes = prepare_write(state, name, table, body.get("properties") or {}, None)
        except WriteRejected as rejected:
            raise rejected.error from None
        rec = table.insert(state.store.next_id(), changes, state.clock.now_ms())
        state.extras["associations"].attach_inline(name, rec.id, body.get("associations") or [])
        call.records_written = 1
        return 201, record_json(state, name, rec, full=True)


def _update(call: Call, objectType: str, objectId: str) -> tuple[int, Any]:
    name, table = resolve_table(call.state, objectType)
    state = call.state
    call.require_write_scopes(name, call.json())
    with state.store.lock:
        rec = find_record(table, state, name, objectId, call.request.args.get("idProperty"))
        if rec is None:
            raise not_found()
        try:
            changes = prepare_write(state, name, table, call.json().get("properties") or {}, rec)
        except WriteRejected as rejected:
            raise rejected.error from None
        table.apply(rec, changes, state.clock.now_ms())
        call.records_written = 1
        return 200, record_json(state, name, rec, full=True)


def _archive(call: Call, objectType: str, objectId: str) -> tuple[int, Any]:
    _, table = resolve_table(call.state, objectType)
    state = call.state
    with state.store.lock:
        rec = table.find("hs_object_id", objectId)
        if rec is not None:  # archiving a missing record is not an error in HubSpot
            table.archive(rec, state.clock.now_ms())
            call.records_written = 1
    return 204, None


ROUTES = [
    Route("GET", _BASE, _get_page),
    Route("POST", _BASE, _create, "write"),
    Route("GET", f"{_BASE}/<objectId>", _get_by_id),
    Route("PATCH", f"{_BASE}/<objectId>", _update, "write"),
    Route("DELETE", f"{_BASE}/<objectId>", _archive, "write"),
]


def missing_ids_error(state: SandboxState, name: str, ids: list[str]) -> dict[str, Any]:
    """The 207 entry for ids that matched nothing (batch read/update)."""
    kind = state.schema.singular(name).upper()
    return batch_error(
        "OBJECT_NOT_FOUND",
        f"Could not get some {kind} objects, they may be deleted or not exist. "
        "Check that ids are valid.",
        {"ids": ids},
    )
