"""Register the PHI of what the engine reads and writes with the log redaction (sync.logs).

Called for every inbound record before it is translated or merged, and for every record on
its way to a destination, so no log line of this process, nor an exception text a vendor
library logs, can carry a patient's name, MRN or birth date. (A record read again unchanged,
by its keyed digest, is only hashed and resolved by its link, never translated: its values
go nowhere and it is not registered; see :mod:`sync.engine.digests`.)

PHI is known two ways: canonical paths the model classifies as PHI
(``mapping.model.is_phi_path``, e.g. ``patient.name``), and native fields that carry PHI
whether or not a mapping reads them (what the source connector declares in
``phi_native_fields``: a scheduling connection's ``mrn``, ``patient_name``, ``birth_date``
with ``phi_passthrough: true``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from mapping.model import entity_model, is_phi_path, phi_paths
from mapping.spec import EntityMapping
from mapping.translate import native_value
from sync.logs import register_phi

__all__ = ["note_inbound", "note_natives", "note_record"]


def note_natives(
    entity: str,
    em: EntityMapping,
    records: Iterable[Mapping[str, Any]],
    phi_fields: Iterable[str] = (),
) -> None:
    """Register the PHI fields of native records (one page) read through ``em``, and the
    native ``phi_fields`` its connector declares."""
    mapped = [fm.native for fm in em.fields if fm.reads and _is_phi(entity, fm.canonical)]
    names = [*phi_fields, *mapped]
    for native in records:
        for name in names:
            _register(native_value(native, name), name)


def note_inbound(entity: str, values: Mapping[str, Any]) -> None:
    """Register the PHI among translated values (canonical dotted path -> value)."""
    for path, value in values.items():
        if _is_phi(entity, path):
            _register(value, path)


def note_record(entity: str, data: Mapping[str, Any]) -> None:
    """Register the PHI of a stored canonical record (nested, as the state store keeps it)."""
    for root in _phi_roots(entity):
        if root in data:
            _register(data[root], root)


def _register(value: Any, path: str) -> None:
    if isinstance(value, Mapping):  # a whole PHI block: each of its fields
        for key, inner in value.items():
            _register(inner, f"{path}.{key}")
    elif value not in (None, ""):
        register_phi(value, is_name=path.endswith("name"))


@functools.cache
def _is_phi(entity: str, path: str) -> bool:
    try:
        return is_phi_path(entity, path)
    except (KeyError, ValueError):  # an entity the model does not know holds no PHI field
        return False


@functools.cache
def _phi_roots(entity: str) -> tuple[str, ...]:
    """Top-level fields of ``entity`` that are PHI or hold PHI (``patient``)."""
    try:
        names = entity_model(entity).model_fields
    except KeyError:
        return ()
    return tuple(n for n in names if _is_phi(entity, n) or _holds_phi(entity, n))


def _holds_phi(entity: str, name: str) -> bool:
    return any(p.startswith(f"{name}.") for p in phi_paths(entity_model(entity)))
