"""Pydantic models of ``refsync.yaml`` (shape only; see ``docs/contracts.md``).

Cross-checks that need more than one file (jobs naming connections, mappings, cron
expressions, secrets) live in :mod:`config.loader`.
"""

from __future__ import annotations

from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mapping.model import EntityName

__all__ = ["ConnectionConfig", "JobConfig", "ProgramConfig", "StateConfig"]


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
    phi_allowed: bool = Field(default=False, description="May this destination hold PHI?")
    settings: dict[str, Any] = Field(
        default_factory=dict, description="Validated by the connector's settings model"
    )


class JobConfig(_Config):
    sources: list[str] = Field(min_length=1)
    destinations: list[str] = Field(default_factory=list)
    entities: list[EntityName] = Field(min_length=1)
    mode: Literal["upsert", "mirror"] = "upsert"
    schedule: str | None = Field(default=None, description="cron expression, in `timezone`")
    max_rejected: int = Field(default=100, ge=0)


class ProgramConfig(_Config):
    """The whole of ``refsync.yaml``."""

    version: Literal[1] = 1
    program: str = Field(min_length=1)
    timezone: str = "UTC"
    state: StateConfig = Field(default_factory=StateConfig)
    connections: dict[str, ConnectionConfig] = Field(default_factory=dict)
    definitions: str = "definitions"
    jobs: dict[str, JobConfig] = Field(default_factory=dict)
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
