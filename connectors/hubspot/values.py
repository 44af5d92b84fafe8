"""Property values as HubSpot stores them: strings.

HubSpot property values are strings on the wire: booleans ``"true"``/``"false"``, numbers
as decimal text, datetimes as epoch milliseconds (an ISO string is accepted too, but ms is
unambiguous), multi-select values ``;``-joined, and ``""`` clears a value.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

__all__ = ["to_hubspot"]


def to_hubspot(value: Any) -> str:
    """One outbound value as HubSpot wants it."""
    if type(value) is str:  # most values: no further test
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime sent to HubSpot; canonical datetimes are aware")
        return str(int(value.timestamp() * 1000))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return ";".join(to_hubspot(v) for v in value)
    return str(value)
