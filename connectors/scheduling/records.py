"""Fast constructors of the two records every CSV row makes: :class:`NativeRecord` and
:class:`EventMeta`, equal (same class, same fields) to what their own constructors build.

Why: both are frozen dataclasses, whose generated ``__init__`` sets each field through
``object.__setattr__`` (a frozen class refuses its own ``__setattr__``); two of them per row
cost about as much as the csv parse of the row. Here each field is stored through its slot's
descriptor, the way ``object.__setattr__`` ends up storing it, without the generic attribute
lookup per field. Only valid while the classes have no ``__post_init__`` and these fields in
this order: checked at import, so a change there fails loudly instead of building records
that differ.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connectors.base import EventMeta, NativeRecord

__all__ = ["event_meta", "native_record"]

_META_FIELDS = ("at", "appointment_id", "parent_appointment_id", "status", "source")
_RECORD_FIELDS = ("id", "fields", "deleted", "modified_at", "event")


def _slot_setters(cls: type, names: tuple[str, ...]) -> tuple[Any, ...]:
    """The slot descriptors' ``__set__`` of ``cls``'s fields, after checking the shape."""
    fields = tuple(f.name for f in dataclasses.fields(cls))
    if fields != names or hasattr(cls, "__post_init__") or not hasattr(cls, "__slots__"):
        raise TypeError(f"{cls.__name__} changed shape; update connectors/scheduling/records.py")
    return tuple(cls.__dict__[name].__set__ for name in names)


_new = object.__new__
_m_at, _m_id, _m_parent, _m_status, _m_source = _slot_setters(EventMeta, _META_FIELDS)
_r_id, _r_fields, _r_deleted, _r_at, _r_event = _slot_setters(NativeRecord, _RECORD_FIELDS)


def event_meta(
    at: datetime,
    appointment_id: str | None,
    parent_appointment_id: str | None,
    status: str | None,
    source: str | None,
) -> EventMeta:
    """``EventMeta(at, appointment_id, parent_appointment_id, status, source)``."""
    meta: EventMeta = _new(EventMeta)
    _m_at(meta, at)
    _m_id(meta, appointment_id)
    _m_parent(meta, parent_appointment_id)
    _m_status(meta, status)
    _m_source(meta, source)
    return meta


def native_record(
    record_id: str,
    fields: Mapping[str, Any],
    deleted: bool,
    modified_at: datetime | None,
    event: EventMeta | None,
) -> NativeRecord:
    """``NativeRecord(record_id, fields, deleted, modified_at, event)``."""
    record: NativeRecord = _new(NativeRecord)
    _r_id(record, record_id)
    _r_fields(record, fields)
    _r_deleted(record, deleted)
    _r_at(record, modified_at)
    _r_event(record, event)
    return record
