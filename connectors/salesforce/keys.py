"""Writing refsync's ids onto Salesforce records that were created outside refsync.

An Account a user created has no ``Refsync_Id__c``; upserting it by that key would create a
second Account. The engine therefore writes the canonical id onto the record by its Salesforce
``Id`` (sObject Collections update, 200 per call, ``allOrNone`` false) as soon as it reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from connectors.base import WriteResult
from connectors.salesforce.errors import record_error

__all__ = ["write_keys"]


def write_keys(
    client: Any,
    runner: Any,
    object_name: str,
    pairs: Sequence[tuple[str, str]],
    *,
    key: str,
    batch_size: int = 200,
) -> list[WriteResult]:
    """Set ``key`` = canonical id on each ``(Salesforce Id, canonical id)``; one result each."""
    results: list[WriteResult] = []
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        body = {
            "allOrNone": False,
            "records": [
                {"attributes": {"type": object_name}, "Id": native_id, key: canonical}
                for native_id, canonical in chunk
            ],
        }
        where = f"writing {key} onto {len(chunk)} {object_name} records"
        send = partial(client.restful, "composite/sobjects/", method="PATCH", json=body)
        answer = runner.run(where, send) or []
        for (native_id, canonical), result in zip(chunk, answer, strict=True):
            if result.get("success"):
                results.append(WriteResult(canonical, native_id, False))
                continue
            error = (result.get("errors") or [{}])[0]
            code = str(error.get("statusCode") or "UNKNOWN")
            err = record_error(object_name, key, canonical, code, error.get("fields"))
            results.append(WriteResult(canonical, native_id, error=err))
    return results
