"""The straight-line reader compiled per entity mapping reads as the transform chain and
pydantic do: the same values, the same canonical defaults, the same record errors."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import TypeAdapter, ValidationError

from mapping.errors import TransformError
from mapping.model import Stage
from mapping.spec import EntityMapping, resolve_path
from mapping.transforms import INBOUND_ON_TEXT, TransformContext, compile_chain, parse_step
from mapping.transforms import to_canonical as chain_to_canonical
from mapping.translate import to_canonical
from tests.mapping.test_translate_compiled import SAMPLES

PARTNER_FIELDS: list[dict[str, Any]] = [
    {"canonical": "name", "native": "Name", "transforms": ["strip", {"truncate": 255}]},
    {"canonical": "phone", "native": "Phone", "transforms": ["phone"]},
    {"canonical": "address.city", "native": "City", "transforms": ["lower", "strip"]},
    {"canonical": "address.state", "native": "Parent.State", "transforms": ["upper"]},
    {"canonical": "npi", "native": "NPI__c", "transforms": ["npi"]},
    {"canonical": "kind", "native": "Kind__c"},
    {"canonical": "tier", "native": "Tier__c", "transforms": [{"default": "B"}, "strip"]},
    {"canonical": "service_lines", "native": "Lines__c", "transforms": [{"join": ";"}]},
]

REFERRAL_FIELDS: list[dict[str, Any]] = [
    {"canonical": "referral_number", "native": "Number__c", "transforms": ["strip"]},
    {"canonical": "received_at", "native": "Received__c", "transforms": ["datetime"]},
    {
        "canonical": "urgency",
        "native": "Urgency__c",
        "transforms": [{"value_map": {"routine": "Routine", "urgent": "Urgent"}}],
    },
    {"canonical": "documents_received", "native": "Docs__c", "transforms": [{"join": ";"}]},
    {"canonical": "patient_ref", "native": "Patient__c", "transforms": [{"truncate": 64}]},
]


def _mapping(entity: str, obj: str, fields: list[dict[str, Any]], **more: Any) -> EntityMapping:
    raw = {"object": obj, "key": "Key__c", "fields": fields, **more}
    return EntityMapping.model_validate(raw).for_entity(entity)


def _reference(entity: str, field: dict[str, Any], value: Any) -> tuple[str, Any]:
    """What one field reads as, the slow way: the chain, then pydantic (or the default)."""
    steps = [parse_step(s) for s in field.get("transforms", [])]
    try:
        value = chain_to_canonical(steps, value, TransformContext())
    except TransformError:
        return "error", None
    info = resolve_path(entity, field["canonical"])
    annotation: Any = (
        Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    )
    try:
        return "ok", TypeAdapter(annotation).validate_python(value)
    except ValidationError:
        if value is None and not info.is_required():
            return "ok", info.get_default(call_default_factory=True)
        return "error", None


@pytest.mark.parametrize(
    ("entity", "obj", "fields"),
    [("partner", "Account", PARTNER_FIELDS), ("referral", "Referral__c", REFERRAL_FIELDS)],
)
def test_every_field_reads_each_sample_as_its_chain_and_pydantic_do(
    entity: str, obj: str, fields: list[dict[str, Any]]
) -> None:
    em = _mapping(entity, obj, fields)
    for value in SAMPLES:
        native: dict[str, Any] = {"Key__c": "k-1"}
        for f in fields:
            native[f["native"]] = value
        result = to_canonical(em, native, TransformContext())
        failed = {e.field for e in result.errors}
        for f in fields:
            status, expected = _reference(entity, f, value)
            if status == "error":
                assert f["canonical"] in failed, (f, value)
                assert f["canonical"] not in result.values, (f, value)
            else:
                got = result.values[f["canonical"]]
                assert (got, type(got)) == (expected, type(expected)), (f, value)
        assert all(e.key == "k-1" for e in result.errors)


def test_a_dotted_native_path_is_read_through_the_relation_when_not_a_flat_key() -> None:
    em = _mapping("partner", "Account", PARTNER_FIELDS[3:4])
    nested = to_canonical(em, {"Key__c": "p-1", "Parent": {"State": "il"}}, TransformContext())
    flat = to_canonical(em, {"Key__c": "p-1", "Parent.State": "il"}, TransformContext())
    empty = to_canonical(em, {"Key__c": "p-1", "Parent": None}, TransformContext())
    absent = to_canonical(em, {"Key__c": "p-1"}, TransformContext())
    assert nested.values == flat.values == {"id": "p-1", "address.state": "IL"}
    assert empty.values == {"id": "p-1", "address.state": None}
    assert absent.values == {"id": "p-1"}


@pytest.mark.parametrize("key", [None, "", 7, "p-1"])
def test_the_record_key_reads_as_text_and_a_blank_key_sets_no_id(key: Any) -> None:
    em = _mapping("partner", "Account", PARTNER_FIELDS[:1])
    result = to_canonical(em, {"Key__c": key, "Name": " A "}, TransformContext())
    expected = {} if key in (None, "") else {"id": str(key)}
    assert result.values == {**expected, "name": "A"}


def test_the_stage_reads_through_inbound_first_then_the_first_mapped_stage() -> None:
    stage = {
        "native": "Stage__c",
        "map": {"referred": "Open", "accepted": "Open", "completed": "Done", "declined": None},
        "inbound": {"Closed Won": "completed", "Done": "cancelled"},
    }
    em = _mapping("referral", "Referral__c", [], stage=stage)
    expected: dict[Any, Stage | None] = {
        "Open": Stage.REFERRED,
        "Done": Stage.CANCELLED,
        "Closed Won": Stage.COMPLETED,
        "": None,
        None: None,
    }
    for value, stage_value in expected.items():
        result = to_canonical(em, {"Key__c": "r-1", "Stage__c": value}, TransformContext())
        assert (result.stage, result.errors) == (stage_value, []), value
    for unknown in ("open", "Nope", 3, ["Open"]):
        result = to_canonical(em, {"Key__c": "r-1", "Stage__c": unknown}, TransformContext())
        assert result.stage is None
        assert [(e.code, e.field, e.key) for e in result.errors] == [
            ("UNKNOWN_STAGE", "stage", "r-1")
        ]


@pytest.mark.parametrize("name", sorted(INBOUND_ON_TEXT))
def test_each_inlined_text_form_returns_what_its_inbound_step_returns(name: str) -> None:
    raw = {"truncate": 3} if name == "truncate" else name
    (step,) = compile_chain([parse_step(raw)], outbound=False)
    for text in ("", " a ", "Lakeside Family", "ÉCOLE  "):
        expected = step.fn(text, step.args, TransformContext())
        assert eval(INBOUND_ON_TEXT[name], {"v": text}) == expected


def test_native_names_are_read_as_names_never_run_as_code() -> None:
    odd = "x'] if True else 0; raise SystemExit; ['"
    em = _mapping("partner", "Account", [{"canonical": "name", "native": odd}])
    result = to_canonical(em, {"Key__c": "p-1", odd: "Lakeside"}, TransformContext())
    assert result.values == {"id": "p-1", "name": "Lakeside"}
