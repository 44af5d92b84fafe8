"""Connection settings of a scheduling-export connection (``type: scheduling``)."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from connectors.capabilities import SettingRole
from mapping.model import Stage

__all__ = ["DEFAULT_PATIENT_KEY_ENV", "EventTimeColumn", "PresetName", "SchedulingSettings"]

DEFAULT_PATIENT_KEY_ENV = "REFSYNC_PATIENT_KEY"

PresetName = Literal["epic_cadence", "athenahealth", "nextgen", "generic", "custom"]
EventTimeColumn = Literal[
    "made_at", "status_changed_at", "checkin_at", "checkout_at", "cancelled_at", "appointment_at"
]


class SchedulingSettings(BaseModel):
    """Settings of one scheduling connection (the ``settings:`` block in refsync.yaml).

    ``path`` is a file or a directory of exports; a relative path is resolved by the caller
    (the program-directory loader) before the connector sees it.
    """

    model_config = ConfigDict(extra="forbid")

    path: Annotated[Path, SettingRole.PROGRAM_PATH]
    format: Literal["csv", "fhir"] = "csv"
    preset: PresetName = "generic"
    columns: dict[str, list[str]] = Field(
        default_factory=dict,
        description="native field -> header names (case/space-insensitive); "
        "required for preset custom, overrides the preset's aliases otherwise",
    )
    status_map: dict[str, Stage | None] = Field(
        default_factory=dict,
        description="raw status -> canonical stage (null: not a stage event, skip the row)",
    )
    no_show_reasons: list[str] = Field(
        default_factory=list,
        description="cancel-reason substrings that turn a cancellation into a no-show",
    )
    timezone: Annotated[str | None, SettingRole.TIMEZONE] = Field(
        default=None, description="site IANA zone for local times"
    )
    encoding: str | None = Field(default=None, description="override encoding detection")
    delimiter: str | None = Field(default=None, description="override delimiter detection")
    file_pattern: str | None = Field(
        default=None, description="glob for files in a directory (default by format)"
    )
    patient_key_env: str = DEFAULT_PATIENT_KEY_ENV
    patient_key_namespace: str = Field(default="", description="facility prefix for MRN hashing")
    match_window_days: int = Field(default=30, ge=0)
    service_line_by_department: dict[str, str] = Field(default_factory=dict)
    default_service_line: str | None = None
    output_dir: Annotated[Path | None, SettingRole.OUTPUT_DIR] = None
    phi_passthrough: bool = False
    snapshot: bool = Field(
        default=False,
        description="the export is a snapshot (status as of when the file was written): rows "
        "without a time of their own take the file's modification time",
    )
    event_time_columns: dict[Stage, list[EventTimeColumn]] = Field(
        default_factory=dict,
        description="per stage, the columns that say when the status became true, first "
        "found wins (default: the preset's event clock)",
    )
    page_size: int = Field(default=1000, ge=1, le=100_000)
    max_cell_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024,
        description="largest CSV cell read; a row with a larger one is rejected "
        "(CELL_TOO_LARGE, with its file and line) and the rows after it are still read",
    )

    @model_validator(mode="before")
    @classmethod
    def _program_timezone(cls, data: object, info: ValidationInfo) -> object:
        # The program's top-level timezone applies when the connection does not set one
        # (the loader passes it as validation context: {"timezone": "America/Chicago"}).
        zone = (info.context or {}).get("timezone") if info.context else None
        if isinstance(data, dict) and data.get("timezone") is None and zone:
            return {**data, "timezone": zone}
        return data

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as America/Chicago"
            ) from None
        return value

    @field_validator("columns", mode="before")
    @classmethod
    def _aliases_as_lists(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        # An unknown name would fail on every file at read time; say so at validation.
        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(
                    f"unknown encoding {value!r}; use utf-8, cp1252, latin-1 or utf-16"
                ) from None
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, value: str | None) -> str | None:
        if value is not None and len(value) != 1:
            raise ValueError("delimiter must be one character (use \\t for tab)")
        return value

    @model_validator(mode="after")
    def _mapped_stages_have_a_clock(self) -> SchedulingSettings:
        # A row's event time comes from its stage's clock columns: a status mapped to a stage
        # without one would fail every read of a file holding it; say so at validation.
        from connectors.scheduling.eventclock import EVENT_TIME_COLUMNS  # imports this module

        if self.format != "csv":
            return self
        clocked = {*EVENT_TIME_COLUMNS, *(s for s, c in self.event_time_columns.items() if c)}
        missing = {
            status: stage
            for status, stage in self.status_map.items()
            if stage is not None and stage not in clocked
        }
        if missing:
            listed = ", ".join(f"{status!r} -> {stage.value}" for status, stage in missing.items())
            stages = sorted({stage.value for stage in missing.values()})
            raise ValueError(
                f"status_map sends {listed} to a stage with no event clock: map the status "
                f"to scheduled, completed, cancelled or no_show (or null to skip its rows), or "
                f"name the columns that say when it became true in event_time_columns "
                f"(e.g. event_time_columns: {{{stages[0]}: [status_changed_at]}})"
            )
        return self

    @model_validator(mode="after")
    def _custom_needs_maps(self) -> SchedulingSettings:
        if self.format == "csv" and self.preset == "custom":
            missing = [n for n in ("columns", "status_map") if not getattr(self, n)]
            if missing:
                raise ValueError(
                    f"preset custom needs {' and '.join(missing)}: list the export's header "
                    "names per native field and its status values per canonical stage"
                )
            if "status" not in self.columns:
                raise ValueError("preset custom: columns must name the status column ('status')")
        return self
