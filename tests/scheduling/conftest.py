"""Fixtures for the scheduling connector tests."""

from __future__ import annotations

import pytest
from scheduling_support import TEST_KEY

from connectors.scheduling.patient import PatientKeyer


@pytest.fixture
def keyer() -> PatientKeyer:
    return PatientKeyer(TEST_KEY.encode())
