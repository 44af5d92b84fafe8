"""One bad row is one rejected record: a referral number that belongs to another referral
never fails the run (exit 1, the other rows written, the collision listed by `errors`)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sync.cli import app
from sync.state import StateStore
from tests.sync.conftest import Hub, sf_stages
from tests.sync.test_end_to_end import write_export

runner = CliRunner()
JOB = "scheduling-to-crm"


def _cli(hub: Hub, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--config", str(hub.root)])
    return result.exit_code, result.output


def _open_errors(hub: Hub) -> list[dict[str, object]]:
    code, out = _cli(hub, "errors", JOB, "--json")
    assert code == 0, out
    return json.loads(out)


def _claim_another_number(hub: Hub, number: str, taken: str) -> None:
    """Merge into the referral ``number`` a change that gives it ``taken`` (another referral's
    number), through the store call the reader makes for a merged page."""
    store = StateStore.open(hub.state_url)
    try:
        cid = store.find_ids_by_key("referral", "referral_number", [number])[number]
        rec = store.get_record("referral", cid)
        assert rec is not None
        store.put_records("referral", [(cid, {**rec.data, "referral_number": taken}, False)])
    finally:
        store.close()


def test_a_referral_number_taken_by_another_referral_is_one_rejected_record(hub: Hub) -> None:
    write_export(
        hub,
        "a.csv",
        [("1", "REF-1", "1", "03/05/2024 9:30 AM"), ("2", "REF-2", "1", "03/06/2024 9:30 AM")],
    )
    code, out = _cli(hub, "run", JOB)
    assert code == 0, out
    _claim_another_number(hub, "REF-1", "REF-2")  # the store takes it: no exception
    write_export(hub, "b.csv", [("3", "REF-3", "2", "03/07/2024 9:30 AM")])
    code, out = _cli(hub, "run", JOB)
    assert code == 1, out
    assert "Traceback" not in out
    stages = sf_stages(hub.sf)
    assert stages["REF-3"] == "Completed"  # the rest of the run was written
    assert sorted(stages) == ["REF-1", "REF-2", "REF-3"]  # no second REF-2
    errors = _open_errors(hub)
    dup = [e for e in errors if e["code"] == "DUPLICATE_REFERRAL_NUMBER"]
    assert {e["system"] for e in dup} == {"salesforce", "hubspot"}, errors
    for e in dup:
        message = str(e["message"])
        assert "REF-2" in message and "ref_" not in message  # no internal ids
        assert "correct the referral number" in message and JOB in message
        assert "CANARY" not in message and "00012345" not in message  # no PHI
    # Corrected at the source: the next clean write resolves it.
    _claim_another_number_back(hub)
    code, out = _cli(hub, "run", JOB)
    assert code == 0, out
    assert [e for e in _open_errors(hub) if e["code"] == "DUPLICATE_REFERRAL_NUMBER"] == []


def _claim_another_number_back(hub: Hub) -> None:
    store = StateStore.open(hub.state_url)
    try:
        cid = store.find_ids_by_key("referral", "referral_number", ["REF-1"])["REF-1"]
        rec = store.get_record("referral", cid)
        assert rec is not None and rec.data["referral_number"] == "REF-2"
        store.put_records("referral", [(cid, {**rec.data, "referral_number": "REF-1"}, False)])
    finally:
        store.close()


def test_the_store_keeps_a_taken_key_with_its_holder_and_reports_the_claimant(
    tmp_path: Path,
) -> None:
    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        store.put_records("clinician", [("c-1", {"npi": "1234567893", "last_name": "A"}, False)])
        result = store.put_records(
            "clinician",
            [
                ("c-3", {"npi": "1245319599", "last_name": "C"}, False),
                ("c-2", {"npi": "1234567893", "last_name": "B"}, False),
            ],
        )  # no exception: one bad record never fails the page
        assert sorted(result.inserted) == ["c-2", "c-3"]
        assert store.find_ids_by_key("clinician", "npi", ["1234567893", "1245319599"]) == {
            "1234567893": "c-1",
            "1245319599": "c-3",
        }
        stored = store.get_records("clinician", ["c-1", "c-2", "c-3"]).values()
        assert store.key_collisions("clinician", stored) == [("c-2", "npi", "1234567893")]
        # A record moving to a taken value keeps its old key until corrected.
        store.put_records("clinician", [("c-3", {"npi": "1234567893", "last_name": "C"}, False)])
        assert store.find_ids_by_key("clinician", "npi", ["1245319599"]) == {"1245319599": "c-3"}
        store.put_records("clinician", [("c-3", {"npi": "1245319599", "last_name": "C"}, False)])
        assert store.find_ids_by_key("clinician", "npi", ["1245319599"]) == {"1245319599": "c-3"}
        # One batch claiming a value twice: the first claimant holds it.
        store.put_records(
            "clinician",
            [("c-4", {"npi": "1326052721"}, False), ("c-5", {"npi": "1326052721"}, False)],
        )
        assert store.find_ids_by_key("clinician", "npi", ["1326052721"]) == {"1326052721": "c-4"}
    finally:
        store.close()
