"""A SQL warehouse destination (``type: warehouse``): the canonical entities as PostgreSQL
tables for the BI tools analytics teams use.

- **Objects** are tables, one per canonical entity: ``partners``, ``clinicians``,
  ``referrals``, ``outreach``, ``definitions`` (:mod:`connectors.warehouse.tables`). Their
  columns are the canonical fields the connection's ``tier`` may hold (a de-identified
  warehouse has no date of care and no free text), named as the canonical fields are.
- **Writes** upsert by ``refsync_id`` with ``INSERT ... ON CONFLICT DO UPDATE`` (an
  unchanged row is not touched); a refused row fails alone (savepoints).
- **Mirror mode** archives: ``refsync_archived_at`` is stamped, the row stays for history.
- **Reads** page on ``refsync_updated_at`` (for the contract and for auditing what was
  sent); archived rows come back as tombstones.

Written as the worked example of ``docs/connectors.md``: this folder and one registry line.
"""

from __future__ import annotations

from connectors.warehouse.connector import WarehouseConnector
from connectors.warehouse.settings import WarehouseSettings

__all__ = ["WarehouseConnector", "WarehouseSettings"]
