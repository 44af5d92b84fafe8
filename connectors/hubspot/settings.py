"""Connection settings of a HubSpot account, and the one place that builds the vendor client."""

from __future__ import annotations

from typing import Annotated, Literal

from hubspot import HubSpot
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

__all__ = ["DEFAULT_HOST", "HubSpotSettings", "build_hubspot_client"]

DEFAULT_HOST = "https://api.hubapi.com"
_DEFAULT_ROUTES = {
    "visit": "meetings",
    "seminar": "meetings",
    "training": "meetings",
    "lunch_and_learn": "meetings",
    "event": "meetings",
    "call": "calls",
    "email": "notes",
    "newsletter": "notes",
    "task": "tasks",
}


class HubSpotSettings(BaseModel):
    """``settings:`` of a ``type: hubspot`` connection in refsync.yaml.

    ``auth: private_app`` needs ``access_token``; ``auth: oauth`` needs ``client_id``,
    ``client_secret`` and ``refresh_token`` (``access_token`` optional: refreshed on first 401).
    Budgets default to HubSpot's Professional/Enterprise burst limit (190 calls per 10 s);
    set ``ten_second_budget: 100`` for Free/Starter accounts. An ``http://`` host is refused
    (the token would travel in clear text) unless ``insecure_http: true`` says it is meant,
    as for the local sandbox; every run and validation then warns.
    """

    model_config = ConfigDict(extra="forbid")

    auth: Literal["private_app", "oauth"] = "private_app"
    access_token: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None
    insecure_http: bool = Field(
        False, description="allow a plain http:// host (local sandboxes only; warned on every run)"
    )
    host: str = DEFAULT_HOST
    ten_second_budget: int = Field(
        190, ge=1, description="calls per rolling 10 s we allow ourselves"
    )
    search_per_second: int = Field(4, ge=1, description="CRM search calls per second (HubSpot: 5)")
    search_page_size: int = Field(200, ge=1, le=200)
    list_page_size: int = Field(100, ge=1, le=100)
    batch_size: int = Field(100, ge=1, le=100)
    retries: int = Field(
        8, ge=0, description="retries of one call on 429 / 5xx / dropped connection"
    )
    timeout_seconds: float = Field(60.0, gt=0)
    deal_pipeline: str = Field("Referrals", description="label of the deal pipeline refsync writes")
    engagement_routes: dict[str, str] = Field(
        default_factory=lambda: dict(_DEFAULT_ROUTES),
        description="outreach kind (refsync_outreach_kind) -> meetings | calls | notes | tasks",
    )
    default_kinds: dict[str, str] = Field(
        default_factory=lambda: {
            "meetings": "visit",
            "calls": "call",
            "notes": "email",
            "tasks": "call",
        },
        description="engagement type -> outreach kind read for an engagement logged in HubSpot "
        "without refsync_outreach_kind (a liaison's own meeting, call or note)",
    )
    search_cap: int = Field(10_000, ge=200, description="HubSpot's search result cap per query")
    phi_properties: Annotated[dict[str, list[str]], SettingRole.PHI_FIELDS] = Field(
        default_factory=dict,
        description="object type -> properties that receive PHI; filled by refsync from the "
        "mapping of a privacy: full connection (writes refuse any that is not a "
        "sensitive-data property); not for refsync.yaml",
    )
    sensitive_data: Annotated[
        Literal["sensitive", "highly_sensitive"] | None, SettingRole.PHI_STORAGE
    ] = Field(
        None,
        description="privacy: full only: the account has HubSpot's HIPAA sensitive-data setting "
        "on (Enterprise, under its BAA); refsync creates the PHI properties with this "
        "dataSensitivity and needs the app granted crm.objects.<object>.<level>.read/.write",
    )
    max_url_chars: int = Field(
        6000,
        ge=500,
        description="longest properties query refsync puts in a list URL; longer property "
        "lists are fetched by batch read (HubSpot answers 414 past about 8,000 characters)",
    )
    association_reconcile_hours: float = Field(
        24.0,
        ge=0,
        description="re-read every record's links this often (a changed link alone moves no "
        "modified date, so incremental reads cannot see it); 0 turns it off",
    )
    search_lookback_seconds: int = Field(
        120,
        ge=0,
        description="incremental reads re-ask search for this long before the bookmark, for "
        "records the search index shows late (already delivered ones are dropped)",
    )

    @field_validator("host")
    @classmethod
    def _tls_or_declared(cls, value: str, info: ValidationInfo) -> str:
        return require_tls(value, "host", bool(info.data.get("insecure_http")))

    @model_validator(mode="after")
    def _credentials_present(self) -> HubSpotSettings:
        if self.auth == "private_app" and self.access_token is None:
            raise ValueError("auth: private_app needs access_token (e.g. ${HUBSPOT_ACCESS_TOKEN})")
        if self.auth == "oauth":
            missing = [
                name
                for name in ("client_id", "client_secret", "refresh_token")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(f"auth: oauth needs {', '.join(missing)}")
        return self


def build_hubspot_client(settings: HubSpotSettings, access_token: str | None = None) -> HubSpot:
    """The one place a ``hubspot.HubSpot`` is built (host overridable for the sandbox).

    urllib3's own retries are switched off (``retry=False``): this connector retries in one
    place (tenacity, in :mod:`connectors.hubspot.transport`), including POST and PATCH, which
    urllib3's default policy would not retry.
    """
    token = access_token
    if token is None and settings.access_token is not None:
        token = settings.access_token.get_secret_value()
    host = settings.host.rstrip("/")
    return HubSpot(access_token=token or "", retry=False, host=host, base_url=host)
