"""Canonical <-> native translation: shapes, record-level errors, hashes and round trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mapping.errors import RecordError, TransformError
from mapping.model import Partner, Referral, RelationshipStatus, Stage, Urgency
from mapping.schema import Dialect
from mapping.spec import MappingSpec
from mapping.transforms import TransformContext
from mapping.translate import content_hash, native_fields, to_canonical, to_native

CTX = TransformContext(timezone="America/Chicago")
CANARY = "CANARY-MRN-778899"

STATUS_MAP = {s.value: s.value.title() for s in RelationshipStatus}
URGENCY_MAP = {"routine": "Routine", "urgent": "Urgent", "stat": "STAT"}
STAGE_MAP = {s.value: s.value.replace("_", " ").title() for s in Stage}

SPEC = MappingSpec.model_validate(
    {
        "system": "salesforce",
        "entities": {
            "partner": {
                "object": "Account",
                "key": "Refsync_Id__c",
                "fields": [
                    {
                        "canonical": "name",
                        "native": "Name",
                        "transforms": ["strip", {"truncate": 255}],
                    },
                    {
                        "canonical": "relationship_status",
                        "native": "Relationship_Status__c",
                        "transforms": [{"value_map": STATUS_MAP}],
                    },
                    {
                        "canonical": "service_lines",
                        "native": "Service_Lines__c",
                        "transforms": [{"join": ";"}],
                    },
                    {"canonical": "address.city", "native": "BillingCity"},
                    {
                        "canonical": "referrals_total",
                        "native": "Referrals_Total__c",
                        "direction": "out",
                    },
                    {
                        "canonical": "last_referral_at",
                        "native": "Last_Referral_At__c",
                        "transforms": ["datetime"],
                    },
                    {"canonical": "tier", "native": "Tier__c", "direction": "in"},
                ],
            },
            "referral": {
                "object": "Referral__c",
                "key": "Refsync_Id__c",
                "fields": [
                    {"canonical": "referral_number", "native": "Referral_Number__c"},
                    {"canonical": "partner_id", "native": "Partner__r.Refsync_Id__c"},
                    {
                        "canonical": "urgency",
                        "native": "Urgency__c",
                        "transforms": [{"value_map": URGENCY_MAP}],
                    },
                    {
                        "canonical": "received_at",
                        "native": "Received_At__c",
                        "transforms": ["datetime"],
                    },
                    {
                        "canonical": "documents_received",
                        "native": "Documents_Received__c",
                        "transforms": [{"join": ";"}],
                    },
                ],
                "stage": {"native": "Stage__c", "map": STAGE_MAP, "inbound": {"Seen": "completed"}},
            },
            "clinician": {
                "object": "contacts",
                "key": "refsync_id",
                "fields": [
                    {"canonical": "last_name", "native": "lastname"},
                    {"canonical": "partner_id", "native": "associations.companies"},
                ],
            },
        },
    }
)
PARTNER = SPEC.entities["partner"]
REFERRAL = SPEC.entities["referral"]


def test_outbound_sends_only_out_fields_and_the_key_carries_the_canonical_id():
    partner = Partner(id="P-1", name="  Lakeside  ", tier="gold", referrals_total=4)
    native = to_native(PARTNER, partner, CTX)
    assert native["Refsync_Id__c"] == "P-1"
    assert native["Name"] == "Lakeside"
    assert native["Relationship_Status__c"] == "Prospect"
    assert native["Referrals_Total__c"] == 4
    assert "Tier__c" not in native  # direction in


def test_dotted_native_paths_nest_and_the_dialects_flat_prefixes_stay_flat():
    referral = Referral(id="R-1", referral_number="N-1", partner_id="P-1", stage=Stage.SCHEDULED)
    native = to_native(REFERRAL, referral, CTX)
    assert native["Partner__r"] == {"Refsync_Id__c": "P-1"}
    assert native["Stage__c"] == "Scheduled"
    clinician = {"id": "C-1", "last_name": "Ng", "partner_id": "P-1"}
    flat = Dialect(name="assoc-like", flat_prefixes=("associations.",))
    hub = to_native(SPEC.entities["clinician"], clinician, CTX, flat)
    assert hub == {"lastname": "Ng", "associations.companies": "P-1", "refsync_id": "C-1"}
    nested = to_native(SPEC.entities["clinician"], clinician, CTX)
    assert nested["associations"] == {"companies": "P-1"}


def test_an_empty_relation_is_left_out_rather_than_sent_as_null():
    native = to_native(REFERRAL, Referral(id="R-1", referral_number="N-1"), CTX)
    assert "Partner__r" not in native


def test_a_stage_without_a_native_target_is_a_record_error_naming_the_stage():
    spec = REFERRAL.model_copy(
        update={"stage": REFERRAL.stage.model_copy(update={"map": {Stage.REFERRED: "Referred"}})}
    ).for_entity("referral")
    with pytest.raises(TransformError) as info:
        to_native(spec, Referral(id="R-9", referral_number="N", stage=Stage.NO_SHOW), CTX)
    assert info.value.field == "stage" and info.value.key == "R-9"
    assert isinstance(info.value, RecordError)


def test_a_value_that_cannot_be_transformed_out_names_field_and_key():
    with pytest.raises(TransformError) as info:
        to_native(PARTNER, {"id": "P-2", "name": "x", "service_lines": ["a;b"]}, CTX)
    assert (info.value.field, info.value.key) == ("service_lines", "P-2")


def test_inbound_reads_nested_relations_and_the_stage():
    native = {
        "Refsync_Id__c": "R-1",
        "Referral_Number__c": "N-1",
        "Partner__r": {"attributes": {"type": "Account"}, "Refsync_Id__c": "P-1"},
        "Stage__c": "Seen",
        "Urgency__c": "STAT",
    }
    record = to_canonical(REFERRAL, native, CTX)
    assert record.ok
    assert record.values == {
        "id": "R-1",
        "referral_number": "N-1",
        "partner_id": "P-1",
        "urgency": Urgency.STAT,
    }
    assert record.stage is Stage.COMPLETED


def test_an_empty_relation_reads_as_none_and_absent_fields_are_left_out():
    record = to_canonical(REFERRAL, {"Refsync_Id__c": "R-1", "Partner__r": None}, CTX)
    assert record.values == {"id": "R-1", "partner_id": None}
    assert record.stage is None


def test_malformed_values_become_record_errors_naming_the_field_never_the_value():
    native = {
        "Refsync_Id__c": "R-7",
        "Referral_Number__c": "",  # canonical requires at least one character
        "Received_At__c": CANARY,
        "Urgency__c": "Whenever",
        "Stage__c": "Limbo",
    }
    record = to_canonical(REFERRAL, native, CTX)
    fields = sorted(e.field for e in record.errors)
    assert fields == ["received_at", "referral_number", "stage", "urgency"]
    assert all(e.key == "R-7" for e in record.errors)
    assert all(CANARY not in e.message and "Limbo" not in e.message for e in record.errors)
    assert "received_at" not in record.values


def test_a_value_of_the_wrong_canonical_type_is_a_record_error():
    spec = MappingSpec.model_validate(
        {
            "system": "x",
            "entities": {
                "partner": {
                    "object": "A",
                    "key": "K",
                    "fields": [{"canonical": "referrals_total", "native": "Total"}],
                }
            },
        }
    )
    record = to_canonical(spec.entities["partner"], {"K": "P", "Total": "many"}, CTX)
    (error,) = record.errors
    assert error.field == "referrals_total" and error.code == "INVALID_VALUE"
    assert "many" not in error.message


def test_native_fields_list_what_to_select_with_relations_and_stage():
    assert native_fields(REFERRAL, "in") == [
        "Refsync_Id__c",
        "Referral_Number__c",
        "Partner__r.Refsync_Id__c",
        "Urgency__c",
        "Received_At__c",
        "Documents_Received__c",
        "Stage__c",
    ]
    assert "Tier__c" in native_fields(PARTNER, "in")
    assert "Tier__c" not in native_fields(PARTNER, "out")
    assert "Referrals_Total__c" not in native_fields(PARTNER, "in")


def test_content_hash_ignores_key_order_and_sees_every_change():
    a = {"Name": "A", "Nested": {"x": 1, "y": datetime(2024, 1, 1, tzinfo=UTC)}}
    b = {"Nested": {"y": datetime(2024, 1, 1, tzinfo=UTC), "x": 1}, "Name": "A"}
    assert content_hash(a) == content_hash(b)
    assert len(content_hash(a)) == 64
    assert content_hash(a) != content_hash({**a, "Name": "B"})
    assert content_hash({"x": None}) != content_hash({})


# -- round trips -----------------------------------------------------------------------

_text = (
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=";"),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)
_instants = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))


@settings(max_examples=150, deadline=None)
@given(
    name=_text,
    status=st.sampled_from(RelationshipStatus),
    lines=st.lists(_text, max_size=5),
    city=st.none() | _text,
    last=st.none() | _instants,
)
def test_partners_survive_canonical_native_canonical(name, status, lines, city, last):
    partner = Partner(
        id="P-1",
        name=name,
        relationship_status=status,
        service_lines=lines,
        address={"city": city},
        last_referral_at=last,
    )
    back = to_canonical(PARTNER, to_native(PARTNER, partner, CTX), CTX)
    assert back.ok
    assert back.values == {
        "id": "P-1",
        "name": name,
        "relationship_status": status,
        "service_lines": lines,
        "address.city": city,
        "last_referral_at": last,
    }


@settings(max_examples=150, deadline=None)
@given(
    number=_text,
    stage=st.sampled_from(Stage),
    urgency=st.sampled_from(Urgency),
    received=st.none() | _instants.map(lambda d: d.astimezone(UTC) + timedelta(0)),
    docs=st.lists(_text, max_size=4),
    partner=st.none() | _text,
)
def test_referrals_survive_canonical_native_canonical(
    number, stage, urgency, received, docs, partner
):
    referral = Referral(
        id="R-1",
        referral_number=number,
        stage=stage,
        urgency=urgency,
        received_at=received,
        documents_received=docs,
        partner_id=partner,
    )
    native = to_native(REFERRAL, referral, CTX)
    back = to_canonical(REFERRAL, native, CTX)
    assert back.ok and back.stage is stage
    expected = {
        "id": "R-1",
        "referral_number": number,
        "urgency": urgency,
        "received_at": received,
        "documents_received": docs,
    }
    if partner is not None:  # an empty relation is not sent
        expected["partner_id"] = partner
    assert back.values == expected
    assert content_hash(native) == content_hash(to_native(REFERRAL, referral, CTX))
