"""The one extension point every connector implements.

A connector speaks **native** records: dicts keyed by the system's own field names. Only
``mapping/`` knows both sides. A subclass declares its attributes and implements a few
methods (singer-sdk style)::

    class MyConnector(Connector):
        name = "mysystem"                      # the ``type:`` in refsync.yaml
        settings_model = MySettings            # pydantic model of the connection settings
        max_batch_size = 200                   # records per write call
        cursor_field = "SystemModstamp"        # what incremental reads page on (or None)
        writable = True

        def check(self) -> None: ...                           # cheap auth/reachability probe
        def describe(self, object_name) -> ObjectSchema: ...   # live schema for validation
        def read(self, object_name, *, since, fields, until) -> Iterator[ReadPage]: ...
        def upsert(self, object_name, records, *, key) -> list[WriteResult]: ...
        def archive(self, object_name, keys, *, key) -> list[WriteResult]: ...

Contract (checked by ``tests/connectors/contract.py`` for every connector):

- ``read`` yields pages in cursor order. Each page carries the bookmark to commit once that
  page (and everything before it) has been merged and written. ``since`` is the last
  committed bookmark (``None`` for a full read). The bookmark never passes ``until`` (the
  run's start time). Deleted records come as :class:`NativeRecord` with ``deleted=True``.
  Reading the same window twice yields the same records (duplicates across a page boundary
  are allowed; the engine de-duplicates by ``id``).
- ``upsert`` writes ``records`` matched on the native field ``key`` (an external-id /
  unique property), in as few calls as the API allows, and returns exactly one
  :class:`WriteResult` per input record, in input order. A per-record failure is a result
  with ``error`` set, never an exception. Only fatal or retry-exhausted errors raise.
- No vendor exception escapes: connectors translate them to :mod:`mapping.errors` types at
  their edge with ``raise ... from exc``.
- The vendor client is built in one place (``build_client``) and can be injected.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel

from mapping.errors import RecordError
from mapping.schema import FieldSchema, ObjectSchema

__all__ = [
    "Bookmark",
    "Clock",
    "Connector",
    "EventMeta",
    "FieldSchema",
    "NativeRecord",
    "ObjectSchema",
    "ReadPage",
    "WriteResult",
    "require_tls",
    "utc_now",
]

Bookmark = dict[str, Any]
"""Opaque, JSON-serialisable position of a connector in one object's change stream."""

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def require_tls(url: str, name: str, insecure_http: bool) -> str:
    """``url``, unless it is plain ``http://`` and the connection did not declare that meant.

    For settings validators: the ValueError becomes a configuration problem at ``name``.
    """
    if url.strip().lower().startswith("http://") and not insecure_http:
        raise ValueError(
            f"{name} uses plain http://: tokens and records would travel unencrypted; use "
            "https://, or add insecure_http: true to this connection's settings (local "
            "sandboxes only)"
        )
    return url


@dataclass(frozen=True, slots=True)
class NativeRecord:
    """One record as the system holds it.

    ``id`` is the system's own id (Salesforce Id, HubSpot hs_object_id, appointment id, ...).
    ``fields`` maps native field names to values as the system returned them.
    """

    id: str
    fields: Mapping[str, Any]
    deleted: bool = False
    modified_at: datetime | None = None
    event: EventMeta | None = None  # set by connectors whose records are events


@dataclass(frozen=True, slots=True)
class EventMeta:
    """Where a record that *is* an event (a row of a scheduling export, a FHIR resource
    version) stands in time: the engine keeps it in the referral's event log and folds the
    log in ``at`` order. Snapshot systems (CRMs) leave it unset; their stage changes are
    stamped with ``modified_at``.

    ``at`` is when the status became true, from the column the connector declares as the
    event clock (never the time the file was read, unless the export is a declared
    snapshot). ``source`` is a position (``file:line``, ``Bundle entry[3]``), never a value.
    """

    at: datetime
    appointment_id: str | None = None
    parent_appointment_id: str | None = None
    status: str | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class ReadPage:
    """One page of a read. ``rejects`` are source rows the connector could not use
    (record-level errors the engine records and carries on past)."""

    records: Sequence[NativeRecord]
    bookmark: Bookmark
    rejects: Sequence[RecordError] = ()


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The outcome of writing one record.

    ``key`` is the match-key value the record was sent with; ``id`` the system id on
    success; ``created`` True/False when the system says, else None.
    """

    key: str
    id: str | None = None
    created: bool | None = None
    error: RecordError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Connector(ABC):
    """Base class of every connector. See the module docstring for the contract."""

    name: ClassVar[str]
    settings_model: ClassVar[type[BaseModel]]
    max_batch_size: ClassVar[int] = 100
    cursor_field: ClassVar[str | None] = None
    writable: ClassVar[bool] = True
    may_hold_phi_by_default: ClassVar[bool] = False

    def __init__(
        self,
        settings: BaseModel,
        *,
        client: Any = None,
        clock: Clock = utc_now,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._client = client

    @property
    def client(self) -> Any:
        """The vendor client, built once on first use unless one was injected."""
        if self._client is None:
            self._client = self.build_client()
        return self._client

    @property
    def write_chunk_size(self) -> int:
        """How many records the engine hands to one ``upsert`` call.

        Each call is the engine's checkpoint (the write ledger is recorded after it), so a
        crash re-sends at most one chunk. Override when the system prefers larger calls
        (Salesforce switches to Bulk API 2.0 above its threshold).
        """
        return self.max_batch_size * 10

    def build_client(self) -> Any:
        """Build the vendor client from ``self.settings``. The one place that does so."""
        return None

    @abstractmethod
    def check(self) -> None:
        """Prove the connection works (auth, reachability); raise a ConnectorError if not."""

    @abstractmethod
    def describe(self, object_name: str) -> ObjectSchema:
        """The live schema of ``object_name``."""

    @abstractmethod
    def read(
        self,
        object_name: str,
        *,
        since: Bookmark | None,
        fields: Sequence[str],
        until: datetime | None = None,
    ) -> Iterator[ReadPage]:
        """Yield changed records since ``since``, page by page, each with its bookmark."""

    def upsert(
        self, object_name: str, records: Sequence[Mapping[str, Any]], *, key: str
    ) -> list[WriteResult]:
        """Create-or-update ``records`` matched on native field ``key``."""
        raise NotImplementedError(f"{self.name} is read-only")

    def archive(self, object_name: str, keys: Sequence[str], *, key: str) -> list[WriteResult]:
        """Archive/delete the records whose ``key`` field has one of ``keys``."""
        raise NotImplementedError(f"{self.name} is read-only")

    def backfill_keys(
        self, object_name: str, pairs: Sequence[tuple[str, str]], *, key: str
    ) -> list[WriteResult]:
        """Write canonical ids into the ``key`` field of records created outside refsync.

        ``pairs`` are ``(native id, canonical id)``. Without this, the first upsert of such a
        record by its key would create a duplicate. One result per pair, in order (``key``
        of each result is the canonical id). Optional: systems that cannot raise
        NotImplementedError and the engine skips them.
        """
        raise NotImplementedError(f"{self.name} cannot write keys back")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; optional."""
