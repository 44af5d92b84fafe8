"""Connection settings of the Salesforce connector (the ``settings:`` block in refsync.yaml).

Auth flows (``auth``):

- ``jwt`` (recommended): OAuth 2.0 JWT bearer. ``client_id`` (the connected app's consumer
  key), ``username`` (the integration user) and ``private_key_file`` (PEM, RS256).
- ``client_credentials``: OAuth 2.0 client credentials. ``client_id``, ``client_secret``;
  Salesforce only serves this flow on a My Domain host, so set ``domain`` or ``login_url``.
- ``password`` (legacy): ``username``, ``password`` and ``security_token``. With
  ``client_id``/``client_secret`` it uses the OAuth username-password flow; without them the
  SOAP ``login()`` call, which **Salesforce retired from API v65.0** (it stays in v62.0-64.0
  until Summer '27), so that combination is refused for ``api_version`` 65.0 and later.
- ``token``: an existing ``access_token`` plus ``instance_url``. Nothing to refresh with: an
  expired token ends the run with an authentication error.

``domain`` is ``login`` (production), ``test`` (sandboxes) or a My Domain prefix such as
``acme.my``; ``login_url`` overrides it with a full URL (the local sandbox, or a custom host).
Secrets are :class:`~pydantic.SecretStr` and never appear in messages. A plain ``http://``
``login_url`` or ``instance_url`` is refused unless ``insecure_http: true`` (warned on every run).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from connectors.base import SettingRole, require_tls

__all__ = ["SalesforceSettings"]

_SOAP_RETIRED_FROM = 65.0


class SalesforceSettings(BaseModel):
    """Validated settings of one Salesforce connection."""

    model_config = ConfigDict(extra="forbid")

    auth: Literal["jwt", "client_credentials", "password", "token"] = "jwt"
    insecure_http: bool = Field(
        default=False,
        description="allow plain http:// login_url / instance_url (warned on every run)",
    )
    instance_url: str | None = None
    domain: str = "login"
    login_url: str | None = None
    api_version: str = "62.0"
    client_id: str | None = None
    client_secret: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    private_key_file: Annotated[str | None, SettingRole.PROGRAM_FILE] = None
    access_token: SecretStr | None = None
    jwt_audience: str | None = None
    ca_file: Annotated[str | None, SettingRole.PROGRAM_FILE] = Field(
        default=None, description="CA bundle to trust (the local sandbox's CA); TLS stays on"
    )
    timeout_seconds: float = Field(default=120.0, gt=0)
    bulk_threshold: int = Field(default=10_000, ge=1)
    bulk_read_threshold: int = Field(
        default=10_000,
        ge=1,
        description="reads of this many records or more go through a Bulk API 2.0 query job",
    )
    bulk_read_page_records: int = Field(default=10_000, ge=1, le=1_000_000)
    bulk_poll_seconds: float = Field(default=2.0, ge=0)
    bulk_timeout_seconds: float = Field(default=3600.0, gt=0)
    quota_share: float = Field(default=0.8, gt=0, le=1)
    lookback_seconds: int = Field(default=0, ge=0)
    read_batch_size: int = Field(default=2000, ge=200, le=2000)
    write_batch_size: int = Field(default=200, ge=1, le=200)
    max_attempts: int = Field(default=5, ge=1)
    backoff_initial_seconds: float = Field(default=1.0, ge=0)
    backoff_max_seconds: float = Field(default=60.0, ge=0)
    lock_retries: int = Field(default=3, ge=0)
    activity_default_kinds: dict[str, str] = Field(
        default_factory=lambda: {
            "Meeting": "Visit",
            "Call": "Call",
            "Email": "Email",
            "ListEmail": "Email",
            "Event": "Visit",
            "Task": "Call",
        },
        description="Type, TaskSubtype/EventSubtype or object (Task, Event) -> Outreach_Kind__c "
        "value read for an activity logged in Salesforce without Outreach_Kind__c",
    )

    @field_validator("instance_url", "login_url")
    @classmethod
    def _tls_or_declared(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        return require_tls(value, str(info.field_name), bool(info.data.get("insecure_http")))

    @model_validator(mode="after")
    def _check_auth(self) -> SalesforceSettings:
        needs = {
            "jwt": ("client_id", "username", "private_key_file"),
            "client_credentials": ("client_id", "client_secret"),
            "password": ("username", "password"),
            "token": ("access_token", "instance_url"),
        }[self.auth]
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise ValueError(f"auth {self.auth!r} needs {', '.join(missing)}")
        if self.auth == "password" and self.client_secret is None:
            if self.security_token is None:
                raise ValueError("auth 'password' without client_secret needs security_token")
            if float(self.api_version) >= _SOAP_RETIRED_FROM:
                raise ValueError(
                    "SOAP username/password login is retired from API v65.0: use auth 'jwt' or "
                    "'client_credentials', add client_id/client_secret (OAuth password flow), "
                    "or set api_version below 65.0"
                )
        return self

    @property
    def resolved_login_url(self) -> str:
        """Where tokens are requested: ``login_url`` or ``https://{domain}.salesforce.com``."""
        if self.login_url:
            return self.login_url.rstrip("/")
        return f"https://{self.domain}.salesforce.com"

    @property
    def resolved_audience(self) -> str:
        """The JWT ``aud`` claim: ``jwt_audience`` or the login URL (as simple-salesforce does)."""
        return self.jwt_audience or self.resolved_login_url
