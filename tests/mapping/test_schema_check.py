"""Online validation: a mapping compared with the live schema a connector describes."""

from __future__ import annotations

from mapping.model import Stage
from mapping.schema import Dialect, FieldSchema, ObjectSchema
from mapping.schema_check import check_against_schema, native_kind
from mapping.spec import EntityMapping

STAGE_LABELS = {s.value: s.value.replace("_", " ").title() for s in Stage}
URGENCIES = ("Routine", "Urgent", "STAT")


# A Salesforce-like dialect, declared here as a connector would (mapping names no vendor).
SF_LIKE = Dialect(
    name="sf-like",
    kinds={"picklist": "string", "reference": "string"},
    lookup_rules=(("__r", "__c"), ("", "Id")),
)


def field(name, type_="string", **kw):
    return FieldSchema(name=name, type=type_, **kw)


def referral_schema(*, drop=(), **overrides):
    fields = {
        "Refsync_Id__c": field("Refsync_Id__c", length=64, external_id=True, unique=True),
        "Referral_Number__c": field("Referral_Number__c", length=40, external_id=True),
        "Reason__c": field("Reason__c", length=255),
        "Received_At__c": field("Received_At__c", "datetime"),
        "Urgency__c": field(
            "Urgency__c", "picklist", picklist_values=URGENCIES, restricted_picklist=True
        ),
        "Stage__c": field(
            "Stage__c",
            "picklist",
            picklist_values=tuple(STAGE_LABELS.values()),
            restricted_picklist=True,
        ),
        "Partner__c": field("Partner__c", "reference", reference_to=("Account",)),
        "CreatedDate": field("CreatedDate", "datetime", createable=False, updateable=False),
    }
    fields.update(overrides)
    for name in drop:
        fields.pop(name)
    return ObjectSchema("Referral__c", fields, dialect=SF_LIKE)


def mapping(fields, *, stage=True, key="Refsync_Id__c"):
    data = {"object": "Referral__c", "key": key, "fields": fields}
    if stage:
        data["stage"] = {
            "native": "Stage__c",
            "map": STAGE_LABELS,
            "inbound": {"Completed": "completed"},
        }
    return EntityMapping.model_validate(data).for_entity("referral")


GOOD = [
    {"canonical": "referral_number", "native": "Referral_Number__c"},
    {"canonical": "reason", "native": "Reason__c", "transforms": [{"truncate": 255}]},
    {"canonical": "received_at", "native": "Received_At__c", "transforms": ["datetime"]},
    {
        "canonical": "urgency",
        "native": "Urgency__c",
        "transforms": [{"value_map": {"routine": "Routine", "urgent": "Urgent", "stat": "STAT"}}],
    },
    {"canonical": "partner_id", "native": "Partner__r.Refsync_Id__c"},
]


def test_a_mapping_that_fits_the_schema_has_no_problems():
    assert check_against_schema(mapping(GOOD), referral_schema(), direction="both") == []


def test_a_missing_native_field_is_named_with_its_object():
    (problem,) = check_against_schema(
        mapping(GOOD), referral_schema(drop=["Reason__c"]), direction="both"
    )
    assert problem.startswith("Referral__c.Reason__c does not exist")


def test_read_only_fields_may_be_read_but_not_written():
    """Failure catalogue: G1."""
    em = mapping([{"canonical": "received_at", "native": "CreatedDate", "direction": "in"}])
    assert check_against_schema(em, referral_schema(), direction="both") == []
    em = mapping([{"canonical": "received_at", "native": "CreatedDate"}])
    (problem,) = check_against_schema(em, referral_schema(), direction="out")
    assert "not createable or updateable" in problem
    # a pure source never writes, so it is fine there
    assert check_against_schema(em, referral_schema(), direction="in") == []


def test_an_incompatible_type_is_reported():
    em = mapping([{"canonical": "reason", "native": "Received_At__c"}])
    (problem,) = check_against_schema(em, referral_schema(), direction="out")
    assert "is a datetime field but referral.reason sends a string" in problem


def test_a_native_field_shorter_than_the_canonical_values_needs_a_truncate():
    """Failure catalogue: H4."""
    schema = referral_schema(Referral_Number__c=field("Referral_Number__c", length=10))
    em = mapping(
        [{"canonical": "reason", "native": "Referral_Number__c", "transforms": [{"truncate": 255}]}]
    )
    (problem,) = check_against_schema(em, schema, direction="out")
    assert "holds 10 characters" in problem and "{truncate: 10}" in problem
    em = mapping(
        [{"canonical": "reason", "native": "Referral_Number__c", "transforms": [{"truncate": 10}]}]
    )
    assert check_against_schema(em, schema, direction="out") == []


def test_enum_values_longer_than_the_field_are_reported():
    schema = referral_schema(Reason__c=field("Reason__c", length=5))
    em = mapping([{"canonical": "urgency", "native": "Reason__c"}])
    (problem,) = check_against_schema(em, schema, direction="out")
    assert "may send 7" in problem  # "routine"


def test_stage_targets_must_exist_in_the_picklist():
    em = mapping(GOOD)
    labels = tuple(v for v in STAGE_LABELS.values() if v != "No Show")
    schema = referral_schema(
        Stage__c=field("Stage__c", "picklist", picklist_values=labels, restricted_picklist=True)
    )
    (problem,) = check_against_schema(em, schema, direction="out")
    assert "has no value 'No Show'" in problem and "no_show" in problem


def test_inbound_stage_values_must_exist_when_the_connection_is_read():
    em = EntityMapping.model_validate(
        {
            "object": "Referral__c",
            "key": "Refsync_Id__c",
            "stage": {"native": "Stage__c", "map": STAGE_LABELS, "inbound": {"Seen": "completed"}},
        }
    ).for_entity("referral")
    (problem,) = check_against_schema(em, referral_schema(), direction="in")
    assert "'Seen'" in problem and "stage.inbound" in problem


def test_value_map_targets_must_exist_in_a_restricted_picklist():
    """Failure catalogue: H1."""
    fields = [
        {
            "canonical": "urgency",
            "native": "Urgency__c",
            "transforms": [
                {"value_map": {"map": {"routine": "Routine", "urgent": "Urgent", "stat": "Stat"}}}
            ],
        }
    ]
    (problem,) = check_against_schema(mapping(fields), referral_schema(), direction="out")
    assert "no picklist value 'Stat'" in problem


def test_free_text_into_a_restricted_picklist_needs_a_value_map():
    fields = [{"canonical": "reason", "native": "Urgency__c"}]
    (problem,) = check_against_schema(mapping(fields), referral_schema(), direction="out")
    assert "restricted picklist" in problem and "value_map" in problem


def test_a_written_key_must_be_an_external_id_or_unique():
    em = mapping(GOOD, key="Reason__c")
    problems = check_against_schema(em, referral_schema(), direction="both")
    assert any(
        "Reason__c is the match key but is neither an external id nor unique" in p for p in problems
    )
    em = mapping([], stage=False, key="Reason__c")
    assert check_against_schema(em, referral_schema(), direction="in") == []


def test_relations_need_their_lookup_field_and_an_external_id_on_the_far_side():
    em = mapping([{"canonical": "partner_id", "native": "Partner__r.Refsync_Id__c"}], stage=False)
    (problem,) = check_against_schema(em, referral_schema(drop=["Partner__c"]), direction="out")
    assert "Referral__c.Partner__c (the lookup behind Partner__r)" in problem
    account = ObjectSchema("Account", {"Refsync_Id__c": field("Refsync_Id__c")}, dialect=SF_LIKE)
    (problem,) = check_against_schema(
        em, referral_schema(), direction="out", related={"Account": account}
    )
    assert "Account.Refsync_Id__c is used to match Partner__r but is not an external id" in problem


def test_native_types_fall_into_coarse_kinds_through_the_connectors_dialect():
    assert native_kind("picklist", SF_LIKE) == "string"
    assert native_kind("Reference", SF_LIKE) == "string"
    assert native_kind("datetime") == "datetime"
    assert native_kind("boolean") == "boolean"
    assert native_kind("mystery") is None
    assert native_kind("picklist") is None  # a vendor type name means nothing without its dialect


def test_a_dynamics_style_lookup_is_checked_with_the_connectors_lookup_rule():
    dynamics = Dialect(name="dynamics-like", lookup_rules=(("", "_value"),))
    schema = ObjectSchema(
        "referral",
        {
            "refsync_id": field("refsync_id", external_id=True, unique=True),
            "parentaccount_value": field(
                "parentaccount_value", "lookup", reference_to=("account",)
            ),
        },
        dialect=dynamics,
    )
    fields = [{"native": "parentaccount.refsync_id", "canonical": "partner_id"}]
    em = mapping(fields, stage=False, key="refsync_id")
    assert check_against_schema(em, schema, direction="out") == []


def test_a_flat_dotted_key_is_left_alone_only_where_the_dialect_declares_it():
    flat = Dialect(name="assoc-like", flat_prefixes=("links.",))
    fields = [{"native": "links.company", "canonical": "partner_id"}]
    em = mapping(fields, stage=False, key="Refsync_Id__c")
    plain = referral_schema()
    (problem,) = check_against_schema(em, plain, direction="out")
    assert "the lookup behind links" in problem
    as_flat = ObjectSchema(plain.name, plain.fields, dialect=flat)
    assert check_against_schema(em, as_flat, direction="out") == []
