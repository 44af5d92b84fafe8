"""Shared set-up of the HubSpot connector tests: a provisioned sandbox and connectors on it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.hubspot import HubSpotConnector, HubSpotSettings, apply_provision, plan_provision
from connectors.sandbox.hubspot import HubSpotSandbox


class FakeSleep:
    """Injected sleep and clock: a wait records itself and moves the fake clock, not time."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.now = 1000.0

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def fake_time_connector(hs: HubSpotSandbox, **overrides: Any) -> tuple[HubSpotConnector, FakeSleep]:
    sleep = FakeSleep()
    connector = HubSpotConnector(settings_for(hs, **overrides), sleep=sleep, monotonic=sleep.clock)
    return connector, sleep


def settings_for(hs: HubSpotSandbox, **overrides: Any) -> HubSpotSettings:
    values: dict[str, Any] = {"access_token": hs.token, "host": hs.base_url, "insecure_http": True}
    values.update(overrides)
    return HubSpotSettings(**values)


def connector_for(hs: HubSpotSandbox, **overrides: Any) -> HubSpotConnector:
    return HubSpotConnector(settings_for(hs, **overrides))


def provisioned_sandbox(**kwargs: Any) -> Iterator[HubSpotSandbox]:
    with HubSpotSandbox(**kwargs) as hs:
        connector = connector_for(hs)
        apply_provision(connector, plan_provision(connector))
        yield hs


def companies(prefix: str, count: int, **extra: Any) -> list[dict[str, Any]]:
    return [
        {"refsync_id": f"{prefix}{i:05d}", "name": f"Clinic {prefix}{i}", **extra}
        for i in range(count)
    ]


@pytest.fixture(scope="module")
def hubspot_sandbox() -> Iterator[HubSpotSandbox]:
    yield from provisioned_sandbox()


@pytest.fixture
def hs(hubspot_sandbox: HubSpotSandbox) -> Iterator[HubSpotSandbox]:
    """The module's sandbox with clean faults and limits for this test."""
    hubspot_sandbox.faults.clear()
    hubspot_sandbox.limits.reset()
    yield hubspot_sandbox
    hubspot_sandbox.faults.clear()
