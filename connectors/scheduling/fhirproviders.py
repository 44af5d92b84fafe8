"""Referral sources from FHIR: Practitioner, PractitionerRole and Organization records.

Provider and organisation data is public (NPPES), not PHI. Objects and their native fields:

- ``practitioner``: fhir_ref, npi, first_name, last_name, prefix, active
- ``practitioner_role``: fhir_ref, practitioner_ref, organization_ref, npi, specialty_code,
  specialty, active
- ``organization``: fhir_ref, npi, name, phone, line1, city, state, postal_code, active
"""

from __future__ import annotations

from typing import Any

from connectors.scheduling.fhirrefs import local_ref, npi_of, text_of

__all__ = ["organization_record", "practitioner_record", "practitioner_role_record"]

Record = tuple[str, str, dict[str, Any]]


def _ref(resource: Any, rtype: str) -> str:
    return f"{rtype}/{resource.id}" if resource.id else ""


def _common(resource: Any, rtype: str, source_file: str) -> dict[str, Any]:
    return {
        "fhir_ref": _ref(resource, rtype) or None,
        "npi": npi_of(resource),
        "active": resource.active if resource.active is not None else True,
        "source_file": source_file,
    }


def practitioner_record(resource: Any, source_file: str) -> Record | None:
    if not resource.id:
        return None
    name = next(iter(resource.name or []), None)
    fields = _common(resource, "Practitioner", source_file)
    fields.update(
        first_name=" ".join(name.given or []) or None if name else None,
        last_name=(name.family or name.text) if name else None,
        prefix=" ".join(name.prefix or []) or None if name else None,
    )
    return "practitioner", _ref(resource, "Practitioner"), fields


def practitioner_role_record(resource: Any, source_file: str) -> Record | None:
    if not resource.id:
        return None
    specialty = next(iter(resource.specialty or []), None)
    coding = next(iter(specialty.coding or []), None) if specialty else None
    fields = _common(resource, "PractitionerRole", source_file)
    fields.update(
        practitioner_ref=_local(resource.practitioner),
        organization_ref=_local(resource.organization),
        specialty_code=coding.code if coding else None,
        specialty=text_of(specialty),
    )
    return "practitioner_role", _ref(resource, "PractitionerRole"), fields


def organization_record(resource: Any, source_file: str) -> Record | None:
    if not resource.id:
        return None
    address = next(iter(resource.address or []), None)
    phone = next((t.value for t in resource.telecom or [] if t.system == "phone"), None)
    fields = _common(resource, "Organization", source_file)
    fields.update(
        name=resource.name,
        phone=phone,
        line1=next(iter(address.line or []), None) if address else None,
        city=address.city if address else None,
        state=address.state if address else None,
        postal_code=address.postalCode if address else None,
    )
    return "organization", _ref(resource, "Organization"), fields


def _local(reference: Any) -> str | None:
    return local_ref(reference.reference) if reference and reference.reference else None
