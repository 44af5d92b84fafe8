"""The warehouse's tables: one per canonical entity, laid out for a privacy tier.

Columns are the entity's top-level canonical fields whose data class the tier allows
(:data:`mapping.privacy.TIER_ALLOWS`), named as the canonical fields are, typed from the
canonical model; plus the match key ``refsync_id`` (primary key) and two bookkeeping
columns, ``refsync_updated_at`` (what incremental reads page on) and
``refsync_archived_at`` (set when mirror mode archives a record, so BI keeps its history).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import typing
from collections.abc import Mapping

import sqlalchemy as sa
from pydantic import AwareDatetime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine

from mapping.model import entity_model
from mapping.privacy import TIER_ALLOWS, PrivacyTier, canonical_class
from mapping.schema import Dialect, FieldSchema, ObjectSchema

__all__ = [
    "ARCHIVED",
    "KEY",
    "TABLES",
    "UPDATED",
    "WAREHOUSE_DIALECT",
    "build_tables",
    "object_schema",
]

KEY = "refsync_id"
UPDATED = "refsync_updated_at"
ARCHIVED = "refsync_archived_at"

TABLES: Mapping[str, str] = {
    "partners": "partner",
    "clinicians": "clinician",
    "referrals": "referral",
    "outreach": "outreach",
    "definitions": "definition",
}
"""Table name (the mapping's ``object:``) -> canonical entity."""

WAREHOUSE_DIALECT = Dialect(
    name="warehouse",
    kinds={
        "bigint": "number",
        "numeric": "number",
        "timestamptz": "datetime",
        "jsonb": "list",
    },
)
"""PostgreSQL's type names as :func:`object_schema` reports them; no relations, no envelope."""

_TYPES: tuple[tuple[type, TypeEngine[typing.Any], str], ...] = (
    (bool, sa.Boolean(), "boolean"),
    (enum.Enum, sa.Text(), "text"),
    (str, sa.Text(), "text"),
    (int, sa.BigInteger(), "bigint"),
    (float, sa.Numeric(), "numeric"),
    (decimal.Decimal, sa.Numeric(), "numeric"),
    (dt.datetime, sa.DateTime(timezone=True), "timestamptz"),
    (AwareDatetime, sa.DateTime(timezone=True), "timestamptz"),
    (dt.date, sa.Date(), "date"),
)


def _column_type(annotation: object) -> tuple[TypeEngine[typing.Any], str] | None:
    """The SQL type of a canonical annotation; lists -> JSONB; nested models -> None."""
    if typing.get_origin(annotation) in (list, set, tuple):
        return JSONB(), "jsonb"
    args = [a for a in (annotation, *typing.get_args(annotation)) if a is not type(None)]
    for arg in args:
        if typing.get_origin(arg) is typing.Annotated:
            arg = typing.get_args(arg)[0]  # a constrained type (Npi): its base type
        if typing.get_origin(arg) in (list, set, tuple):
            return JSONB(), "jsonb"
        if not isinstance(arg, type):
            continue
        for typ, sql, name in _TYPES:
            if issubclass(arg, typ):
                return sql, name
    return None


def _columns(entity: str, tier: PrivacyTier) -> list[tuple[str, TypeEngine[typing.Any], str]]:
    allowed = TIER_ALLOWS[tier]
    out = []
    for name, info in entity_model(entity).model_fields.items():
        if name == "id" or canonical_class(entity, name).data_class not in allowed:
            continue
        typed = _column_type(info.annotation)
        if typed is not None:
            out.append((name, *typed))
    return out


def build_tables(schema: str, tier: PrivacyTier) -> sa.MetaData:
    """Every table of :data:`TABLES` in ``schema``, with the columns ``tier`` allows."""
    metadata = sa.MetaData(schema=schema)
    for table, entity in TABLES.items():
        sa.Table(
            table,
            metadata,
            sa.Column(KEY, sa.Text(), primary_key=True),
            *(sa.Column(name, sql) for name, sql, _ in _columns(entity, tier)),
            sa.Column(UPDATED, sa.DateTime(timezone=True), nullable=False, index=True),
            sa.Column(ARCHIVED, sa.DateTime(timezone=True)),
        )
    return metadata


def object_schema(table: str, tier: PrivacyTier) -> ObjectSchema:
    """What ``describe`` reports for ``table``: its columns, the key unique, bookkeeping
    columns read-only."""
    fields = {KEY: FieldSchema(KEY, "text", external_id=True, unique=True, nillable=False)}
    for name, _, type_name in _columns(TABLES[table], tier):
        fields[name] = FieldSchema(name, type_name)
    for name in (UPDATED, ARCHIVED):
        fields[name] = FieldSchema(name, "timestamptz", createable=False, updateable=False)
    return ObjectSchema(table, fields, dialect=WAREHOUSE_DIALECT)
