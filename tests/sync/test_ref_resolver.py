"""The `ref` transform resolves native ids through the reading system's links."""

from __future__ import annotations

from sync.engine.referrers import ref_resolver
from sync.state import StateStore


def test_a_native_id_resolves_through_the_systems_links_and_a_refsync_id_to_itself(tmp_path):
    with StateStore.open(f"sqlite:///{tmp_path / 's.db'}") as store:
        store.put_records("partner", [("par_1", {"id": "par_1", "name": "Lakeside"}, False)])
        store.link_many("partner", "salesforce", [("par_1", "001A")])
        resolve = ref_resolver(store, "salesforce")
        assert resolve("partner", "001A") == "par_1"
        assert resolve("partner", "par_1") == "par_1"
        assert resolve("partner", "001B") is None
        assert ref_resolver(store, "hubspot")("partner", "001A") is None  # another system's id
