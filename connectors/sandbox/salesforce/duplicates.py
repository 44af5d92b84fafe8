"""Duplicate rules: an org's matching rules that block saving a record like an existing one.

Salesforce refuses such a save per record with ``DUPLICATES_DETECTED`` ("Use one of these
records?") and a ``duplicateResult`` naming the rule and, under
``matchResults[].matchRecords[].record``, the existing records it matched (the
DuplicateResult / MatchResult / MatchRecord objects of the API reference). The Standard
Contact and Lead rules are active in new orgs and block API inserts too.

A :class:`DuplicateRule` matches when every one of its fields equals the existing record's,
ignoring case and surrounding whitespace (the standard rules' exact e-mail match); empty
values never match. Only blocking rules ("Block" action) are modelled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from connectors.sandbox.salesforce.errors import RecordFailure
from connectors.sandbox.salesforce.schema import ObjectDef

__all__ = ["DuplicateRule", "check_duplicates"]

_MESSAGE = "Use one of these records?"


@dataclass(frozen=True, slots=True)
class DuplicateRule:
    object_name: str
    fields: tuple[str, ...]
    name: str = "Standard_Rule"

    def key(self, row: dict[str, Any]) -> tuple[str, ...] | None:
        values = tuple(str(row.get(f) or "").strip().casefold() for f in self.fields)
        return None if any(v == "" for v in values) else values


def check_duplicates(
    obj: ObjectDef,
    row: dict[str, Any],
    others: Iterable[dict[str, Any]],
    rules: Iterable[DuplicateRule],
    api_version: str = "62.0",
) -> None:
    """Raise the ``DUPLICATES_DETECTED`` failure when a rule of ``obj`` matches a live row."""
    for rule in rules:
        if rule.object_name.lower() != obj.name.lower():
            continue
        wanted = rule.key(row)
        if wanted is None:
            continue
        matches = [
            other["Id"]
            for other in others
            if other["Id"] != row.get("Id")
            and not other.get("IsDeleted")
            and rule.key(other) == wanted
        ]
        if matches:
            raise RecordFailure(
                "DUPLICATES_DETECTED",
                _MESSAGE,
                [],
                {"duplicateResult": _result(obj, rule, matches, api_version)},
            )


def _result(obj: ObjectDef, rule: DuplicateRule, ids: list[str], version: str) -> dict[str, Any]:
    records = [
        {
            "additionalInformation": [],
            "fieldDiffs": [],
            "matchConfidence": 100.0,
            "record": {
                "attributes": {
                    "type": obj.name,
                    "url": f"/services/data/v{version}/sobjects/{obj.name}/{rid}",
                },
                "Id": rid,
            },
        }
        for rid in ids
    ]
    return {
        "allowSave": False,
        "duplicateRule": rule.name,
        "duplicateRuleEntityType": obj.name,
        "errorMessage": "You're creating a duplicate record. We recommend you use an existing "
        "record instead.",
        "matchResults": [
            {
                "entityType": obj.name,
                "errors": [],
                "matchEngine": "ExactMatchEngine",
                "matchRecords": records,
                "rule": f"{rule.name}_Match",
                "size": len(records),
                "success": True,
            }
        ],
    }
