"""A memory connector that provisions: the PROVISION contract, proved without a sandbox.

:class:`MemoryProvisioner` is handed the objects and fields its mappings need
(``needs``); its plan lists what the :class:`~connectors.testing.memory.MemorySystem` lacks
(objects, fields, and every field the engine says receives PHI), a field that exists with
another type as a conflict it leaves alone, and applying the plan makes the rest: the
smallest reference for a connector author whose system is provisioned through its API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import ClassVar

from connectors.base import (
    Capability,
    FieldSchema,
    ObjectSchema,
    PhiFields,
    ProvisionAction,
)
from connectors.testing.memory import MemoryConnector, MemorySystem
from mapping.errors import ConfigurationError

__all__ = ["MemoryProvisioner"]


class MemoryProvisioner(MemoryConnector):
    """A :class:`MemoryConnector` that also declares PROVISION."""

    name = "memory-provisioner"
    capabilities: ClassVar[frozenset[Capability]] = MemoryConnector.capabilities | {
        Capability.PROVISION
    }

    def __init__(self, system: MemorySystem, needs: Mapping[str, ObjectSchema]) -> None:
        super().__init__(system)
        self.needs = needs

    def provision_plan(self, phi_fields: PhiFields) -> list[ProvisionAction]:
        plan: list[ProvisionAction] = []
        for obj in sorted({*self.needs, *phi_fields}):
            wanted = dict(self.needs[obj].fields) if obj in self.needs else {}
            for name in phi_fields.get(obj, ()):
                wanted.setdefault(name, FieldSchema(name, "string"))
            have = self.system.schemas.get(obj)
            if have is None:
                body = {"schema": ObjectSchema(obj, wanted)}
                plan.append(
                    ProvisionAction("create_object", obj, obj, f"{len(wanted)} fields", body)
                )
                continue
            steps = (_field_step(obj, s, have.fields.get(n)) for n, s in sorted(wanted.items()))
            plan += [step for step in steps if step is not None]
        return plan

    def apply_provision(self, plan: Sequence[ProvisionAction]) -> int:
        done = 0
        for step in (s for s in plan if s.applies):
            made = step.body.get("schema") or step.body.get("field")
            if step.kind == "create_object" and isinstance(made, ObjectSchema):
                self.system.schemas = {**self.system.schemas, step.object_type: made}
            elif step.kind == "create_field" and isinstance(made, FieldSchema):
                have = self.system.schemas[step.object_type]
                fields = {**have.fields, made.name: made}
                self.system.schemas = {
                    **self.system.schemas,
                    step.object_type: replace(have, fields=fields),
                }
            else:  # never count a change that was not made
                raise ConfigurationError(f"the memory system cannot {step}")
            self.system.calls += 1
            done += 1
        return done


def _field_step(obj: str, spec: FieldSchema, have: FieldSchema | None) -> ProvisionAction | None:
    if have is None:
        return ProvisionAction("create_field", obj, spec.name, spec.type, {"field": spec})
    if have.type != spec.type:
        detail = f"exists as {have.type}; needs {spec.type}: fix it by hand"
        return ProvisionAction("conflict", obj, spec.name, detail)
    return None
