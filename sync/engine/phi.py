"""Register the PHI of each record the engine reads with the log redaction (sync.logs).

Called for every inbound record before anything else touches it, so from then on no log
line of this process, nor an exception text a vendor library logs, can carry a patient's
name, MRN or birth date. PHI is known two ways: canonical paths the model classifies as PHI
(``mapping.model.is_phi_path``, e.g. ``patient.name``), and native fields that carry PHI
whether or not a mapping reads them (a scheduling connection's ``mrn``, ``patient_name``,
``birth_date`` with ``phi_passthrough: true``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from connectors.scheduling.native import PHI_FIELDS
from mapping.model import is_phi_path
from mapping.spec import EntityMapping
from mapping.translate import native_value
from sync.logs import register_phi

__all__ = ["note_phi"]


def note_phi(
    entity: str,
    em: EntityMapping,
    native: Mapping[str, Any],
    canonical: Mapping[str, Any] | None = None,
) -> None:
    """Register the PHI values of one native record and of its canonical translation."""
    for name in _phi_natives(entity, em):
        _register(native_value(native, name), name)
    for path, value in (canonical or {}).items():
        if _is_phi(entity, path):
            _register(value, path)


def _register(value: Any, path: str) -> None:
    if isinstance(value, Mapping):  # a whole PHI block: each of its fields
        for key, inner in value.items():
            _register(inner, f"{path}.{key}")
    elif value not in (None, ""):
        register_phi(value, is_name=path.endswith("name"))


def _phi_natives(entity: str, em: EntityMapping) -> list[str]:
    mapped = [fm.native for fm in em.fields if fm.reads and _is_phi(entity, fm.canonical)]
    return [*PHI_FIELDS, *mapped]


@functools.cache
def _is_phi(entity: str, path: str) -> bool:
    try:
        return is_phi_path(entity, path)
    except (KeyError, ValueError):  # an entity the model does not know holds no PHI field
        return False
