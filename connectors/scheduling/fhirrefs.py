"""Small readers over fhir.resources R4B datatypes (references, codings, identifiers)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mapping.npi import is_valid_npi

__all__ = ["NPI_SYSTEM", "codes", "local_ref", "npi_of", "text_of", "typed_refs"]

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"


def local_ref(reference: str) -> str:
    """``https://x/fhir/Patient/7`` -> ``Patient/7``; relative references unchanged."""
    parts = reference.rstrip("/").split("/")
    if len(parts) >= 2 and "_history" not in parts:
        return "/".join(parts[-2:])
    if "_history" in parts:
        i = parts.index("_history")
        return "/".join(parts[i - 2 : i])
    return reference


def typed_refs(references: Iterable[Any] | None, rtype: str) -> list[str]:
    """Local references of type ``rtype`` among ``references`` (None entries ignored)."""
    found = []
    for ref in references or []:
        if ref is None or not ref.reference:
            continue
        local = local_ref(ref.reference)
        if local.startswith(f"{rtype}/") or (ref.type == rtype and "/" not in local):
            found.append(local)
    return found


def codes(concepts: Iterable[Any]) -> set[str]:
    """All coding codes of some CodeableConcepts."""
    return {c.code for cc in concepts if cc is not None for c in cc.coding or [] if c.code}


def text_of(concept: Any) -> str | None:
    """A CodeableConcept's text, else its first coding's display, else its first code."""
    if concept is None:
        return None
    if concept.text:
        return str(concept.text)[:255]
    for coding in concept.coding or []:
        if coding.display or coding.code:
            return str(coding.display or coding.code)[:255]
    return None


def npi_of(obj: Any) -> str | None:
    """The valid NPI among an object's identifier(s) (a Reference or a resource)."""
    raw = getattr(obj, "identifier", None) if obj is not None else None
    idents = raw if isinstance(raw, list) else [raw]
    for ident in idents:
        if ident is not None and ident.system == NPI_SYSTEM and ident.value:
            value = str(ident.value).strip()
            if is_valid_npi(value):
                return value
    return None
