"""The Salesforce sandbox keeps records, CA and keys in its data dir across restarts."""

from __future__ import annotations

import json
from pathlib import Path

from connectors.sandbox import SalesforceSandbox


def test_records_ca_and_jwt_key_survive_a_restart_with_the_same_data_dir(tmp_path):
    with SalesforceSandbox(data_dir=tmp_path) as first:
        sf = first.make_client()
        kept = sf.Account.create({"Name": "Kept", "Refsync_Id__c": "p-1"})["id"]
        gone = sf.Account.create({"Name": "Gone"})["id"]
        sf.Account.delete(gone)
        ca, key = first.ca_file, Path(first.private_key_file).read_bytes()
    with SalesforceSandbox(data_dir=tmp_path) as second:
        assert (second.ca_file, Path(second.private_key_file).read_bytes()) == (ca, key)
        sf = second.make_client(login="jwt")
        assert sf.Account.get_by_custom_id("Refsync_Id__c", "p-1")["Id"] == kept
        rows = sf.query_all("SELECT Id FROM Account", include_deleted=True)["records"]
        assert {r["Id"] for r in rows} == {kept, gone}
        new = sf.Account.create({"Name": "New"})["id"]
        assert new not in (kept, gone)  # id numbering continues after the loaded records


def test_dump_writes_every_record_as_the_api_renders_it(sf_sandbox, tmp_path):
    sf_sandbox.insert("Contact", [{"LastName": "Ng", "FirstName": "Ana"}])
    sf_sandbox.dump(tmp_path / "dump.json")
    data = json.loads((tmp_path / "dump.json").read_text())
    [contact] = data["Contact"]
    assert contact["Name"] == "Ana Ng"
    assert contact["SystemModstamp"].endswith(".000+0000")
    assert [u["Username"] for u in data["User"]] == [sf_sandbox.username]
