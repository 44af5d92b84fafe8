"""The warehouse connector passes the write (and read, archive) contract suites against the
local PostgreSQL, each test in its own schema (dropped afterwards)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from connectors.base import Capability
from connectors.registry import connector_class
from connectors.testing import ContractHarness, suites_for
from connectors.warehouse import WarehouseConnector, WarehouseSettings
from mapping.errors import ConnectorError, SchemaMismatch, ServiceUnavailable
from mapping.privacy import PrivacyTier
from tests.conftest import PG_BASE_URL


class _Clock:
    """The connector's clock, advanced by hand: stamps differ without sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 2, 2, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self) -> None:
        self.now += timedelta(seconds=1)


@pytest.fixture
def warehouse_schema() -> Iterator[str]:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    schema = f"wh_{uuid.uuid4().hex[:12]}"
    yield schema
    engine = sa.create_engine(PG_BASE_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def _connector(schema: str, clock: _Clock, tier: PrivacyTier = PrivacyTier.DEIDENTIFIED):
    settings = WarehouseSettings(url=PG_BASE_URL, schema=schema, tier=tier)
    return WarehouseConnector(settings, clock=clock)


def _partner(key: str) -> dict[str, object]:
    return {"refsync_id": key, "name": f"Clinic {key}", "kind": "hospital", "referrals_total": 3}


class TestWarehousePartnersContract(*suites_for(WarehouseConnector)):  # type: ignore[misc]
    @pytest.fixture
    def contract(self, warehouse_schema: str) -> Iterator[ContractHarness]:
        clock = _Clock()
        connector = _connector(warehouse_schema, clock)
        yield ContractHarness(
            connector=connector,
            object_name="partners",
            key_field="refsync_id",
            fields=("refsync_id", "name", "kind", "referrals_total"),
            make_record=_partner,
            # a text where the column is a number: the database refuses that row alone
            make_bad_record=lambda key: {**_partner(key), "referrals_total": "many"},
            settle=clock.advance,
            now=clock,
        )
        connector.close()


def test_the_warehouse_is_a_registered_destination_that_reads_writes_and_archives() -> None:
    cls = connector_class("warehouse")
    assert cls is WarehouseConnector
    assert cls.capabilities == {Capability.READ, Capability.WRITE, Capability.ARCHIVE}


def test_a_deidentified_warehouse_has_no_column_for_a_care_date_or_free_text(
    warehouse_schema: str,
) -> None:
    deidentified = _connector(warehouse_schema, _Clock()).describe("referrals").fields
    full = _connector(warehouse_schema, _Clock(), PrivacyTier.FULL).describe("referrals").fields
    assert "received_month" in deidentified and "days_to_schedule" in deidentified
    for name in ("received_at", "reason", "appointment_at", "patient"):
        assert name not in deidentified
    assert {"received_at", "reason", "appointment_at"} <= set(full)


def test_reading_a_column_the_tier_left_out_names_the_tier(warehouse_schema: str) -> None:
    connector = _connector(warehouse_schema, _Clock())
    with pytest.raises(SchemaMismatch, match="privacy tier deidentified"):
        list(connector.read("referrals", since=None, fields=["refsync_id", "reason"]))


def test_an_upsert_that_changes_nothing_leaves_the_row_and_its_stamp_alone(
    warehouse_schema: str,
) -> None:
    clock = _Clock()
    connector = _connector(warehouse_schema, clock)
    first = connector.upsert("partners", [_partner("p1")], key="refsync_id")
    clock.advance()
    again = connector.upsert("partners", [_partner("p1")], key="refsync_id")
    clock.advance()
    changed = connector.upsert(
        "partners", [{**_partner("p1"), "name": "Renamed"}], key="refsync_id"
    )
    assert [r.created for r in (*first, *again, *changed)] == [True, False, False]
    table = sa.table("partners", sa.column("refsync_updated_at"), schema=warehouse_schema)
    with connector.engine.connect() as conn:
        stamp = conn.execute(sa.select(table.c.refsync_updated_at)).scalar_one()
    assert stamp == clock.now  # moved by the change only (two seconds after the insert)
    connector.close()


def test_an_unreachable_warehouse_is_a_connector_error_without_its_password() -> None:
    settings = WarehouseSettings(
        url="postgresql+psycopg://refsync:s3cret-pw@127.0.0.1:1/x?connect_timeout=2"
    )
    with pytest.raises(ConnectorError) as info:
        WarehouseConnector(settings).check()
    assert "s3cret-pw" not in str(info.value)
    assert "failed to connect" in str(info.value)


def _flaky_inserts(schema: str, failures: int) -> None:
    """A real server-side fault: the first ``failures`` INSERTs into partners fail with
    SQLSTATE 40P01 (deadlock detected), as a concurrent run upserting the same rows causes
    (the counter is a sequence, which a rolled-back transaction does not undo)."""
    engine = sa.create_engine(PG_BASE_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SEQUENCE "{schema}".faults'))
        conn.execute(
            sa.text(
                f'CREATE FUNCTION "{schema}".flaky() RETURNS trigger AS $$ BEGIN '
                f"IF nextval('\"{schema}\".faults') <= {failures} THEN "
                "RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END IF; "
                "RETURN NULL; END $$ LANGUAGE plpgsql"
            )
        )
        conn.execute(
            sa.text(
                f'CREATE TRIGGER flaky BEFORE INSERT ON "{schema}".partners '
                f'FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".flaky()'
            )
        )
    engine.dispose()


def _flaky_warehouse(schema: str, failures: int) -> tuple[WarehouseConnector, list[float]]:
    """A connector whose tables exist and whose next ``failures`` INSERTs deadlock; the
    waits between its retries are recorded, not slept."""
    waits: list[float] = []
    settings = WarehouseSettings(url=PG_BASE_URL, schema=schema)
    connector = WarehouseConnector(settings, clock=_Clock(), sleep=waits.append)
    connector.check()
    _flaky_inserts(schema, failures)
    return connector, waits


def test_a_deadlocked_upsert_is_retried_under_the_shared_policy_and_written_once(
    warehouse_schema: str,
) -> None:
    connector, waits = _flaky_warehouse(warehouse_schema, failures=2)
    results = connector.upsert("partners", [_partner("p1"), _partner("p2")], key="refsync_id")
    assert [(r.key, r.ok, r.created) for r in results] == [("p1", True, True), ("p2", True, True)]
    assert waits == [connector.retry_policy.backoff(1), connector.retry_policy.backoff(2)]
    pages = list(connector.read("partners", since=None, fields=["refsync_id"]))
    assert sorted(r.id for page in pages for r in page.records) == ["p1", "p2"]
    connector.close()


def test_a_warehouse_that_keeps_failing_gives_up_after_the_policys_attempts(
    warehouse_schema: str,
) -> None:
    connector, waits = _flaky_warehouse(warehouse_schema, failures=100)
    with pytest.raises(ServiceUnavailable, match="gave up after 4 attempts") as info:
        connector.upsert("partners", [_partner("p1")], key="refsync_id")
    assert "SQLSTATE 40P01" in str(info.value)
    assert len(waits) == connector.retry_policy.max_attempts - 1
    pages = list(connector.read("partners", since=None, fields=["refsync_id"]))
    assert [r for page in pages for r in page.records] == []
    connector.close()
