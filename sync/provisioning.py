"""Provisioning a system for the default mappings (``refsync provision TYPE``, the demo).

Any connector that declares it: PROVISION (the plan is printed, ``apply`` makes it through
the system's API) or PROVISION_SOURCE (source files an admin deploys with the vendor's own
tool). The PHI fields a plan makes where the system may keep PHI come from the mappings.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from connectors.base import Capability, CapabilityMissing, Connector
from connectors.registry import connector_class
from mapping.errors import ConfigurationError
from sync.engine import Runtime, open_program
from sync.privacy_tiers import phi_fields

__all__ = ["provision_connection", "provisioner", "write_provision_source"]


def provisioner(type_name: str) -> type[Connector]:
    """The connector class of ``type_name``, if it declares either way of provisioning."""
    try:
        cls = connector_class(type_name)
    except KeyError as exc:
        raise ConfigurationError(str(exc.args[0])) from None
    if not (cls.supports(Capability.PROVISION) or cls.supports(Capability.PROVISION_SOURCE)):
        raise CapabilityMissing(
            f"connection type {type_name!r} declares no provisioning: make the objects and "
            "fields its mappings use by hand (see the connector's documentation)"
        )
    return cls


def write_provision_source(type_name: str, out: Path) -> tuple[list[Path], str]:
    """PROVISION_SOURCE: the files written under ``out`` and the command that deploys them."""
    cls = provisioner(type_name)
    if not cls.supports(Capability.PROVISION_SOURCE):
        raise CapabilityMissing(
            f"connection type {type_name!r} writes no source files; provision it through "
            f"its API: refsync provision {type_name} --config DIR [--apply]"
        )
    return cls.write_provision_source(out), cls.deploy_command(out)


def provision_connection(
    program_dir: Path,
    *,
    connection: str,
    type_name: str | None = None,
    apply: bool = True,
    say: Callable[[str], None] = lambda _line: None,
) -> int:
    """PROVISION: plan (and when ``apply``, make) what connection ``connection`` of the
    program needs, each step passed to ``say``; the number of changes made."""
    runtime = Runtime(open_program(program_dir))
    try:
        conn = runtime.program.config.connections.get(connection)
        if conn is None:
            known = ", ".join(sorted(runtime.program.config.connections))
            raise ConfigurationError(
                f"no connection {connection!r} in refsync.yaml; known: {known}"
            )
        if type_name is not None and conn.type != type_name:
            raise ConfigurationError(
                f"connection {connection!r} is of type {conn.type!r}, not {type_name!r}; "
                f"name a {type_name} connection with --connection"
            )
        if not provisioner(conn.type).supports(Capability.PROVISION):
            raise CapabilityMissing(
                f"connection type {conn.type!r} is provisioned from source files: "
                f"refsync provision {conn.type} --out DIR"
            )
        connector = runtime.connector(connection)
        plan = connector.provision_plan(phi_fields(runtime.program, connection))
        for action in plan:
            say(f"  {action}")
        if not apply or not any(a.applies for a in plan):
            return 0
        return connector.apply_provision(plan)
    finally:
        runtime.close()
