"""Fixtures for the sandbox tests: one running sandbox per module, clean for every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.sandbox.hubspot import HubSpotSandbox
from connectors.sandbox.salesforce import SalesforceSandbox


@pytest.fixture(scope="module")
def hs_server() -> Iterator[HubSpotSandbox]:
    """A HubSpot sandbox running for the whole module (starting one per test is slower)."""
    with HubSpotSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def hs_sandbox(hs_server: HubSpotSandbox) -> HubSpotSandbox:
    """The module's HubSpot sandbox with fresh data, no faults, zeroed counters and limits."""
    hs_server.reset()
    return hs_server


# -- Salesforce --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sf_server() -> Iterator[SalesforceSandbox]:
    """A Salesforce sandbox running for the whole module."""
    with SalesforceSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def sf_sandbox(sf_server: SalesforceSandbox) -> SalesforceSandbox:
    """The module's Salesforce sandbox: no records, no faults, zeroed counters, fresh session."""
    sf_server.reset_data()
    sf_server.faults.clear()
    sf_server.stats.reset()
    sf_server.set_now(None)
    sf_server.set_daily_limit(5_000_000, used=0)
    sf_server.new_session()
    return sf_server
