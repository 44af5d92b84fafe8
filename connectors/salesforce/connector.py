"""The Salesforce connector: the :class:`connectors.base.Connector` contract over the REST API.

Usage::

    settings = SalesforceSettings(auth="jwt", login_url=..., client_id=..., username=...,
                                  private_key_file=...)
    sf = SalesforceConnector(settings)               # builds the client on first use
    sf.check()
    schema = sf.describe("Referral__c")
    for page in sf.read("Referral__c", since=bookmark, fields=[...], until=run_started):
        ...                                           # merge page.records, then keep page.bookmark
    results = sf.upsert("Referral__c", records, key="Refsync_Id__c")

Tests inject a client (``client=``) and a sleep (``sleep=``). Either way the connector owns
re-authentication (from ``settings``), the quota guard (a response hook on the client's
session) and error translation; no simple-salesforce or ``requests`` exception escapes.
Inject a *direct* client (``Salesforce(session_id=..., instance_url=...)``): the connector
re-logs in itself. It only calls ``Salesforce``-level methods (``restful``, ``query_all``,
``limits``) and the HTTP session, never ``SFType`` methods, whose re-login recursion on a
permanent 401 is unbounded in simple-salesforce 1.12.

Bulk API 2.0 is used when one ``upsert`` call carries ``bulk_threshold`` records or more; the
engine hands a destination's pending records to one call (up to 50,000), so in practice that
is the run's record count. Reads switch to a Bulk API 2.0 query job (CSV result pages, fetched
while the previous one is translated) when the window holds ``bulk_read_threshold`` records
or more, as the first REST page's ``totalSize`` tells.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from simple_salesforce.api import Salesforce

from connectors.base import (
    Bookmark,
    Capability,
    Clock,
    Connector,
    Dialect,
    ReadPage,
    RetryPolicy,
    WriteResult,
    utc_now,
)
from connectors.salesforce.activities import (
    ACTIVITY,
    archive_activities,
    backfill_activity_keys,
    describe_activities,
    read_activities,
    upsert_activities,
)
from connectors.salesforce.auth import apply_session, build_client, login, new_http_session
from connectors.salesforce.bulk import BulkUpsert
from connectors.salesforce.bulk_read import BulkQuery, cell_parsers
from connectors.salesforce.calls import RETRY_POLICY, CallRunner, Sleep
from connectors.salesforce.describe import SALESFORCE_DIALECT, SchemaCache
from connectors.salesforce.errors import LOCK_CODE
from connectors.salesforce.keys import write_keys
from connectors.salesforce.provision import SalesforceProvisionSource
from connectors.salesforce.quota import QuotaGuard
from connectors.salesforce.reads import CURSOR, BulkSwitch, ReadWindow, read_pages, select_list
from connectors.salesforce.settings import SalesforceSettings
from connectors.salesforce.writes import (
    Lookup,
    delete_by_keys,
    field_names,
    upsert_collections,
)
from mapping.errors import ConnectorError, SchemaMismatch
from mapping.schema import ObjectSchema

__all__ = ["SalesforceConnector"]


class SalesforceConnector(SalesforceProvisionSource, Connector):
    """Reads, upserts and archives Salesforce records; see the module docstring."""

    name: ClassVar[str] = "salesforce"
    settings_model: ClassVar[type[SalesforceSettings]] = SalesforceSettings
    max_batch_size: ClassVar[int] = 200
    cursor_field: ClassVar[str | None] = CURSOR
    dialect: ClassVar[Dialect] = SALESFORCE_DIALECT
    retry_policy: ClassVar[RetryPolicy] = RETRY_POLICY
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.READ, Capability.WRITE, Capability.ARCHIVE, Capability.BACKFILL_KEYS}
        | {Capability.PROVISION_SOURCE}
    )

    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        client: Salesforce | None = None,
        clock: Clock = utc_now,
        sleep: Sleep = time.sleep,
    ) -> None:
        super().__init__(settings, client=client, clock=clock)
        self.settings: SalesforceSettings = settings
        self.quota = QuotaGuard(settings.quota_share)
        self.runner = CallRunner(
            settings,
            quota=self.quota,
            relogin=self._relogin,
            sleep=sleep,
            policy=self.retry_policy,
        )
        self.schemas = SchemaCache(self._describe_raw)
        self.bulk_jobs: list[str] = []
        if client is not None:
            self.quota.install(client.session)

    @property
    def client(self) -> Salesforce:
        if self._client is None:
            self._client = self.build_client()
            self.quota.install(self._client.session)
        return self._client  # type: ignore[no-any-return]

    def build_client(self) -> Salesforce:
        """Log in with the configured flow and build a direct client (the one place)."""
        return self.runner.run("logging in to Salesforce", lambda: build_client(self.settings))

    def _relogin(self) -> None:
        http = self._client.session if self._client is not None else None
        session = self.runner.run(
            "logging in to Salesforce again",
            lambda: login(self.settings, http or new_http_session(self.settings)),
        )
        apply_session(self.client, session)

    # -- contract -------------------------------------------------------------------------

    def check(self) -> None:
        """One ``limits`` call: proves auth and reachability, and primes the quota guard."""
        self.runner.run("checking the Salesforce connection", lambda: self.client.limits())

    def describe(self, object_name: str) -> ObjectSchema:
        """The object's fields, plus ``<relationship>.<external id>`` lookup paths."""
        if object_name == ACTIVITY:
            return describe_activities(self)
        return self.schemas.full(object_name)

    def read(
        self,
        object_name: str,
        *,
        since: Bookmark | None,
        fields: Sequence[str],
        until: datetime | None = None,
    ) -> Iterator[ReadPage]:
        """Changed (and deleted) records in ``[since, until)``, 2,000 per page with bookmarks
        (Bulk API 2.0 result pages of ``bulk_read_page_records`` past ``bulk_read_threshold``)."""
        if object_name == ACTIVITY:
            return read_activities(self, since=since, fields=fields, until=until)
        select = select_list(fields)
        self.schemas.require(object_name, select)
        window = ReadWindow.from_bookmark(
            since, until or self.clock(), self.settings.lookback_seconds
        )
        return read_pages(
            self.client,
            self.runner,
            object_name,
            select,
            window,
            batch_size=self.settings.read_batch_size,
            timeout=self.settings.timeout_seconds,
            bulk=self._bulk_switch(object_name, select),
        )

    def _bulk_switch(self, object_name: str, select: Sequence[str]) -> BulkSwitch:
        parsers = cell_parsers(self.schemas.base(object_name), select)
        query = BulkQuery(
            self.client,
            self.runner,
            poll_seconds=self.settings.bulk_poll_seconds,
            timeout_seconds=self.settings.bulk_timeout_seconds,
            request_timeout=self.settings.timeout_seconds,
            page_records=self.settings.bulk_read_page_records,
        )
        return BulkSwitch(
            self.settings.bulk_read_threshold, query, dict(zip(select, parsers, strict=True))
        )

    def upsert(
        self, object_name: str, records: Sequence[Mapping[str, Any]], *, key: str
    ) -> list[WriteResult]:
        """Upsert by external id ``key``: Collections below ``bulk_threshold``, else Bulk 2.0.

        Records may nest lookups (``{"Partner__r": {"Refsync_Id__c": ...}}``, as
        :func:`mapping.translate.to_native` builds them) or use dotted names.
        """
        if not records:
            return []
        if object_name == ACTIVITY:
            return upsert_activities(self, records, key=key)
        names = field_names(records)
        self._require_writable(object_name, key, names)
        lookups = self._lookups(object_name, names)
        if len(records) >= self.settings.bulk_threshold:
            return self._bulk_upsert(object_name, records, key, lookups)
        return self._collections_upsert(object_name, records, key, lookups)

    @property
    def write_chunk_size(self) -> int:
        """Bulk-sized: a chunk at the threshold goes through one Bulk API 2.0 job."""
        return max(self.settings.bulk_threshold, self.settings.write_batch_size * 10)

    def backfill_keys(
        self, object_name: str, pairs: Sequence[tuple[str, str]], *, key: str
    ) -> list[WriteResult]:
        """Write canonical ids onto records created outside refsync, by Salesforce Id."""
        if not pairs:
            return []
        if object_name == ACTIVITY:
            return backfill_activity_keys(self, pairs, key=key)
        self._require_writable(object_name, key, [])
        return write_keys(self.client, self.runner, object_name, pairs, key=key,
                          batch_size=self.settings.write_batch_size)  # fmt: skip

    def archive(self, object_name: str, keys: Sequence[str], *, key: str) -> list[WriteResult]:
        """Delete (to the Recycle Bin) the records whose ``key`` is one of ``keys``."""
        if not keys:
            return []
        if object_name == ACTIVITY:
            return archive_activities(self, keys, key=key)
        self.schemas.require(object_name, [key])
        return delete_by_keys(self.client, self.runner, object_name, keys, key=key)

    def close(self) -> None:
        """Close the HTTP session's pooled connections (the client is rebuilt on next use)."""
        if self._client is not None:
            self._client.session.close()
            self._client = None

    # -- helpers --------------------------------------------------------------------------

    def _describe_raw(self, object_name: str) -> dict[str, Any]:
        where = f"describing Salesforce {object_name}"
        path = f"sobjects/{object_name}/describe/"
        raw = self.runner.run(where, lambda: self.client.restful(path))
        if not isinstance(raw, dict):
            raise SchemaMismatch(f"Salesforce returned no describe for {object_name}")
        return raw

    def _require_writable(self, object_name: str, key: str, names: Sequence[str]) -> None:
        self.schemas.require(object_name, [key, *names])
        if not self.schemas.base(object_name).fields[key].external_id:
            raise SchemaMismatch(
                f"Salesforce {object_name}.{key} is not an External ID field; mark it External "
                "ID (and Unique) in Setup or choose another key in the mapping"
            )

    def _lookups(self, object_name: str, names: Sequence[str]) -> dict[str, Lookup]:
        """Lookup field and polymorphic target type of each relationship ``names`` use."""
        relationships = self.schemas.relationships(object_name)
        out: dict[str, Lookup] = {}
        for name in names:
            rel, _, ext = name.partition(".")
            lookup = relationships.get(rel) if ext else None
            if lookup is not None:
                out[rel] = (lookup.name, self._polymorphic_target(lookup.reference_to, ext))
        return out

    def _polymorphic_target(self, targets: Sequence[str], ext: str) -> str | None:
        if len(targets) < 2:
            return None
        for target in targets:
            with contextlib.suppress(ConnectorError):
                if ext in self.schemas.base(target).fields:
                    return target
        return None

    def _collections_upsert(
        self,
        object_name: str,
        records: Sequence[Mapping[str, Any]],
        key: str,
        lookups: Mapping[str, Lookup],
    ) -> list[WriteResult]:
        return upsert_collections(
            self.client,
            self.runner,
            object_name,
            records,
            key=key,
            lookups=lookups,
            batch_size=self.settings.write_batch_size,
            lock_retries=self.settings.lock_retries,
        )

    def _bulk_upsert(
        self,
        object_name: str,
        records: Sequence[Mapping[str, Any]],
        key: str,
        lookups: Mapping[str, Lookup],
    ) -> list[WriteResult]:
        job = BulkUpsert(
            self.client,
            self.runner,
            object_name,
            key,
            poll_seconds=self.settings.bulk_poll_seconds,
            timeout_seconds=self.settings.bulk_timeout_seconds,
            request_timeout=self.settings.timeout_seconds,
            polymorphic={rel: t for rel, (_, t) in lookups.items() if t},
        )
        results = job.run(records)
        self.bulk_jobs.extend(job.jobs)
        locked = [i for i, r in enumerate(results) if r.error and r.error.code == LOCK_CODE]
        if locked:
            # Row locks are transient: re-send just those records synchronously.
            again = self._collections_upsert(
                object_name, [records[i] for i in locked], key, lookups
            )
            for i, result in zip(locked, again, strict=True):
                results[i] = result
        return results
