"""Writing refsync's ids onto HubSpot records that were created outside refsync.

A company a user created has no ``refsync_id``; a batch upsert by that property would create a
second company. The engine writes the canonical id onto the record by its HubSpot id (batch
update, 100 per call) as soon as it reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.base import WriteResult
from mapping.errors import RecordError, RecordRejected

__all__ = ["write_keys"]


def write_keys(
    transport: Any,
    object_type: str,
    pairs: Sequence[tuple[str, str]],
    *,
    key: str,
    batch_size: int = 100,
) -> list[WriteResult]:
    """Set ``key`` = canonical id on each ``(HubSpot id, canonical id)``; one result each."""
    results: list[WriteResult] = []
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        body = {"inputs": [{"id": hs_id, "properties": {key: cid}} for hs_id, cid in chunk]}
        try:
            response = transport.call(
                "objects_batch",
                "update",
                object_type,
                body,
                what=f"{object_type} batch update of {key}",
            )
        except RecordError as err:
            results += [WriteResult(cid, hs_id, error=err) for hs_id, cid in chunk]
            continue
        updated = {str(r.get("id")) for r in (response.data or {}).get("results") or []}
        for hs_id, cid in chunk:
            if hs_id in updated:
                results.append(WriteResult(cid, hs_id, False))
            else:
                results.append(
                    WriteResult(
                        cid,
                        hs_id,
                        error=RecordRejected(
                            f"HubSpot {object_type} {hs_id}: could not set {key}; check that the "
                            "record still exists and the property is writable",
                            key=cid,
                            field=key,
                            code="KEY_NOT_WRITTEN",
                        ),
                    )
                )
    return results


def write_engagement_keys(
    transport: Any,
    types: Sequence[str],
    pairs: Sequence[tuple[str, str]],
    *,
    key: str,
    batch_size: int = 100,
) -> list[WriteResult]:
    """:func:`write_keys` for engagements, whose ids do not say their type: a batch read per
    engagement type finds which type holds each id first."""
    kind_of: dict[str, str] = {}
    for kind in types:
        wanted = [hs_id for hs_id, _ in pairs if hs_id not in kind_of]
        for start in range(0, len(wanted), batch_size):
            body = {
                "inputs": [{"id": i} for i in wanted[start : start + batch_size]],
                "properties": [key],
            }
            response = transport.call(
                "objects_batch", "read", kind, body, what=f"{kind} batch read"
            )
            for result in (response.data or {}).get("results") or []:
                kind_of.setdefault(str(result["id"]), kind)
    by_pair: dict[tuple[str, str], WriteResult] = {}
    for kind in types:
        subset = [p for p in pairs if kind_of.get(p[0]) == kind]
        for pair, result in zip(
            subset, write_keys(transport, kind, subset, key=key, batch_size=batch_size), strict=True
        ):
            by_pair[pair] = result
    missing = RecordRejected(
        f"no HubSpot engagement holds this id; {key} was not written",
        field=key,
        code="KEY_NOT_WRITTEN",
    )
    return [by_pair.get(p) or WriteResult(p[1], p[0], error=missing) for p in pairs]
