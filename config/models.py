"""Pydantic models of ``refsync.yaml`` (shape only; see ``docs/contracts.md``).

Cross-checks that need more than one file (jobs naming connections, mappings, cron
expressions, secrets) live in :mod:`config.loader`.
"""

from __future__ import annotations

from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from mapping.model import EntityName
from mapping.privacy import PrivacyTier

__all__ = [
    "ConnectionConfig",
    "JobConfig",
    "MeasuresConfig",
    "ProgramConfig",
    "ReferrersConfig",
    "StateConfig",
]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StateConfig(_Config):
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the state store; null -> REFSYNC_STATE_URL or DIR/state.db",
    )


class ConnectionConfig(_Config):
    type: str = Field(min_length=1, description="Connector type: salesforce, hubspot, scheduling")
    mapping: str | None = Field(
        default=None, description="Mapping file relative to DIR; default mappings/<name>.yaml"
    )
    privacy: PrivacyTier | None = Field(
        default=None,
        description=(
            "What this system may hold: deidentified (default; no PHI), limited (a HIPAA "
            "limited data set: dates and ZIP, no direct identifiers; name data_use_agreement) "
            "or full (PHI under a business associate agreement; name baa)"
        ),
    )
    data_use_agreement: str | None = Field(
        default=None,
        min_length=1,
        description="The data use agreement that covers privacy: limited",
    )
    baa: str | None = Field(
        default=None,
        min_length=1,
        description="The business associate agreement behind privacy: full",
    )
    phi_allowed: bool | None = Field(
        default=None,
        description="Deprecated: use privacy (phi_allowed: true reads as privacy: full)",
        json_schema_extra={"deprecated": True},
    )
    settings: dict[str, Any] = Field(
        default_factory=dict, description="Validated by the connector's settings model"
    )
    # What the type declares (Connector.phi_zone), set by the loader, never read from YAML.
    _phi_zone: bool = PrivateAttr(default=False)

    def in_phi_zone(self, phi_zone: bool) -> ConnectionConfig:
        """This connection, its type declared inside the covered entity's PHI zone or not
        (the loader applies what the caller's registry says of the type)."""
        placed = self.model_copy()
        placed._phi_zone = phi_zone
        return placed

    @property
    def phi_zone(self) -> bool:
        """The type is declared inside the covered entity's PHI zone (its default is full)."""
        return self._phi_zone

    @property
    def covered_entity(self) -> bool:
        """The tier is the PHI-zone default: no ``privacy``/``phi_allowed``, and the type is
        the covered entity's own system (its exports are PHI to begin with)."""
        return self._phi_zone and self.privacy is None and self.phi_allowed is None

    @property
    def tier(self) -> PrivacyTier:
        """The privacy tier in force: ``privacy``, else the deprecated ``phi_allowed``, else
        the type's default (deidentified, but full inside the PHI zone)."""
        if self.privacy is not None:
            return self.privacy
        if self.phi_allowed is not None:
            return PrivacyTier.FULL if self.phi_allowed else PrivacyTier.DEIDENTIFIED
        return PrivacyTier.FULL if self._phi_zone else PrivacyTier.DEIDENTIFIED


class JobConfig(_Config):
    sources: list[str] = Field(min_length=1)
    destinations: list[str] = Field(default_factory=list)
    entities: list[EntityName] = Field(min_length=1)
    mode: Literal["upsert", "mirror"] = "upsert"
    schedule: str | None = Field(default=None, description="cron expression, in `timezone`")
    max_rejected: int = Field(default=100, ge=0)


class MeasuresConfig(_Config):
    """How the program's measures are computed (report, pipeline and partner rollups)."""

    attribution_days: int = Field(
        default=30,
        ge=0,
        le=3650,
        description="a referral is credited to outreach to its partner or clinician in this "
        "many days before it was referred (last touch and any touch)",
    )
    rollup_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="window of the measures written onto partners (accounts, companies)",
    )
    trend_days: int = Field(default=90, ge=1, le=3650)
    trend_threshold: float = Field(default=0.2, ge=0, le=10)
    active_days: int = Field(default=90, ge=1, le=3650)


class ReferrersConfig(_Config):
    """What refsync does about referring NPIs no connected system knows."""

    create_prospects: bool = Field(
        default=False,
        description="create a prospect clinician (name and NPI from the export) for a referring "
        "NPI no connected system knows; it goes to every destination that receives clinicians "
        "(whose mapping must map `prospect`) and becomes the real clinician when a system "
        "supplies that NPI. Referrals wait for the real clinician before they are linked",
    )
    prospect_min_referrals: int = Field(
        default=1,
        ge=1,
        le=1000,
        description="referrals naming the NPI before a prospect is created (guards against a "
        "mistyped NPI)",
    )


class ProgramConfig(_Config):
    """The whole of ``refsync.yaml``."""

    version: Literal[1] = 1
    program: str = Field(min_length=1)
    timezone: str = "UTC"
    state: StateConfig = Field(default_factory=StateConfig)
    connections: dict[str, ConnectionConfig] = Field(default_factory=dict)
    definitions: str = "definitions"
    jobs: dict[str, JobConfig] = Field(default_factory=dict)
    measures: MeasuresConfig = Field(default_factory=MeasuresConfig)
    referrers: ReferrersConfig = Field(default_factory=ReferrersConfig)
    allow_paths_outside: bool = Field(
        default=False,
        description="Admin setting: let mapping, definitions and path settings point outside "
        "the program directory (absolute paths elsewhere, ../)",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as America/Chicago"
            ) from None
        return value
