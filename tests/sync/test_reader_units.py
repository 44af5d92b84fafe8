"""The reader's pieces on their own, with plain records and a real SQLite store: identity
resolution, content digests and the key back-fill choice (issue 14: the engine in small
pieces with typed inputs and outputs)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import EventMeta, NativeRecord
from mapping.spec import EntityMapping, FieldMapping
from mapping.transforms import TransformContext
from mapping.translate import native_fields, native_value, to_canonical
from sync.engine.backfill import backfill_keys, unkeyed
from sync.engine.digests import ContentDigests
from sync.engine.identity import IdentityResolver
from sync.engine.ids import canonical_id
from sync.engine.matching import PatientMatcher
from sync.state import StateStore

REFERRALS = EntityMapping.model_validate(
    {
        "object": "Referral__c",
        "key": "Refsync_Id__c",
        "fields": [
            {"canonical": "referral_number", "native": "Referral_Number__c"},
            {"canonical": "service_line", "native": "Service_Line__c"},
        ],
    }
).for_entity("referral")
PARTNERS = EntityMapping.model_validate(
    {
        "object": "Account",
        "key": "Refsync_Id__c",
        "fields": [{"canonical": "name", "native": "Name"}],
    }
).for_entity("partner")


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")


def _resolver(store: StateStore) -> IdentityResolver:
    return IdentityResolver(store, PatientMatcher(store), TransformContext(), to_canonical)


def test_identity_comes_from_the_link_then_our_key_then_the_natural_key_then_the_origin(store):
    store.link_many("partner", "sf", [("par_linked", "001A")])
    records = [
        NativeRecord("001A", {"Name": "Linked"}),
        NativeRecord("001B", {"Name": "Keyed", "Refsync_Id__c": "par_keyed"}),
        NativeRecord("001C", {"Name": "New"}),
    ]
    resolved = _resolver(store).resolve("sf", "partner", PARTNERS, records, None)
    assert resolved.ids == {
        "001A": "par_linked",
        "001B": "par_keyed",
        "001C": canonical_id("partner", "sf", "001C"),
    }
    assert resolved.unmatched == []


def test_a_referral_is_found_by_its_number_or_gets_the_id_its_number_gives(store):
    store.put_records("referral", [("ref_old", {"id": "ref_old", "referral_number": "R-1"}, False)])
    records = [
        NativeRecord("a1", {"Referral_Number__c": "R-1"}),
        NativeRecord("a2", {"Referral_Number__c": "R-2"}),
    ]
    resolved = _resolver(store).resolve("sf", "referral", REFERRALS, records, None)
    assert resolved.ids == {"a1": "ref_old", "a2": canonical_id("referral", "R-2")}


def test_a_referral_without_a_number_that_matches_nothing_is_an_error_not_a_guess(store):
    records = [NativeRecord("a3", {"Service_Line__c": "cardiology"})]
    resolved = _resolver(store).resolve("sf", "referral", REFERRALS, records, None)
    assert resolved.ids == {"a3": None}
    (error,) = resolved.unmatched
    assert (error.key, error.code, error.field) == ("a3", "UNMATCHED", "referral_number")


def test_equal_content_gives_equal_digests_and_a_changed_field_or_mapping_does_not():
    digests = ContentDigests(lambda text: f"h({text})")
    one = NativeRecord("1", {"Name": "A", "SystemModstamp": "t1"})
    same = NativeRecord("1", {"Name": "A", "SystemModstamp": "t2"})  # a stamp is not content
    changed = NativeRecord("1", {"Name": "B"})
    first = digests.digests(PARTNERS, [one])["1"]
    assert digests.digests(PARTNERS, [same])["1"] == first
    assert digests.digests(PARTNERS, [changed])["1"] != first
    other = PARTNERS.model_copy(update={"key": "Other__c"})
    assert digests.digests(other, [one])["1"] != first


_CELLS = st.one_of(st.none(), st.text(max_size=5), st.integers(), st.booleans())


@given(
    fields=st.dictionaries(
        st.sampled_from(["Name", "Owner", "Owner.Name", "Other", "Refsync_Id__c"]), _CELLS
    ),
    owner=st.one_of(st.none(), st.dictionaries(st.sampled_from(["Name", "X"]), _CELLS)),
)
def test_a_digest_holds_each_mapped_field_as_translation_reads_it_flat_or_dotted(
    fields: dict[str, object], owner: dict[str, object] | None
) -> None:
    digests = ContentDigests(lambda text: text)  # the text itself: its content can be read
    dotted = PARTNERS.model_copy(
        update={"fields": [*PARTNERS.fields, FieldMapping(canonical="owner", native="Owner.Name")]}
    )
    record = NativeRecord("1", {**fields, **({"Owner": owner} if owner is not None else {})})
    for em in (PARTNERS, dotted):
        text = digests.digests(em, [record])["1"]
        expected = [native_value(record.fields, n) for n in native_fields(em, "in")]
        assert json.loads(text[text.index("[") :]) == expected


def test_a_field_orjson_cannot_write_still_gets_a_stable_digest():
    digests = ContentDigests(lambda text: text)
    big = NativeRecord("1", {"Name": 2**70})  # past 64 bits: orjson refuses it
    text = digests.digests(PARTNERS, [big])["1"]
    expected = [native_value(big.fields, n) for n in native_fields(PARTNERS, "in")]
    assert 2**70 in expected and json.loads(text[text.index("[") :]) == expected
    assert digests.digests(PARTNERS, [NativeRecord("1", {"Name": 2**70})])["1"] == text


def test_an_event_row_gets_the_digest_of_its_content_and_a_deletion_gets_none():
    digests = ContentDigests(lambda text: text)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    event = NativeRecord("e", {"Name": "A"}, event=EventMeta(at=at, status="1"))
    snapshot = NativeRecord("e", {"Name": "A"})
    changed = NativeRecord("e", {"Name": "B"}, event=EventMeta(at=at, status="1"))
    gone = NativeRecord("d", {"Name": "A"}, deleted=True)
    found = digests.digests(PARTNERS, [event, gone])
    assert list(found) == ["e"]
    assert found["e"] == digests.digests(PARTNERS, [snapshot])["e"]
    assert digests.digests(PARTNERS, [changed])["e"] != found["e"]


def test_only_live_records_without_our_key_are_written_back_and_only_by_a_capable_connector():
    records = [
        NativeRecord("1", {"Name": "A"}),
        NativeRecord("2", {"Name": "B", "Refsync_Id__c": "par_2"}),
        NativeRecord("3", {"Name": "C"}, deleted=True),
        NativeRecord("4", {"Name": "D"}),
    ]
    pairs = unkeyed(PARTNERS, records, {"1": "par_1", "2": "par_2", "3": "par_3", "4": None})
    assert pairs == [("1", "par_1")]
    assert backfill_keys(None, PARTNERS, pairs).written == 0
