"""Property values as HubSpot checks and stores them.

Every value is stored as a string: datetimes as ISO instants, dates as ``YYYY-MM-DD``,
numbers and enumerations as sent. An empty string (or null) clears the value. Problems
are reported in HubSpot's per-property shape (``isValid``/``message``/``error``/``name``),
which :func:`~connectors.sandbox.hubspot._errors.invalid_property_values` embeds in a 400.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from connectors.sandbox.hubspot._clock import iso_ms, parse_date_ms, parse_instant_ms
from connectors.sandbox.hubspot._data import EXTERNAL_OPTIONS
from connectors.sandbox.hubspot._schema import SchemaRegistry

__all__ = ["CLEAR", "StageLookup", "check_values", "comparable"]

CLEAR = None  # stored marker: a property set to "" or null is removed

# pipeline id -> its stage ids (None if the pipeline does not exist)
StageLookup = Callable[[str], "set[str] | None"]


def _problem(name: str, code: str, message: str) -> dict[str, Any]:
    return {
        "isValid": False,
        "message": message,
        "error": code,
        "name": name,
        "localizedErrorMessage": message,
    }


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _check_enumeration(name: str, definition: dict[str, Any], text: str) -> dict[str, Any] | None:
    if name in EXTERNAL_OPTIONS:
        return None
    allowed = [o["value"] for o in definition["options"]]
    parts = text.split(";") if definition["fieldType"] == "checkbox" else [text]
    for part in parts:
        if part not in allowed:
            return _problem(
                name,
                "INVALID_OPTION",
                f"{part} was not one of the allowed options: [{', '.join(allowed)}]",
            )
    return None


def _normalise(
    name: str, definition: dict[str, Any], text: str
) -> tuple[str | None, dict[str, Any] | None]:
    """(stored value, problem) for one non-empty value."""
    kind = definition["type"]
    if kind == "number":
        try:
            float(text)
        except ValueError:
            return None, _problem(name, "INVALID_LONG", f"{text} was not a valid number.")
        return text.strip(), None
    if kind == "datetime":
        ms = parse_instant_ms(text)
        if ms is None:
            return None, _problem(name, "INVALID_LONG", f"{text} was not a valid long.")
        return iso_ms(ms), None
    if kind == "date":
        ms = parse_date_ms(text)
        if ms is None:
            return None, _problem(name, "INVALID_DATE", f"{text} was not a valid date.")
        if ms % 86_400_000:
            at = datetime.fromtimestamp(ms / 1000, tz=UTC)
            when = f"{at.hour}:{at.minute}:{at.second}.{ms % 1000}"
            return None, _problem(name, "INVALID_DATE", f"{text} is at {when} UTC, not midnight!")
        return iso_ms(ms)[:10], None
    if kind == "bool":
        if text.lower() not in ("true", "false"):
            return None, _problem(name, "INVALID_BOOLEAN", f"{text} was not a valid boolean.")
        return text.lower(), None
    if kind == "enumeration":
        return text, _check_enumeration(name, definition, text)
    return text, None


def check_values(
    schema: SchemaRegistry,
    object_type: str,
    values: dict[str, Any],
    stages: StageLookup,
    current_pipeline: str | None = None,
) -> tuple[dict[str, str | None], list[dict[str, Any]]]:
    """Validate and normalise ``values``; returns (changes, problems).

    ``changes`` maps a property to its stored string, or to :data:`CLEAR` to remove it.
    """
    definitions = schema.properties(object_type)
    changes: dict[str, str | None] = {}
    problems: list[dict[str, Any]] = []
    for name, raw in values.items():
        definition = definitions.get(name)
        if definition is None:
            problems.append(
                _problem(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
            )
            continue
        if definition["modificationMetadata"]["readOnlyValue"]:
            problems.append(
                _problem(
                    name,
                    "READ_ONLY_VALUE",
                    f"{name} is a read only property; its value cannot be set.",
                )
            )
            continue
        text = _as_text(raw)
        if text == "":
            changes[name] = CLEAR
            continue
        stored, problem = _normalise(name, definition, text)
        if problem:
            problems.append(problem)
        else:
            changes[name] = stored
    if object_type == "deals":
        problems.extend(_check_pipeline(changes, stages, current_pipeline))
    return changes, problems


def _check_pipeline(
    changes: dict[str, str | None], stages: StageLookup, current_pipeline: str | None
) -> list[dict[str, Any]]:
    pipeline = changes.get("pipeline") or current_pipeline or "default"
    known = stages(pipeline)
    if known is None:
        return [_problem("pipeline", "INVALID_OPTION", f"{pipeline} is not a valid pipeline.")]
    stage = changes.get("dealstage")
    if stage and stage not in known:
        allowed = ", ".join(sorted(known))
        return [
            _problem(
                "dealstage",
                "INVALID_OPTION",
                f"{stage} was not one of the allowed options: [{allowed}]",
            )
        ]
    return []


def comparable(definition: dict[str, Any] | None, text: str) -> Any:
    """A value made comparable for search filters and sorts (numbers, instants, text)."""
    kind = definition["type"] if definition else "string"
    if kind in ("number",):
        try:
            return float(text)
        except ValueError:
            return None
    if kind == "datetime":
        return parse_instant_ms(text)
    if kind == "date":
        return parse_date_ms(text)
    return text.lower()
