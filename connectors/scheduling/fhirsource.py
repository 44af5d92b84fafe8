"""FHIR R4 files -> validated resources (``fhir.resources.R4B`` models).

A file is a Bundle (``*.json`` with ``resourceType: Bundle``; every entry is validated on
its own, so one bad entry does not sink the rest), a single resource (``*.json``) or NDJSON
(``*.ndjson``: one resource per line, streamed). Only the resource types the connector uses
are validated; others (Patient, Slot, ...) are passed over without being parsed further.
Problems are reported by position (NDJSON line or ``entry[i]``) and by pydantic's error
location and type - never with the input value, which may be PHI.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

__all__ = [
    "SUPPORTED_TYPES",
    "FhirItem",
    "iter_resources",
    "pick_referral_number",
    "referral_numbers",
]

SUPPORTED_TYPES = frozenset(
    {
        "Appointment",
        "ServiceRequest",
        "Task",
        "Encounter",
        "Practitioner",
        "PractitionerRole",
        "Organization",
    }
)
_PLACER = "PLAC"


@dataclass(frozen=True, slots=True)
class FhirItem:
    """One resource position in a file: a validated model, or the reason it is unusable."""

    line: int | None
    pointer: str | None
    resource_type: str | None
    resource: Any = None
    problem: str | None = None


def _raw_items(path: Path) -> Iterator[tuple[int | None, str | None, Any]]:
    if path.suffix.lower() == ".ndjson":
        with path.open("r", encoding="utf-8-sig", errors="replace") as fh:
            for number, line in enumerate(fh, start=1):
                if line.strip():
                    yield number, None, line
        return
    yield None, None, path.read_bytes()


def _loads(raw: str | bytes) -> Any:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8-sig", errors="replace")
    return json.loads(raw)


def iter_resources(path: Path) -> Iterator[FhirItem]:
    """Every resource in ``path`` (Bundle entries flattened), validated when supported."""
    for line, _, raw in _raw_items(path):
        try:
            data = _loads(raw)
        except json.JSONDecodeError as exc:
            yield FhirItem(line, None, None, problem=f"not valid JSON (at char {exc.pos})")
            continue
        if isinstance(data, dict) and data.get("resourceType") == "Bundle":
            for i, entry in enumerate(data.get("entry") or []):
                resource = entry.get("resource") if isinstance(entry, dict) else None
                yield _validate(resource, line, f"entry[{i}]")
        else:
            yield _validate(data, line, None)


def _validate(data: Any, line: int | None, pointer: str | None) -> FhirItem:
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        return FhirItem(line, pointer, None, problem="not a FHIR resource (no resourceType)")
    rtype = data["resourceType"]
    if rtype not in SUPPORTED_TYPES:
        return FhirItem(line, pointer, rtype)
    # Imported here: the FHIR models cost ~13 MB, which a CSV connection never needs.
    from fhir.resources.R4B import get_fhir_model_class

    try:
        model = get_fhir_model_class(rtype).model_validate(data)
    except ValidationError as exc:
        return FhirItem(line, pointer, rtype, problem=_describe(rtype, exc))
    return FhirItem(line, pointer, rtype, resource=model)


def _describe(rtype: str, exc: ValidationError) -> str:
    errors = exc.errors(include_input=False, include_url=False)
    parts = [".".join(str(p) for p in e["loc"]) + f" ({e['type']})" for e in errors[:3]]
    more = f" and {len(errors) - 3} more" if len(errors) > 3 else ""
    return f"not a valid R4 {rtype}: {'; '.join(parts)}{more}"


def referral_numbers(path: Path) -> dict[str, str]:
    """``ServiceRequest/<id>`` (and Bundle fullUrls) -> referral number, for one file.

    A cheap first pass (raw JSON, no validation) so appointments and tasks can carry the
    referral number of a ServiceRequest that appears anywhere in the same file.
    """
    found: dict[str, str] = {}
    for _, _, raw in _raw_items(path):
        if isinstance(raw, str) and '"ServiceRequest"' not in raw:
            continue
        try:
            data = _loads(raw)
        except json.JSONDecodeError:
            continue
        entries = data.get("entry") or [] if isinstance(data, dict) else []
        pairs = [(e.get("fullUrl"), e.get("resource")) for e in entries if isinstance(e, dict)]
        for full_url, resource in [*pairs, (None, data)]:
            number = _number_of(resource)
            if number is None:
                continue
            found[f"ServiceRequest/{resource.get('id')}"] = number
            if full_url:
                found[full_url] = number
    return found


def _number_of(resource: Any) -> str | None:
    if not isinstance(resource, dict) or resource.get("resourceType") != "ServiceRequest":
        return None
    return pick_referral_number(resource.get("identifier") or [])


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _type_codes(ident: Any) -> set[str]:
    kind = _get(ident, "type")
    return {_get(c, "code") for c in (_get(kind, "coding") or [])} if kind else set()


def pick_referral_number(identifiers: list[Any]) -> str | None:
    """The placer (PLAC) identifier, else one whose system says referral, else the first.

    Works on raw JSON dicts and on fhir.resources Identifier models alike.
    """
    with_value = [i for i in identifiers if _get(i, "value")]
    placer = [i for i in with_value if _PLACER in _type_codes(i)]
    referral = [i for i in with_value if "referral" in (_get(i, "system") or "").casefold()]
    for ident in (*placer, *referral, *with_value[:1]):
        return str(_get(ident, "value"))
    return None
