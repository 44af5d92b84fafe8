"""``SalesforceSandbox``: the in-process handle on a local Salesforce org served over HTTPS."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from requests.adapters import HTTPAdapter
from simple_salesforce.api import Salesforce

from connectors.sandbox.common import BackgroundServer, FaultPlan, Stats
from connectors.sandbox.salesforce import bulk, collections, replication, rest
from connectors.sandbox.salesforce.app import Allowance, Org, SalesforceApp
from connectors.sandbox.salesforce.auth import Credentials, Sessions
from connectors.sandbox.salesforce.duplicates import DuplicateRule
from connectors.sandbox.salesforce.errors import RecordFailure
from connectors.sandbox.salesforce.query import Cursors
from connectors.sandbox.salesforce.schema import ObjectDef, default_schema
from connectors.sandbox.salesforce.store import Store
from connectors.sandbox.salesforce.values import to_id18, to_json
from connectors.sandbox.salesforce.writes import Writer
from connectors.sandbox.tls import SandboxTLS

__all__ = ["LoginRedirectAdapter", "SalesforceSandbox"]

_ORG_ID = to_id18("00DDn0000000001")
_USER_ID = to_id18("005Dn0000000001")
_DATA_FILE = "salesforce.json"
MY_DOMAIN = "refsync-sandbox.my"


class LoginRedirectAdapter(HTTPAdapter):
    """Sends requests for login hosts (``https://login.salesforce.com``) to the sandbox, and
    verifies TLS against the sandbox CA.

    simple-salesforce builds login URLs as ``https://{domain}.salesforce.com``; mounting this
    adapter on a ``requests.Session`` for those prefixes is how a client logs in to the
    sandbox without patching anything. The CA is forced per request because requests lets a
    ``REQUESTS_CA_BUNDLE`` environment variable override ``session.verify`` (requests#3829).
    """

    def __init__(self, instance_url: str, ca_file: str) -> None:
        super().__init__()
        self._netloc = urlsplit(instance_url).netloc
        self._ca_file = ca_file

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(str(request.url))
        request.url = urlunsplit(("https", self._netloc, parts.path, parts.query, parts.fragment))
        kwargs["verify"] = self._ca_file
        return super().send(request, **kwargs)


class SalesforceSandbox:
    """A local Salesforce org: REST, SOQL, Collections, Bulk 2.0 and logins over HTTPS.

    Use as a context manager (or :meth:`start` / :meth:`stop`). ``data_dir`` keeps the CA,
    the JWT key pair and the records across restarts; without it a temporary directory is used
    and nothing persists. ``faults`` and ``stats`` can be changed and read at run time.
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        api_version: str = "62.0",
        daily_limit: int = 5_000_000,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        schema: dict[str, ObjectDef] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._persist = data_dir is not None
        self.data_dir = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="refsync-sf-"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.api_version = api_version
        self.tls = SandboxTLS(self.data_dir / "tls")
        self.ca_file = str(self.tls.ca_file)
        self.private_key_file = str(self._jwt_key())
        self.faults = FaultPlan()
        self.stats = Stats()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._now: datetime | None = None
        self._org = self._build_org(schema or default_schema(), daily_limit)
        app = SalesforceApp(
            self._org, rest.ROUTES + replication.ROUTES + collections.ROUTES + bulk.ROUTES
        )
        self._server = BackgroundServer(
            app, host=host, port=port, ssl_context=self.tls.server_context()
        )
        self._org.instance_url = f"https://{host}:{self._server.port}"
        self._org.creds.audiences |= {self._org.instance_url, f"https://{MY_DOMAIN}.salesforce.com"}
        self._seed()
        if self._persist and (self.data_dir / _DATA_FILE).exists():
            self._org.store.load(self.data_dir / _DATA_FILE)
        self.session_id = self._org.sessions.issue()
        self._started = False

    # -- construction ---------------------------------------------------------------------------

    def _jwt_key(self) -> Path:
        path = self.data_dir / "jwt_private_key.pem"
        if not path.exists():
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            path.write_bytes(pem)
            path.chmod(0o600)
        return path

    def _public_key(self) -> bytes:
        key = serialization.load_pem_private_key(Path(self.private_key_file).read_bytes(), None)
        return key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def _build_org(self, schema: dict[str, ObjectDef], daily_limit: int) -> Org:
        store = Store(schema, self.now)
        creds = Credentials(
            jwt_public_key=self._public_key(),
            audiences={"https://login.salesforce.com", "https://test.salesforce.com"},
        )
        return Org(
            store=store,
            writer=Writer(store, self.faults, _USER_ID),
            sessions=Sessions(_ORG_ID, _USER_ID),
            creds=creds,
            faults=self.faults,
            stats=self.stats,
            allowance=Allowance(daily_limit),
            api_version=self.api_version,
        )

    def _seed(self) -> None:
        """The integration user every record is owned by."""
        now = self.now().replace(microsecond=0)
        user = {
            "Id": _USER_ID,
            "IsDeleted": False,
            "Username": self.username,
            "LastName": "Integration",
            "FirstName": "refsync",
            "Name": "refsync Integration",
            "Email": "integration@refsync.sandbox",
            "IsActive": True,
            "CreatedDate": now,
            "LastModifiedDate": now,
            "SystemModstamp": now,
            "CreatedById": _USER_ID,
            "LastModifiedById": _USER_ID,
        }
        with self._org.store.lock:
            self._org.store.table("User").put(user)

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> SalesforceSandbox:
        if not self._started:
            self._server.start()
            self._started = True
        return self

    def stop(self) -> None:
        if self._started:
            self._server.stop()
            self._started = False
        if self._persist:
            self._org.store.save(self.data_dir / _DATA_FILE)

    def __enter__(self) -> SalesforceSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- connection settings --------------------------------------------------------------------

    @property
    def instance_url(self) -> str:
        return self._org.instance_url

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def username(self) -> str:
        return self._org.creds.username

    @property
    def password(self) -> str:
        return self._org.creds.password

    @property
    def security_token(self) -> str:
        return self._org.creds.security_token

    @property
    def client_id(self) -> str:
        return self._org.creds.client_id

    @property
    def client_secret(self) -> str:
        return self._org.creds.client_secret

    @property
    def my_domain(self) -> str:
        """The My Domain prefix the sandbox answers for (client-credentials logins)."""
        return MY_DOMAIN

    @property
    def user_id(self) -> str:
        return _USER_ID

    @property
    def api_usage(self) -> int:
        return self._org.allowance.used

    def set_daily_limit(self, limit: int, used: int | None = None) -> None:
        """Change the daily allowance (and optionally the usage so far) at run time."""
        self._org.allowance.daily_limit = limit
        if used is not None:
            self._org.allowance.used = used

    def set_bulk_polls(self, polls: int) -> None:
        """How many status polls show a Bulk job ``InProgress`` before ``JobComplete``."""
        self._org.bulk_polls_until_complete = polls

    def bulk_jobs(self, kind: str) -> list[dict[str, Any]]:
        """The job info of every Bulk API 2.0 job of ``kind`` (``ingest`` or ``query``)."""
        return [dict(job.info) for job in self._org.jobs.values() if job.kind == kind]

    def set_jwt_public_key(self, pem: bytes) -> None:
        """Accept JWT assertions signed by the key matching ``pem`` (public key or cert)."""
        self._org.creds.jwt_public_key = pem

    def expire_sessions(self) -> None:
        """Invalidate every access token now (the next call answers 401 INVALID_SESSION_ID)."""
        self._org.sessions.expire_all()

    def new_session(self) -> str:
        """Issue a fresh access token (after :meth:`expire_sessions`)."""
        self.session_id = self._org.sessions.issue()
        return self.session_id

    # -- clients --------------------------------------------------------------------------------

    def login_session(self) -> requests.Session:
        """A ``requests.Session`` that trusts the CA and routes login hosts to the sandbox."""
        session = requests.Session()
        session.verify = self.ca_file
        adapter = LoginRedirectAdapter(self.instance_url, self.ca_file)
        session.mount(self.instance_url, adapter)
        for prefix in ("login", "test", MY_DOMAIN):
            session.mount(f"https://{prefix}.salesforce.com", adapter)
        return session

    def make_client(self, login: str | None = None, **kwargs: Any) -> Salesforce:
        """A real simple-salesforce client for this sandbox.

        ``login=None`` uses :attr:`session_id` (no re-login possible, as in production);
        ``"password"`` (SOAP), ``"oauth_password"``, ``"jwt"`` and ``"client_credentials"`` log
        in through the sandbox's login endpoints and can re-login on session expiry.
        """
        creds = self._org.creds
        flows: dict[str | None, dict[str, Any]] = {
            None: {"instance_url": self.instance_url, "session_id": self.session_id},
            "password": {
                "username": creds.username,
                "password": creds.password,
                "security_token": creds.security_token,
            },
            "oauth_password": {
                "username": creds.username,
                "password": creds.password,
                "consumer_key": creds.client_id,
                "consumer_secret": creds.client_secret,
            },
            "jwt": {
                "username": creds.username,
                "consumer_key": creds.client_id,
                "privatekey_file": self.private_key_file,
            },
            "client_credentials": {
                "consumer_key": creds.client_id,
                "consumer_secret": creds.client_secret,
                "domain": MY_DOMAIN,
            },
        }
        if login not in flows:
            raise ValueError(
                f"unknown login {login!r}; use password, oauth_password, jwt or client_credentials"
            )
        args = {"session": self.login_session(), "version": self.api_version, **flows[login]}
        args.update(kwargs)
        return Salesforce(**args)

    # -- data -----------------------------------------------------------------------------------

    def define_object(self, obj: ObjectDef) -> None:
        """Add or replace an sObject in the schema (describe and validation follow it)."""
        self._org.store.define(obj)

    def insert(self, sobject: str, records: Iterable[dict[str, Any]]) -> list[str]:
        """Create records directly (validated like the API; not counted in stats or limits)."""
        obj = self._org.store.object(sobject)
        if obj is None:
            raise KeyError(f"sObject {sobject!r} is not in the sandbox schema")
        ids = []
        with self._org.store.transaction() as tx:
            for i, record in enumerate(records):
                try:
                    ids.append(self._org.writer.create(obj, record))
                except RecordFailure as failure:
                    tx.rollback()
                    raise ValueError(
                        f"{sobject} record {i}: {failure.code}: {failure.message}"
                    ) from None
        return ids

    def records(self, sobject: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Stored records as the REST API renders their values (insertion order)."""
        obj = self._org.store.object(sobject)
        if obj is None:
            raise KeyError(f"sObject {sobject!r} is not in the sandbox schema")
        with self._org.store.lock:
            rows = list(self._org.store.table(obj.name).rows.values())
        return [
            {f.name: to_json(f, row.get(f.name)) for f in obj.fields if f.name in row}
            for row in rows
            if include_deleted or not row.get("IsDeleted")
        ]

    def add_duplicate_rule(self, sobject: str, fields: Iterable[str], name: str) -> None:
        """Activate a blocking duplicate rule: saving a record whose ``fields`` all equal a live
        record's (case and surrounding spaces ignored) fails ``DUPLICATES_DETECTED``."""
        self._org.writer.duplicate_rules.append(DuplicateRule(sobject, tuple(fields), name))

    def reset_data(self) -> None:
        """Drop every record and duplicate rule (the integration user is re-created)."""
        self._org.writer.duplicate_rules.clear()
        self._org.store.reset()
        self._org.jobs.clear()
        self._org.cursors = Cursors()
        self._seed()

    def dump(self, path: str | Path) -> None:
        """Write every record (deleted ones included) as JSON, keyed by sObject."""
        Path(path).write_text(json.dumps(self._org.store.snapshot(), indent=1), encoding="utf-8")

    # -- clock ----------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self._now if self._now is not None else self._clock()

    def set_now(self, when: datetime | None) -> None:
        """Freeze the server clock at ``when`` (None returns to the injected/real clock)."""
        self._now = when.astimezone(UTC) if when is not None else None

    def advance(self, seconds: float) -> None:
        """Move a frozen clock forward (freezes it at now + seconds if it was running)."""
        self._now = self.now() + timedelta(seconds=seconds)
