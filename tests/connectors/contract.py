"""The shared connector contract suites, now shipped as :mod:`connectors.testing` (a pytest
plugin third-party connectors can run). Kept so the test modules here import them as before.
"""

from __future__ import annotations

from connectors.testing import (
    ArchiveContract,
    ConnectorContract,
    ContractHarness,
    ReadContract,
    WriteContract,
    sleep_to_next_second,
    suites_for,
)

__all__ = [
    "ArchiveContract",
    "ConnectorContract",
    "ContractHarness",
    "ReadContract",
    "WriteContract",
    "sleep_to_next_second",
    "suites_for",
]
