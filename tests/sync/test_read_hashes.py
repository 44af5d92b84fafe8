"""A re-read record whose native content did not change since its last read is not translated."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from connectors.salesforce import SalesforceConnector, SalesforceSettings
from connectors.sandbox import SalesforceSandbox
from mapping.spec import EntityMapping, MappingSpec
from mapping.transforms import TransformContext
from mapping.translate import InboundRecord, to_canonical
from sync.engine.matching import PatientMatcher
from sync.engine.merge import Ownership
from sync.engine.reader import SourceReader
from sync.engine.report import RunReport
from sync.state import StateStore
from sync.state._sealing import Sealer, new_key

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
RECORDS = 30


class CountingTranslate:
    """The real translation, counting the native records it is handed."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(
        self, em: EntityMapping, native: Mapping[str, Any], ctx: TransformContext
    ) -> InboundRecord:
        self.calls += 1
        return to_canonical(em, native, ctx)


@pytest.fixture(scope="module")
def sb() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(sb: SalesforceSandbox) -> SalesforceSandbox:
    sb.reset_data()
    sb.set_now(START)
    sb.stats.reset()
    rows = [
        {
            "Refsync_Id__c": f"ref-{i:03d}",
            "Referral_Number__c": f"RN-{i:05d}",
            "Stage__c": "Referred",
            "Urgency__c": "Routine",
            "Received_At__c": "2024-04-30T08:15:00Z",
        }
        for i in range(RECORDS)
    ]
    sb.insert("Referral__c", rows)
    sb.advance(5)
    return sb


def _mapping(entity: str = "referral") -> EntityMapping:
    text = (ROOT / "config/templates/mappings/salesforce.yaml").read_text(encoding="utf-8")
    return MappingSpec.model_validate(YAML(typ="safe").load(text)).entities[entity]


def _read(
    sb: SalesforceSandbox, store: StateStore, em: EntityMapping, entity: str = "referral"
) -> tuple[RunReport, int]:
    """One read of every record of ``em`` (no bookmark), as a run's read phase does it."""
    settings = SalesforceSettings(
        auth="jwt",
        login_url=sb.instance_url,
        ca_file=sb.ca_file,
        client_id=sb.client_id,
        username=sb.username,
        private_key_file=sb.private_key_file,
    )
    connector = SalesforceConnector(settings, clock=sb.now)
    report, translate = RunReport("sf-in"), CountingTranslate()
    reader = SourceReader(
        store,
        report,
        Ownership(),
        TransformContext(field=""),
        store.session,
        run_id=1,
        started=sb.now(),
        matcher=PatientMatcher(store),
        translate=translate,
    )
    reader.read("salesforce", entity, em, connector, lambda _n: None)
    connector.close()
    return report, translate.calls


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    opened = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    yield opened
    opened.close()


def test_records_read_again_with_the_same_content_are_not_translated_again(
    sandbox: SalesforceSandbox, store: StateStore
) -> None:
    em = _mapping()
    first, first_calls = _read(sandbox, store, em)
    assert first.read["salesforce/referral/created"] == RECORDS
    assert first_calls >= RECORDS

    again, again_calls = _read(sandbox, store, em)

    assert again_calls == 0
    assert again.read["salesforce/referral/read"] == RECORDS
    assert again.read["salesforce/referral/unchanged"] == RECORDS


def test_only_the_records_whose_content_changed_are_translated_again(
    sandbox: SalesforceSandbox, store: StateStore
) -> None:
    em = _mapping()
    _read(sandbox, store, em)
    client = sandbox.make_client()
    for i in (3, 17):
        client.Referral__c.upsert(f"Refsync_Id__c/ref-{i:03d}", {"Urgency__c": "Urgent"})
    sandbox.advance(2)

    again, again_calls = _read(sandbox, store, em)

    assert again_calls == 2
    assert again.read["salesforce/referral/updated"] == 2
    assert again.read["salesforce/referral/unchanged"] == RECORDS - 2
    [cid] = store.find_ids_by_key("referral", "referral_number", ["RN-00003"]).values()
    stored = store.get_record("referral", cid)
    assert stored is not None and stored.data["urgency"] == "urgent"


def test_a_rejected_record_is_translated_again_on_every_read_until_it_is_fixed(
    sandbox: SalesforceSandbox, store: StateStore
) -> None:
    em = _mapping("partner")
    _good, bad = sandbox.insert(
        "Account",
        [
            {"Name": "Lakeside", "Refsync_Id__c": "p-1", "NPI__c": "1234567893"},
            {"Name": "Bad NPI", "Refsync_Id__c": "p-2", "NPI__c": "1234567890"},
        ],
    )
    sandbox.advance(2)
    first, first_calls = _read(sandbox, store, em, "partner")
    assert [r.key for r in first.rejects] == [bad]
    assert first_calls == 2

    again, again_calls = _read(sandbox, store, em, "partner")

    assert again_calls == 1  # the rejected one only
    assert [r.key for r in again.rejects] == [bad]


def test_a_read_decrypts_only_the_stored_records_of_the_rows_whose_content_changed(
    sandbox: SalesforceSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyed = StateStore.open(f"sqlite:///{tmp_path / 'keyed.db'}", keys=[new_key()])
    opened: list[str] = []
    decrypt = Sealer._decrypt

    def counted(self: Sealer, entity: str, record_id: str, *args: Any) -> bytes:
        opened.append(record_id)
        return decrypt(self, entity, record_id, *args)

    monkeypatch.setattr(Sealer, "_decrypt", counted)
    em = _mapping()
    try:
        _read(sandbox, keyed, em)
        client = sandbox.make_client()
        for i in (3, 17):
            client.Referral__c.upsert(f"Refsync_Id__c/ref-{i:03d}", {"Urgency__c": "Urgent"})
        sandbox.advance(2)
        changed = keyed.find_ids_by_key("referral", "referral_number", ["RN-00003", "RN-00017"])
        opened.clear()

        again, _calls = _read(sandbox, keyed, em)

        assert again.read["salesforce/referral/unchanged"] == RECORDS - 2
        assert sorted(set(opened)) == sorted(changed.values())  # not the 28 others
        assert keyed.get_record("referral", changed["RN-00003"]).data["urgency"] == "urgent"
    finally:
        keyed.close()
