"""HubSpotConnector: the refsync extension point for HubSpot (see ``connectors/base.py``).

Object names are HubSpot object types (``companies``, ``contacts``, ``deals``, ``meetings``,
``calls``, ``notes``, ``tasks``, custom ``p_referral_definitions``...) plus the virtual
``engagements`` (:mod:`connectors.hubspot.engagements`), which routes outreach to meetings,
calls, notes or tasks by kind.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel

from connectors.base import (
    Bookmark,
    Capability,
    Clock,
    Connector,
    Dialect,
    LocalProblem,
    PhiFields,
    ProvisionAction,
    ReadPage,
    RetryPolicy,
    WriteResult,
    utc_now,
)
from connectors.hubspot.associations import ASSOCIATION_PREFIX, ENGAGEMENT_TYPES, AssociationStore
from connectors.hubspot.describe import HUBSPOT_DIALECT, describe_object
from connectors.hubspot.ids import REFSYNC_ID, IdResolver
from connectors.hubspot.pipelines import PipelineCatalog
from connectors.hubspot.provision import apply_provision, plan_provision
from connectors.hubspot.reads import ObjectReader
from connectors.hubspot.settings import HubSpotSettings, build_hubspot_client
from connectors.hubspot.tiers import scope_problems, tier_problems
from connectors.hubspot.transport import RETRY_POLICY, Transport
from connectors.hubspot.values import to_hubspot
from connectors.hubspot.writes import BatchWriter, Input
from mapping.errors import RecordError, RecordRejected, SchemaMismatch
from mapping.privacy import PrivacyTier
from mapping.schema import ObjectSchema

__all__ = ["HubSpotConnector"]


class HubSpotConnector(Connector):
    """Reads, batch upserts and archives HubSpot CRM records through hubspot-api-client.

    ``client`` injects a ``hubspot.HubSpot``; ``sleep`` and ``monotonic`` inject the waiting
    and the clock of the rate limiter and retries (tests pass a fake pair).
    """

    name: ClassVar[str] = "hubspot"
    settings_model = HubSpotSettings
    max_batch_size: ClassVar[int] = 100
    cursor_field: ClassVar[str | None] = "hs_lastmodifieddate"
    dialect: ClassVar[Dialect] = HUBSPOT_DIALECT
    retry_policy: ClassVar[RetryPolicy] = RETRY_POLICY
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.READ,
            Capability.WRITE,
            Capability.ARCHIVE,
            Capability.BACKFILL_KEYS,
            Capability.PROVISION,
        }
    )

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        client: Any = None,
        clock: Clock = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        transport: Transport | None = None,
    ) -> None:
        super().__init__(settings, client=client, clock=clock)
        self.settings: HubSpotSettings = settings
        self._sleep = sleep
        self._monotonic = monotonic
        self._transport = transport
        self._schemas: dict[str, ObjectSchema] = {}
        self._sensitive: dict[str, set[str]] = {}  # object -> its sensitive-data properties
        self._lock = threading.Lock()

    # -- plumbing --------------------------------------------------------------------------

    def build_client(self) -> Any:
        return build_hubspot_client(self.settings)

    @property
    def transport(self) -> Transport:
        """The one :class:`Transport` of this connector (limiter, auth, retries, counters)."""
        with self._lock:
            if self._transport is None:
                self._transport = Transport(
                    self.client,
                    self.settings,
                    sleep=self._sleep,
                    monotonic=self._monotonic,
                    policy=self.retry_policy,
                )
            if not hasattr(self, "_ids"):
                self._ids = IdResolver(self._transport, batch_size=self.settings.batch_size)
                self._links = AssociationStore(self._transport, self._ids)
                self._pipelines = PipelineCatalog(self._transport, "deals")
            return self._transport

    @property
    def ids(self) -> IdResolver:
        _ = self.transport
        return self._ids

    @property
    def tokens_refreshed(self) -> int:
        """How many OAuth refreshes this connector made (0 for private-app tokens)."""
        return self.transport.tokens.refresh_count

    @property
    def pipelines(self) -> PipelineCatalog:
        _ = self.transport
        return self._pipelines

    # -- contract --------------------------------------------------------------------------

    def check(self) -> None:
        """One cheap authenticated call (a one-record company page)."""
        self.transport.call(
            "objects_basic", "get_page", "companies", limit=1, what="companies check"
        )

    def describe(self, object_name: str) -> ObjectSchema:
        if object_name == "engagements":
            from connectors.hubspot.engagements import describe_engagements

            return describe_engagements(self)
        cached = self._schemas.get(object_name)
        if cached is None:
            cached = describe_object(
                self.transport,
                object_name,
                pipelines=self.pipelines if object_name == "deals" else None,
                pipeline_name=self.settings.deal_pipeline,
                sensitivity=self.settings.sensitive_data,
                sensitive_found=self._sensitive.setdefault(object_name, set()),
            )
            self._schemas[object_name] = cached
        return cached

    def read(
        self,
        object_name: str,
        *,
        since: Bookmark | None,
        fields: Sequence[str],
        until: datetime | None = None,
    ) -> Iterator[ReadPage]:
        until_ms = int((until or self.clock()).timestamp() * 1000)
        if object_name == "engagements":
            from connectors.hubspot.engagements import read_engagements

            yield from read_engagements(self, since=since, fields=fields, until=until)
            return
        self.require_fields(object_name, fields)
        reader = ObjectReader(
            self.transport,
            self.settings,
            object_name,
            fields,
            associations=self._links,
            pipelines=self.pipelines,
        )
        yield from reader.read(since, until_ms, bounded=until is not None)

    # -- provisioning and the privacy tier (connectors.hubspot.provision / .tiers) -------

    def provision_plan(self, phi_fields: PhiFields) -> list[ProvisionAction]:
        return plan_provision(self, phi_fields)

    def apply_provision(self, plan: Sequence[ProvisionAction]) -> int:
        return apply_provision(self, plan)

    @classmethod
    def tier_problems(
        cls, settings: BaseModel, tier: PrivacyTier, phi_fields: PhiFields
    ) -> list[LocalProblem]:
        return tier_problems(HubSpotSettings.model_validate(settings), tier, phi_fields)

    def access_problems(self, phi_fields: PhiFields) -> list[LocalProblem]:
        return scope_problems(self, phi_fields)

    def forget_schemas(self) -> None:
        """Drop cached schemas and pipelines (after provisioning changed the account)."""
        self._schemas.clear()
        self.pipelines.all(reload=True)

    def require_fields(self, object_name: str, fields: Sequence[str]) -> None:
        """SchemaMismatch naming every field HubSpot does not have (search would ignore it)."""
        schema = self.describe(object_name)
        missing = [f for f in fields if f not in schema.fields]
        if missing:
            raise SchemaMismatch(
                f"HubSpot {object_name} has no propert{'y' if len(missing) == 1 else 'ies'} "
                f"{', '.join(missing)}; run `refsync provision hubspot --apply` or fix the mapping"
            )

    def _require_sensitive(self, object_type: str, names: set[str]) -> None:
        """SchemaMismatch (fatal, before any write) when a property bound to receive PHI
        (``settings.phi_properties``) is an ordinary property, not a sensitive-data one."""
        phi = names & set(self.settings.phi_properties.get(object_type, ()))
        ordinary = sorted(phi - self._sensitive.get(object_type, set()))
        if ordinary:
            raise SchemaMismatch(
                f"HubSpot {object_type} propert{'y' if len(ordinary) == 1 else 'ies'} "
                f"{', '.join(ordinary)} would receive PHI but "
                f"{'is not a' if len(ordinary) == 1 else 'are not'} sensitive-data "
                "propert" + ("y" if len(ordinary) == 1 else "ies") + "; nothing was written. "
                "Map the PHI to a property `refsync provision hubspot --apply` creates as "
                "sensitive data (HubSpot cannot change an existing property's sensitivity)"
            )

    def upsert(
        self, object_name: str, records: Sequence[Mapping[str, Any]], *, key: str
    ) -> list[WriteResult]:
        if object_name == "engagements":
            from connectors.hubspot.engagements import upsert_engagements

            return upsert_engagements(self, records, key=key)
        return self.upsert_object(object_name, records, key=key)

    def upsert_object(
        self, object_type: str, records: Sequence[Mapping[str, Any]], *, key: str
    ) -> list[WriteResult]:
        """Upsert into one real object type (see :mod:`connectors.hubspot.writes`)."""
        names = {name for record in records for name in record}
        self.require_fields(object_type, sorted(names))  # HubSpot would refuse every batch
        self._require_sensitive(object_type, names)
        results: dict[int, WriteResult] = {}
        inputs, links, first_of = self._prepare(object_type, records, key, results)
        written = BatchWriter(self.transport, object_type, batch_size=self.settings.batch_size)
        results.update(written.upsert(list(inputs.values()), key))
        self._write_links(object_type, key, inputs, links, results)
        return [
            _rekeyed(results[_last(first_of, i)], str(records[i].get(key) or ""))
            for i in range(len(records))
        ]

    def _prepare(
        self,
        object_type: str,
        records: Sequence[Mapping[str, Any]],
        key: str,
        results: dict[int, WriteResult],
    ) -> tuple[dict[str, Input], dict[int, dict[str, Any]], dict[int, int]]:
        """Inputs by key (last record wins), association fields, duplicate -> first index."""
        inputs: dict[str, Input] = {}
        links: dict[int, dict[str, Any]] = {}
        first_of: dict[int, int] = {}
        for index, record in enumerate(records):
            value = record.get(key)
            if value in (None, ""):
                results[index] = _reject(
                    "", f"HubSpot {object_type}: record has no {key}", key, "MISSING_KEY"
                )
                continue
            try:
                properties = self._properties(object_type, record, key)
            except RecordError as err:
                results[index] = _reject(str(value), err.message, err.field, err.code)
                continue
            previous = inputs.get(str(value))
            if previous is not None:
                first_of[previous.index] = index
            inputs[str(value)] = Input(index, str(value), properties)
            links[index] = {
                k[len(ASSOCIATION_PREFIX) :]: v
                for k, v in record.items()
                if k.startswith(ASSOCIATION_PREFIX)
            }
        return inputs, links, first_of

    def _properties(self, object_type: str, record: Mapping[str, Any], key: str) -> dict[str, str]:
        properties = {
            k: to_hubspot(v)
            for k, v in record.items()
            if k != key and not k.startswith(ASSOCIATION_PREFIX)
        }
        if object_type == "deals" and properties.get("dealstage"):
            pipeline_name = properties.get("pipeline") or self.settings.deal_pipeline
            pipeline = self.pipelines.pipeline(pipeline_name)
            properties["pipeline"] = pipeline.id
            properties["dealstage"] = self.pipelines.stage_id(pipeline.id, properties["dealstage"])
        return properties

    def _write_links(
        self,
        object_type: str,
        key: str,
        inputs: Mapping[str, Input],
        links: Mapping[int, dict[str, Any]],
        results: dict[int, WriteResult],
    ) -> None:
        wanted: dict[str, dict[str, Any]] = {}
        owner: dict[str, int] = {}
        new_ids = set()
        for item in inputs.values():
            result = results.get(item.index)
            if result is None or not result.ok or result.id is None:
                continue
            if key == REFSYNC_ID:
                self.ids.remember(object_type, item.key, result.id)
            if links.get(item.index):
                wanted[result.id] = links[item.index]
                owner[result.id] = item.index
                if result.created:
                    new_ids.add(result.id)
        if not wanted:
            return
        failures = self._links.write(object_type, wanted, new_ids=frozenset(new_ids))
        for hubspot_id, error in failures.items():
            index = owner[hubspot_id]
            results[index] = _reject(results[index].key, error.message, error.field, error.code)

    def backfill_keys(
        self, object_name: str, pairs: Sequence[tuple[str, str]], *, key: str
    ) -> list[WriteResult]:
        """Write canonical ids onto records created outside refsync, by HubSpot id."""
        from connectors.hubspot.keys import write_engagement_keys, write_keys

        if object_name == "engagements":
            return write_engagement_keys(self.transport, ENGAGEMENT_TYPES, pairs, key=key,
                                         batch_size=self.settings.batch_size)  # fmt: skip

        return write_keys(self.transport, object_name, pairs, key=key,
                          batch_size=self.settings.batch_size)  # fmt: skip

    def archive(self, object_name: str, keys: Sequence[str], *, key: str) -> list[WriteResult]:
        if object_name == "engagements":
            from connectors.hubspot.engagements import archive_engagements

            return archive_engagements(self, keys, key=key)
        ids = self.ids.hubspot_ids(object_name, keys, key_property=key)
        writer = BatchWriter(self.transport, object_name, batch_size=self.settings.batch_size)
        return writer.archive(keys, key, ids)


def _last(replaced_by: Mapping[int, int], index: int) -> int:
    """The index whose result stands for ``index`` (a later record with the same key)."""
    while index in replaced_by:
        index = replaced_by[index]
    return index


def _reject(key: str, message: str, field: str | None, code: str) -> WriteResult:
    error = RecordRejected(message, key=key or None, field=field, code=code)
    return WriteResult(key=key, error=error)


def _rekeyed(result: WriteResult, key: str) -> WriteResult:
    if result.key == key:
        return result
    return WriteResult(key=key, id=result.id, created=result.created, error=result.error)
