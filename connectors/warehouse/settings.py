"""Connection settings of a SQL warehouse destination (``type: warehouse``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from mapping.privacy import PrivacyTier

__all__ = ["WarehouseSettings"]


class WarehouseSettings(BaseModel):
    """Settings of one warehouse connection (the ``settings:`` block in refsync.yaml).

    ``url`` is a SQLAlchemy URL (``postgresql+psycopg://refsync@db.internal/analytics``);
    put the password in ``${REFSYNC_WAREHOUSE_URL}``, it is a secret and never printed.
    ``schema`` is the database schema the tables live in; ``tier`` is the privacy tier the
    tables are laid out for (a column whose canonical field the tier may not hold is never
    created); ``create_tables`` creates the schema and missing tables on first use.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    url: SecretStr
    db_schema: str = Field(default="refsync", alias="schema", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    tier: PrivacyTier = PrivacyTier.DEIDENTIFIED
    create_tables: bool = True
    page_size: int = Field(default=1000, ge=1, le=100_000)

    @field_validator("url")
    @classmethod
    def _a_sqlalchemy_url(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value()
        if "://" not in text:
            raise ValueError(
                "url is not a database URL; use postgresql+psycopg://user@host/database"
            )
        return value
