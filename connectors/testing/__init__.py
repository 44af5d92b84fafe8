"""Contract suites for connectors, as a pytest plugin a third-party package can run.

Install refsync and the plugin loads itself (``pytest11`` entry point ``refsync-connectors``;
or add ``pytest_plugins = ["connectors.testing.plugin"]`` to a ``conftest.py``). Then::

    import pytest
    from connectors.testing import ContractHarness, suites_for

    class TestWarehouseContract(*suites_for(WarehouseConnector)):
        @pytest.fixture
        def contract(self) -> ContractHarness:
            return ContractHarness(connector=..., object_name=..., key_field=..., ...)

:func:`suites_for` picks the read, write, archive and provisioning suites the connector's
declared capabilities call for. :class:`MemoryConnector` over a :class:`MemorySystem` is an
in-memory system and reference connector that passes the first three, and
:class:`MemoryProvisioner` adds PROVISION, so the suites can run before a sandbox exists
(the ``memory_system`` fixture gives one).
"""

from __future__ import annotations

import pytest

# Before the suites are imported: their asserts then explain a failure as a test's do.
pytest.register_assert_rewrite("connectors.testing.suites", "connectors.testing.harness")

from connectors.testing.harness import ContractHarness, sleep_to_next_second  # noqa: E402
from connectors.testing.memory import MemoryConnector, MemorySystem, memory_schema  # noqa: E402
from connectors.testing.provisioning import MemoryProvisioner  # noqa: E402
from connectors.testing.suites import (  # noqa: E402
    ArchiveContract,
    ConnectorContract,
    ProvisionContract,
    ProvisionSourceContract,
    ReadContract,
    WriteContract,
    suites_for,
)

__all__ = [
    "ArchiveContract",
    "ConnectorContract",
    "ContractHarness",
    "MemoryConnector",
    "MemoryProvisioner",
    "MemorySystem",
    "ProvisionContract",
    "ProvisionSourceContract",
    "ReadContract",
    "WriteContract",
    "memory_schema",
    "sleep_to_next_second",
    "suites_for",
]
