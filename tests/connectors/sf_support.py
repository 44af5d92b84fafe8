"""Fixtures shared by the Salesforce tests that run against the local sandbox.

The sandbox is started once per test module (HTTPS, its own CA) and reset for each test:
data dropped, faults cleared, counters zeroed, the server clock frozen at ``START`` so that
``SystemModstamp`` values are under the test's control (``sandbox.advance(seconds)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.base import ReadPage
from connectors.salesforce import SalesforceConnector, SalesforceSettings
from connectors.sandbox import SalesforceSandbox

__all__ = ["START", "Sleeps", "make_connector", "referral", "sandbox", "sf_sandbox"]

START = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)


class Sleeps(list):
    """An injected sleep that records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="module")
def sf_sandbox() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox() as sb:
        yield sb


@pytest.fixture
def sandbox(sf_sandbox: SalesforceSandbox) -> SalesforceSandbox:
    sf_sandbox.reset_data()
    sf_sandbox.faults.clear()
    sf_sandbox.set_daily_limit(5_000_000, used=0)
    sf_sandbox.set_now(START)
    sf_sandbox.stats.reset()
    return sf_sandbox


def settings_for(sb: SalesforceSandbox, **overrides: Any) -> SalesforceSettings:
    """JWT settings pointed at the sandbox (its token endpoint and CA)."""
    values: dict[str, Any] = {
        "auth": "jwt",
        "login_url": sb.instance_url,
        "ca_file": sb.ca_file,
        "client_id": sb.client_id,
        "username": sb.username,
        "private_key_file": sb.private_key_file,
        **overrides,
    }
    return SalesforceSettings(**values)


def make_connector(
    sb: SalesforceSandbox, sleeps: Callable[[float], None] | None = None, **overrides: Any
) -> SalesforceConnector:
    """A connector that builds its own real client against the sandbox."""
    return SalesforceConnector(
        settings_for(sb, **overrides),
        clock=sb.now,
        sleep=sleeps if sleeps is not None else Sleeps(),
    )


def referral(key: str, **fields: Any) -> dict[str, Any]:
    """A valid native Referral__c record."""
    return {
        "Refsync_Id__c": key,
        "Referral_Number__c": f"RN-{key}",
        "Stage__c": "Referred",
        "Reason__c": "chest pain",
        **fields,
    }


def ids_read(pages: list[ReadPage]) -> list[str]:
    return [record.id for page in pages for record in page.records]
