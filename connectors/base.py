"""The one extension point every connector implements.

A connector speaks **native** records: dicts keyed by the system's own field names. Only
``mapping/`` knows both sides. A subclass declares its attributes and implements a few
methods (singer-sdk style)::

    class MyConnector(Connector):
        name = "mysystem"                      # the ``type:`` in refsync.yaml
        settings_model = MySettings            # pydantic model of the connection settings
        max_batch_size = 200                   # records per write call
        cursor_field = "SystemModstamp"        # what incremental reads page on (or None)
        capabilities = frozenset({Capability.READ, Capability.WRITE, Capability.ARCHIVE})
        native_field_classes = {"*": {"mrn": FieldClass(DIRECT_IDENTIFIER, "...")}}
        phi_zone = False                       # True: unnamed tier is full (covered entity)

        def check(self) -> None: ...                           # cheap auth/reachability probe
        def describe(self, object_name) -> ObjectSchema: ...   # live schema for validation
        def read(self, object_name, *, since, fields, until) -> Iterator[ReadPage]: ...
        def upsert(self, object_name, records, *, key) -> list[WriteResult]: ...
        def archive(self, object_name, keys, *, key) -> list[WriteResult]: ...

Each declared :class:`~connectors.capabilities.Capability` comes with its hook overridden
(``upsert`` for WRITE, ``referral_index`` for REFERRAL_MATCHING, ...; see
:data:`~connectors.capabilities.HOOKS`); the registry refuses a class that declares one
without it, and the engine calls only what is declared (``connector.supports(...)``).
Provisioning is declared the same way (PROVISION: ``provision_plan``/``apply_provision``;
PROVISION_SOURCE: the class methods ``write_provision_source``/``deploy_command``), and
``tier_problems``/``access_problems`` say what the privacy tier or the live account rules
out (both default to none).

Contract (the read and write suites of :mod:`connectors.testing`, composed per capability):

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

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from connectors.capabilities import (
    AT_TIER,
    HOOKS,
    Capability,
    Contacts,
    LocalProblem,
    MatchResult,
    PeopleFilesChanged,
    PeopleLists,
    PhiFields,
    ProvisionAction,
    ReferralCandidate,
    ReferralIndex,
    ReferrerCount,
    SettingRole,
    settings_with_role,
)
from connectors.retry import RetryPolicy
from mapping.errors import ConfigurationError, RecordError
from mapping.privacy import FieldClass, NativeClasses, PrivacyTier
from mapping.schema import GENERIC, Dialect, FieldSchema, ObjectSchema

__all__ = [
    "AT_TIER",
    "Bookmark",
    "Capability",
    "CapabilityMissing",
    "Clock",
    "Connector",
    "Contacts",
    "Dialect",
    "EventMeta",
    "FieldClass",
    "FieldSchema",
    "LocalProblem",
    "MatchResult",
    "NativeClasses",
    "NativeRecord",
    "ObjectSchema",
    "PeopleFilesChanged",
    "PeopleLists",
    "PhiFields",
    "ProvisionAction",
    "ReadPage",
    "ReferralCandidate",
    "ReferralIndex",
    "ReferrerCount",
    "RetryPolicy",
    "SettingRole",
    "WriteResult",
    "missing_hooks",
    "require_tls",
    "settings_with_role",
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


class CapabilityMissing(ConfigurationError):
    """A connector was asked for something it does not declare (a configuration error:
    e.g. a read-only connection named as a job's destination)."""


def missing_hooks(cls: type[Connector]) -> list[str]:
    """Hooks of ``cls``'s declared capabilities that it leaves as the base's default."""
    return [
        f"{cap.value}: {hook}"
        for cap in Capability
        if cap in cls.capabilities
        for hook in HOOKS[cap]
        # static lookup: a classmethod hook is a new bound object on every getattr
        if inspect.getattr_static(cls, hook) is inspect.getattr_static(Connector, hook)
    ]


class Connector(ABC):
    """Base class of every connector. See the module docstring for the contract."""

    name: ClassVar[str]
    settings_model: ClassVar[type[BaseModel]]
    max_batch_size: ClassVar[int] = 100
    cursor_field: ClassVar[str | None] = None
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.READ, Capability.WRITE, Capability.ARCHIVE}
    )
    dialect: ClassVar[Dialect] = GENERIC
    """How the system spells types, relations and records (also on every ``describe``)."""
    retry_policy: ClassVar[RetryPolicy] = RetryPolicy()
    """How calls to the system are retried (:mod:`connectors.retry`): the connector names
    the retryable errors and the attempts/backoff; settings may tighten attempts per run."""
    phi_native_fields: ClassVar[frozenset[str]] = frozenset()
    """Native fields that carry PHI whether or not a mapping reads them (redacted from logs)."""
    native_field_classes: ClassVar[NativeClasses] = {}
    """Entity (or ``"*"``) -> native field -> the :class:`FieldClass` the system fixes for it
    (``validate`` follows each through the mappings to every destination's tier)."""
    phi_zone: ClassVar[bool] = False
    """Inside the covered entity's PHI zone: a connection naming no tier is ``full``."""
    checked_online: ClassVar[bool] = True
    """False when the system is files on this machine: ``validate --online`` skips it."""
    people_file_columns: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    """PEOPLE_FILES: file name -> its columns (for the privacy report)."""
    provision_source_folder: ClassVar[str] = "provision"
    """PROVISION_SOURCE: the folder ``refsync validate`` suggests for ``--out``."""

    @classmethod
    def supports(cls, capability: Capability) -> bool:
        """Whether this connector declares ``capability``."""
        return capability in cls.capabilities

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

    @classmethod
    def create(cls, settings: BaseModel, *, environ: Mapping[str, str] | None = None) -> Connector:
        """Build the connector of one connection (what the engine calls).

        ``environ`` is the program's environment (process variables over ``DIR/.env``) for
        connectors that read a secret by name; the default ignores it.
        """
        return cls(settings)

    @classmethod
    def local_problems(
        cls, settings: BaseModel, environ: Mapping[str, str], *, reading: bool, program_dir: Path
    ) -> list[LocalProblem]:
        """What would stop or empty a run of a connection with ``settings`` on this machine
        (missing export folders, unset secrets), without any API call; ``reading``: the
        connection is a source of some job; ``program_dir`` is where its ``.env`` lives.
        Declared paths and files the engine checks
        itself (:class:`SettingRole`); the default finds nothing else."""
        return []

    @classmethod
    def tier_problems(
        cls, settings: BaseModel, tier: PrivacyTier, phi_fields: PhiFields
    ) -> list[LocalProblem]:
        """Where ``settings`` disagree with the connection's privacy ``tier`` given the fields
        its mappings send PHI to (``validate`` and every run refuse them before any API
        call; :data:`AT_TIER` points at the tier). The default finds none."""
        return []

    def access_problems(self, phi_fields: PhiFields) -> list[LocalProblem]:
        """What the live account lacks that runs of this connection need (token scopes,
        permissions), found with read-only calls by ``validate --online``; default none."""
        return []

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
        """WRITE: create-or-update ``records`` matched on native field ``key``."""
        raise self._missing(Capability.WRITE)

    def archive(self, object_name: str, keys: Sequence[str], *, key: str) -> list[WriteResult]:
        """ARCHIVE: archive/delete the records whose ``key`` field has one of ``keys``."""
        raise self._missing(Capability.ARCHIVE)

    def backfill_keys(
        self, object_name: str, pairs: Sequence[tuple[str, str]], *, key: str
    ) -> list[WriteResult]:
        """BACKFILL_KEYS: write canonical ids into the ``key`` field of records created
        outside refsync.

        ``pairs`` are ``(native id, canonical id)``. Without this, the first upsert of such a
        record by its key would create a duplicate. One result per pair, in order (``key``
        of each result is the canonical id). Systems that cannot do not declare it and the
        engine skips them.
        """
        raise self._missing(Capability.BACKFILL_KEYS)

    def referral_index(self, candidates: Iterable[ReferralCandidate]) -> ReferralIndex:
        """REFERRAL_MATCHING: an index matching this connector's records that carry no
        referral number to one of ``candidates`` (what the canonical store knows)."""
        raise self._missing(Capability.REFERRAL_MATCHING)

    def people_files(self) -> tuple[Path, ...]:
        """PEOPLE_FILES: the files ``write_people_files`` writes; empty when this connection
        is not configured to write any (the engine then skips it)."""
        raise self._missing(Capability.PEOPLE_FILES)

    def write_people_files(self, lists: PeopleLists) -> list[Path]:
        """PEOPLE_FILES: (re)write every file of :meth:`people_files` from ``lists``; return
        the paths written by this call (the engine stamps each, see
        ``sync/engine/outputs.py``)."""
        raise self._missing(Capability.PEOPLE_FILES)

    def provision_plan(self, phi_fields: PhiFields) -> list[ProvisionAction]:
        """PROVISION: what the system still lacks for the default mappings, PHI fields made
        where the system may keep PHI (reads only). After :meth:`apply_provision` of it, a
        new plan has no action that ``applies``."""
        raise self._missing(Capability.PROVISION)

    def apply_provision(self, plan: Sequence[ProvisionAction]) -> int:
        """PROVISION: make the changes of ``plan`` in order; the number made."""
        raise self._missing(Capability.PROVISION)

    @classmethod
    def write_provision_source(cls, out_dir: Path) -> list[Path]:
        """PROVISION_SOURCE: write what the default mappings need as source files under
        ``out_dir`` (the same files each time); the files written."""
        raise CapabilityMissing(f"connection type {cls.name!r} writes no provisioning source")

    @classmethod
    def deploy_command(cls, out_dir: Path) -> str:
        """PROVISION_SOURCE: the command an admin runs to deploy what ``out_dir`` holds."""
        raise CapabilityMissing(f"connection type {cls.name!r} writes no provisioning source")

    def _missing(self, capability: Capability) -> CapabilityMissing:
        return CapabilityMissing(
            f"connection type {self.name!r} does not support {capability.value}; use a "
            "connection that does for this role (see the connector's capabilities)"
        )

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; optional."""
