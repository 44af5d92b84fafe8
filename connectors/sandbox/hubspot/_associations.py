"""Associations between records, v4 style: typed, labelled, both directions at once.

HubSpot stores an association in both directions with paired type ids (contact->company
279 is company->contact 280); :class:`AssociationBook` does the same, so reading from
either side sees it. Types come from :data:`~connectors.sandbox.hubspot._data.ASSOCIATION_TYPES`
(HUBSPOT_DEFINED) and from labels created through the API (USER_DEFINED, in pairs).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

from connectors.sandbox.hubspot._data import ASSOCIATION_TYPES
from connectors.sandbox.hubspot._errors import validation_error

__all__ = ["AssociationBook", "AssociationType"]

# (category, typeId, label or None)
AssociationType = tuple[str, int, str | None]
_Pair = tuple[str, str]


class AssociationBook:
    """Association types per object pair and the associations themselves (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._types: dict[_Pair, list[AssociationType]] = {}
            self._reverse: dict[tuple[_Pair, int], int] = {}
            self._links: dict[tuple[str, int], dict[tuple[str, int], set[tuple[str, int]]]] = (
                defaultdict(dict)
            )
            self._next_user_type = 100
            for (a, b), kinds in ASSOCIATION_TYPES.items():
                self._types[(a, b)] = [("HUBSPOT_DEFINED", tid, lab) for tid, lab in kinds]
            for (a, b), kinds in ASSOCIATION_TYPES.items():
                back = ASSOCIATION_TYPES.get((b, a), [])
                for (tid, _), (rid, _) in zip(kinds, back, strict=False):
                    self._reverse[((a, b), tid)] = rid

    def clear_links(self) -> None:
        with self._lock:
            self._links.clear()

    # -- types ----------------------------------------------------------------------------

    def types(self, a: str, b: str) -> list[AssociationType]:
        with self._lock:
            return list(self._types.get((a, b), []))

    def default_type(self, a: str, b: str) -> AssociationType:
        for kind in self.types(a, b):
            if kind[0] == "HUBSPOT_DEFINED" and kind[2] is None:
                return kind
        kinds = self.types(a, b)
        if not kinds:
            raise validation_error(f"There is no association type between {a} and {b}")
        return kinds[0]

    def create_label(self, a: str, b: str, label: str, inverse: str | None) -> None:
        """A USER_DEFINED type pair (``label`` one way, ``inverse`` or ``label`` back)."""
        with self._lock:
            if any(k[2] == label for k in self._types.get((a, b), [])):
                raise validation_error(f"An association label '{label}' already exists")
            forward, backward = self._next_user_type, self._next_user_type + 1
            self._next_user_type += 2
            self._types.setdefault((a, b), []).append(("USER_DEFINED", forward, label))
            self._types.setdefault((b, a), []).append(("USER_DEFINED", backward, inverse or label))
            self._reverse[((a, b), forward)] = backward
            self._reverse[((b, a), backward)] = forward

    def define_pair(self, a: str, b: str) -> None:
        """Unlabelled association types between a custom object and another type."""
        with self._lock:
            if self._types.get((a, b)):
                return
            forward, backward = self._next_user_type, self._next_user_type + 1
            self._next_user_type += 2
            self._types[(a, b)] = [("USER_DEFINED", forward, None)]
            self._types[(b, a)] = [("USER_DEFINED", backward, None)]
            self._reverse[((a, b), forward)] = backward
            self._reverse[((b, a), backward)] = forward

    def _known(self, a: str, b: str, category: str, type_id: int) -> bool:
        return any(k[0] == category and k[1] == type_id for k in self._types.get((a, b), []))

    # -- links ----------------------------------------------------------------------------

    def link(self, a: str, a_id: int, b: str, b_id: int, category: str, type_id: int) -> None:
        """Associate both ways; raises 400 if the type does not exist for the pair."""
        with self._lock:
            if not self._known(a, b, category, type_id):
                raise validation_error(
                    f"associationTypeId {type_id} ({category}) is not valid from {a} to {b}"
                )
            self._links[(a, a_id)].setdefault((b, b_id), set()).add((category, type_id))
            back = self._reverse.get(((a, b), type_id))
            if back is not None:
                self._links[(b, b_id)].setdefault((a, a_id), set()).add((category, back))

    def unlink(self, a: str, a_id: int, b: str, b_id: int) -> None:
        with self._lock:
            self._links.get((a, a_id), {}).pop((b, b_id), None)
            self._links.get((b, b_id), {}).pop((a, a_id), None)

    def linked(self, a: str, a_id: int, b: str) -> list[tuple[int, list[AssociationType]]]:
        """(to id, its association types with labels) for every ``b`` linked to the record."""
        with self._lock:
            labels = {(k[0], k[1]): k[2] for k in self._types.get((a, b), [])}
            out = []
            for (kind, other), specs in sorted(self._links.get((a, a_id), {}).items()):
                if kind == b and specs:
                    out.append((other, [(c, t, labels.get((c, t))) for c, t in sorted(specs)]))
            return out

    def attach_inline(self, name: str, rec_id: int, associations: list[dict[str, Any]]) -> None:
        """Associations sent with a create (``[{"to": {"id"}, "types": [...]}]``).

        The target type is found from the association type id, as HubSpot does.
        """
        for item in associations:
            to_id = int(str(item.get("to", {}).get("id", "0")))
            for spec in item.get("types") or []:
                category, type_id = spec["associationCategory"], int(spec["associationTypeId"])
                target = self._target_for(name, category, type_id)
                self.link(name, rec_id, target, to_id, category, type_id)

    def _target_for(self, name: str, category: str, type_id: int) -> str:
        with self._lock:
            for (a, b), kinds in self._types.items():
                if a == name and any(k[0] == category and k[1] == type_id for k in kinds):
                    return b
        raise validation_error(f"associationTypeId {type_id} is not valid for {name}")

    def dump(self) -> dict[str, Any]:
        """Types (API-made labels and custom-object pairs included) and links, JSON-ready."""
        with self._lock:
            return {
                "types": [[a, b, *kind] for (a, b), kinds in self._types.items() for kind in kinds],
                "reverse": [[a, b, tid, rid] for ((a, b), tid), rid in self._reverse.items()],
                "next_user_type": self._next_user_type,
                "links": [
                    [a, a_id, b, b_id, sorted(specs)]
                    for (a, a_id), targets in self._links.items()
                    for (b, b_id), specs in targets.items()
                ],
            }

    def load(self, data: dict[str, Any]) -> None:
        with self._lock:
            self._types = {}
            for a, b, category, type_id, label in data.get("types", []):
                self._types.setdefault((a, b), []).append((category, type_id, label))
            self._reverse = {((a, b), tid): rid for a, b, tid, rid in data.get("reverse", [])}
            self._next_user_type = data.get("next_user_type", self._next_user_type)
            self._links.clear()
            for a, a_id, b, b_id, specs in data.get("links", []):
                self._links[(a, a_id)][(b, b_id)] = {(c, t) for c, t in specs}
