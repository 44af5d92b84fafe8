"""Merging two records of one type: ``POST /crm/v3/objects/{objectType}/merge``.

As HubSpot documents it: ``{"primaryObjectId", "objectIdToMerge"}``; the answer is the
primary record. Merging cannot be undone. Afterwards:

- the merged-away record leaves list, search and batch-read-by-property results;
- reading the merged-away id (``GET .../{id}``, batch read by id) answers the primary;
  chains follow (A merged into B, B into C: reading A answers C);
- the primary lists every id merged into it, chains included, in ``hs_merged_object_ids``
  (``;``-separated) and its modified date moves;
- the primary keeps its values; a property it has no value for takes the merged record's
  (a unique property included, so a refsync id on the merged-away record moves to the
  primary when the primary had none). Associations are not moved (not modelled).
"""

from __future__ import annotations

from typing import Any

from connectors.sandbox.hubspot._app import Call, Route
from connectors.sandbox.hubspot._errors import not_found, validation_error
from connectors.sandbox.hubspot._objects import record_json, resolve_table

__all__ = ["ROUTES"]


def _merge(call: Call, objectType: str) -> tuple[int, Any]:
    name, table = resolve_table(call.state, objectType)
    body = call.json() or {}
    primary_id = str(body.get("primaryObjectId") or "")
    merged_id = str(body.get("objectIdToMerge") or "")
    if not primary_id.isdigit() or not merged_id.isdigit():
        raise validation_error("primaryObjectId and objectIdToMerge must be record ids")
    with call.state.store.lock:
        primary = table.records.get(int(primary_id))
        merged = table.records.get(int(merged_id))
        if primary is None or merged is None or primary.archived or merged.archived:
            raise not_found()
        if primary.id == merged.id:
            raise validation_error("a record cannot be merged into itself")
        table.merge(primary, merged, call.state.clock.now_ms())
        call.records_written = 1
        return 200, record_json(call.state, name, primary, full=True)


ROUTES = [Route("POST", "/crm/v3/objects/<objectType>/merge", _merge, "write")]
