"""The pytest plugin of :mod:`connectors.testing` (entry point ``pytest11``:
``refsync-connectors``): loads the suites (asserts rewritten) and gives fixtures.

- ``memory_system``: an empty :class:`~connectors.testing.memory.MemorySystem` with one
  object, ``things`` (key ``ref``; ``name`` text; ``kind`` a restricted picklist of ``a``
  and ``b``), for suites and engine tests that need a system but not a vendor.
"""

from __future__ import annotations

import pytest

from connectors.base import FieldSchema
from connectors.testing import MemorySystem, memory_schema

__all__ = ["memory_system"]


@pytest.fixture
def memory_system() -> MemorySystem:
    kind = FieldSchema("kind", "string", picklist_values=("a", "b"), restricted_picklist=True)
    things = memory_schema("things", "ref", {"name": FieldSchema("name", "string"), "kind": kind})
    return MemorySystem({"things": things})
