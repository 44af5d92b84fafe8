"""Canonical id <-> HubSpot id, through each object's unique ``refsync_id`` property.

Association fields carry canonical ids (``associations.companies: "partner-42"``); HubSpot
associations need HubSpot ids. :class:`IdResolver` batch-reads by ``idProperty=refsync_id``
(100 ids per call) and remembers both directions for the life of the connector.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from connectors.hubspot.transport import Transport

__all__ = ["REFSYNC_ID", "IdResolver"]

REFSYNC_ID = "refsync_id"


class IdResolver:
    """Looks up and caches HubSpot ids by canonical id, and canonical ids by HubSpot id."""

    def __init__(self, transport: Transport, *, batch_size: int = 100) -> None:
        self._transport = transport
        self._batch = batch_size
        self._by_key: dict[tuple[str, str], str] = {}
        self._by_id: dict[tuple[str, str], str | None] = {}
        self._lock = threading.Lock()

    def remember(self, object_type: str, key: str, hubspot_id: str) -> None:
        with self._lock:
            self._by_key[(object_type, key)] = hubspot_id
            self._by_id[(object_type, hubspot_id)] = key

    def hubspot_ids(
        self, object_type: str, keys: Iterable[str], *, key_property: str = REFSYNC_ID
    ) -> dict[str, str]:
        """HubSpot id per canonical id; ids HubSpot does not know are left out."""
        wanted = list(dict.fromkeys(k for k in keys if k))
        missing = [k for k in wanted if (object_type, k) not in self._by_key]
        for start in range(0, len(missing), self._batch):
            chunk = missing[start : start + self._batch]
            body = {
                "inputs": [{"id": k} for k in chunk],
                "idProperty": key_property,
                "properties": [key_property],
                "propertiesWithHistory": [],
            }
            response = self._transport.call(
                "objects_batch", "read", object_type, body, what=f"{object_type} batch read"
            )
            for result in (response.data or {}).get("results", []):
                value = (result.get("properties") or {}).get(key_property)
                if value:
                    self.remember(object_type, str(value), str(result["id"]))
        return {
            k: self._by_key[(object_type, k)] for k in wanted if (object_type, k) in self._by_key
        }

    def canonical_ids(self, object_type: str, hubspot_ids: Iterable[str]) -> dict[str, str]:
        """Canonical id per HubSpot id; records without a ``refsync_id`` are left out."""
        wanted = list(dict.fromkeys(str(i) for i in hubspot_ids))
        missing = [i for i in wanted if (object_type, i) not in self._by_id]
        for start in range(0, len(missing), self._batch):
            chunk = missing[start : start + self._batch]
            body = {"inputs": [{"id": i} for i in chunk], "properties": [REFSYNC_ID]}
            response = self._transport.call(
                "objects_batch", "read", object_type, body, what=f"{object_type} batch read"
            )
            found = set()
            for result in (response.data or {}).get("results", []):
                rid = str(result["id"])
                found.add(rid)
                value = (result.get("properties") or {}).get(REFSYNC_ID)
                with self._lock:
                    self._by_id[(object_type, rid)] = str(value) if value else None
                    if value:
                        self._by_key[(object_type, str(value))] = rid
            with self._lock:
                for rid in set(chunk) - found:
                    self._by_id[(object_type, rid)] = None
        out: dict[str, str] = {}
        for i in wanted:
            value = self._by_id.get((object_type, i))
            if value:
                out[i] = value
        return out
