"""``HubSpotSandbox``: the local HubSpot CRM API server and its in-process controls."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.sandbox.common import BackgroundServer, FaultPlan, Stats
from connectors.sandbox.hubspot._app import Exchange, HubSpotApp, Route, SandboxState
from connectors.sandbox.hubspot._assoc_routes import ROUTES as _ASSOC_ROUTES
from connectors.sandbox.hubspot._associations import AssociationBook
from connectors.sandbox.hubspot._auth import OAuthIssuer, RateLimiter, TokenAuthority
from connectors.sandbox.hubspot._batch import ROUTES as _BATCH_ROUTES
from connectors.sandbox.hubspot._clock import Clock
from connectors.sandbox.hubspot._merge import ROUTES as _MERGE_ROUTES
from connectors.sandbox.hubspot._meta_routes import ROUTES as _META_ROUTES
from connectors.sandbox.hubspot._objects import ROUTES as _OBJECT_ROUTES
from connectors.sandbox.hubspot._objects import (
    WriteRejected,
    prepare_write,
    record_json,
    resolve_table,
)
from connectors.sandbox.hubspot._pipelines import ROUTES as _PIPELINE_ROUTES
from connectors.sandbox.hubspot._pipelines import PipelineBook
from connectors.sandbox.hubspot._schema import SchemaRegistry
from connectors.sandbox.hubspot._search import ROUTES as _SEARCH_ROUTES
from connectors.sandbox.hubspot._store import RecordStore

__all__ = ["HubSpotSandbox"]

_DATA_FILE = "hubspot.json"
ROUTES: list[Route] = [
    *_MERGE_ROUTES,
    *_BATCH_ROUTES,
    *_SEARCH_ROUTES,
    *_OBJECT_ROUTES,
    *_META_ROUTES,
    *_PIPELINE_ROUTES,
    *_ASSOC_ROUTES,
]


class HubSpotSandbox:
    """A local server that answers as the HubSpot CRM API does (plain HTTP on loopback).

    Use as a context manager (or :meth:`start` / :meth:`stop`)::

        with HubSpotSandbox() as hs:
            client = hs.make_client()
            client.crm.contacts.basic_api.create({"properties": {"email": "a@b.c"}})

    ``data_dir``: keep records, pipelines, associations and API-made definitions in
    ``DIR/hubspot.json`` across restarts (loaded on start, written on stop and :meth:`save`).
    ``ten_second_limit`` / ``daily_limit``: the rate limits (also settable later through
    :attr:`limits`). ``faults``: a :class:`~connectors.sandbox.common.FaultPlan` (default:
    none injected); change it at run time through :attr:`faults`.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        port: int = 0,
        ten_second_limit: int = 190,
        daily_limit: int = 1_000_000,
        faults: FaultPlan | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else None
        clock = Clock()
        self._state = SandboxState(
            clock=clock,
            schema=SchemaRegistry(),
            store=RecordStore(),
            auth=TokenAuthority(clock),
            limiter=RateLimiter(ten_second_limit, daily_limit),
            faults=faults or FaultPlan(),
            stats=Stats(),
        )
        self._reset_extras()
        self.app = HubSpotApp(self._state, ROUTES)
        self._host, self._port = host, port
        self._initial_limits = (ten_second_limit, daily_limit)
        self._server: BackgroundServer | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> HubSpotSandbox:
        # Werkzeug logs one line per request at INFO; thousands per test are noise
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        if self.data_dir is not None:
            self._load()
            self.save()  # the token is on disk even if the process is killed later
        self._server = BackgroundServer(self.app, host=self._host, port=self._port)
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self.data_dir is not None:
            self.save()

    def __enter__(self) -> HubSpotSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- connection settings --------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the HubSpot sandbox is not running; call start() first")
        return self._server.port

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def token(self) -> str:
        """A private-app access token (never expires)."""
        return self._state.auth.private_token

    @property
    def sensitive_token(self) -> str:
        """A second private app's token, granted every sensitive and highly sensitive scope
        (``crm.objects.{contacts,companies,deals,custom}.{sensitive,highly_sensitive}.*``)."""
        return self._state.auth.sensitive_token

    @property
    def sensitive_data(self) -> bool:
        """Whether the account has sensitive data (HIPAA) turned on; set it to True as a
        Super Admin would (HubSpot cannot turn it off; :meth:`reset_data` starts a new
        account without it)."""
        return self._state.sensitive_data

    @sensitive_data.setter
    def sensitive_data(self, value: bool) -> None:
        self._state.sensitive_data = value

    @property
    def oauth(self) -> OAuthIssuer:
        """The OAuth app: ``client_id``, ``client_secret``, ``issue_refresh_token()``,
        ``expire_all()``, ``expire_after_calls``, ``expires_in``."""
        return self._state.auth.oauth

    def make_client(self, access_token: str | None = None, **config: Any) -> Any:
        """A real ``hubspot.HubSpot`` client pointed at this sandbox."""
        from hubspot import HubSpot

        return HubSpot(
            access_token=access_token or self.token,
            host=self.base_url,
            base_url=self.base_url,  # used by client.api_request only
            **config,
        )

    # -- controls and inspection ----------------------------------------------------------

    @property
    def faults(self) -> FaultPlan:
        return self._state.faults

    @property
    def stats(self) -> Stats:
        return self._state.stats

    @property
    def limits(self) -> RateLimiter:
        """Rate limits: set ``ten_second_limit`` / ``daily_limit``; ``reset()`` the counts."""
        return self._state.limiter

    @property
    def routes(self) -> list[tuple[str, str]]:
        """Every implemented operation as (method, Werkzeug rule)."""
        return [(r.method, r.rule) for r in ROUTES]

    def record_exchanges(self, recorder: Callable[[Exchange], None] | None) -> None:
        """Call ``recorder`` with every request/response pair (None stops recording)."""
        self.app.recorder = recorder

    def set_now(self, when: datetime, *, frozen: bool = False) -> None:
        """Move the sandbox clock (create/modify dates, token expiry); ``frozen`` stops it."""
        self._state.clock.set_now(when, frozen=frozen)

    def insert(self, object_type: str, rows: Iterable[dict[str, Any]]) -> list[str]:
        """Create records directly (validated like the API; no calls counted); their ids.

        Each row reads the clock, so with a running clock every row gets a later millisecond
        (and a large insert moves the sandbox clock ahead of real time by one ms per row);
        freeze the clock (``set_now(..., frozen=True)``) for rows sharing one stamp.
        """
        state = self._state
        name, table = resolve_table(state, object_type)
        ids: list[str] = []
        with state.store.lock:
            for row in rows:
                try:
                    changes = prepare_write(state, name, table, row, None, check_locks=False)
                except WriteRejected as rejected:
                    raise ValueError(rejected.error.body["message"]) from None
                rec = table.insert(state.store.next_id(), changes, state.clock.now_ms())
                ids.append(str(rec.id))
        return ids

    def delay_indexing(self, object_type: str, ids: Iterable[str], seconds: float) -> None:
        """Search returns these records only ``seconds`` after their last change (HubSpot's
        search index lags the database: a record can surface after later-stamped ones).
        Reads by id and list pages see them at once, as in HubSpot."""
        state = self._state
        name, table = resolve_table(state, object_type)
        with state.store.lock:
            for rid in ids:
                rec = table.records[int(rid)]
                state.index_delays[(name, rec.id)] = rec.updated + int(seconds * 1000)

    def records(self, object_type: str, *, archived: bool = False) -> list[dict[str, Any]]:
        """Every record of a type as SimplePublicObject JSON with all set properties."""
        state = self._state
        name, table = resolve_table(state, object_type)
        with state.store.lock:
            return [
                record_json(state, name, r, full=True)
                for r in table.records.values()
                if r.archived == archived
            ]

    def associations(self, from_type: str, from_id: str, to_type: str) -> list[str]:
        """Ids of ``to_type`` records associated with one record."""
        schema = self._state.schema
        book: AssociationBook = self._state.extras["associations"]
        linked = book.linked(schema.resolve(from_type), int(from_id), schema.resolve(to_type))
        return [str(other) for other, _ in linked]

    def reset_data(self) -> None:
        """Back to a fresh account: no records, default schema and pipeline, limits reset."""
        self._state.store.clear()
        self._state.index_delays.clear()
        self._state.schema = SchemaRegistry()
        self._reset_extras()
        self._state.limiter.reset()
        self._state.sensitive_data = False

    def reset(self) -> None:
        """A fresh start for the next test: :meth:`reset_data`, no faults, zeroed counters,
        the rate limits given at construction, real time, OAuth expiry off, no exchange
        recorder. Port and tokens stay."""
        self.reset_data()
        self.limits.ten_second_limit, self.limits.daily_limit = self._initial_limits
        self.limits.search_per_second = None
        self.faults.clear()
        self.stats.reset()
        self._state.clock.set_now(datetime.now(UTC))
        self.oauth.expire_after_calls = None
        self.oauth.expire_all()
        self.record_exchanges(None)

    def _reset_extras(self) -> None:
        self._state.extras["pipelines"] = PipelineBook(self._state.clock)
        self._state.extras["associations"] = AssociationBook()

    # -- persistence ----------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        """All data as JSON-ready dict (what the data dir holds)."""
        auth = self._state.auth
        return {
            # the printed connection settings must keep working after a restart
            "auth": {
                "private_token": auth.private_token,
                "sensitive_token": auth.sensitive_token,
                "sensitive_data": self._state.sensitive_data,
                "client_id": auth.oauth.client_id,
                "client_secret": auth.oauth.client_secret,
            },
            "schema": self._state.schema.journal,
            "records": self._state.store.dump(),
            "pipelines": self._state.extras["pipelines"].dump(),
            "associations": self._state.extras["associations"].dump(),
        }

    def save(self) -> None:
        """Write :meth:`dump` to the data dir atomically (no-op without a data dir)."""
        if self.data_dir is None:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.data_dir, prefix=".hubspot-")
        with os.fdopen(fd, "w") as handle:
            json.dump(self.dump(), handle)
        os.replace(tmp, self.data_dir / _DATA_FILE)

    def _load(self) -> None:
        assert self.data_dir is not None
        path = self.data_dir / _DATA_FILE
        if not path.exists():
            return
        data = json.loads(path.read_text())
        auth = data.get("auth") or {}
        if auth:
            self._state.auth.private_token = auth["private_token"]
            kept = auth.get("sensitive_token")
            self._state.auth.sensitive_token = kept or self._state.auth.sensitive_token
            self._state.sensitive_data = bool(auth.get("sensitive_data", False))
            self._state.auth.oauth.client_id = auth["client_id"]
            self._state.auth.oauth.client_secret = auth["client_secret"]
        self._state.schema.replay(data.get("schema", []))
        self._state.store.load(data.get("records", {}), lambda n: resolve_table(self._state, n)[1])
        self._state.extras["pipelines"].load(data.get("pipelines", []))
        self._state.extras["associations"].load(data.get("associations", {}))
