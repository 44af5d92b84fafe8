"""The compiled inbound path gives pydantic's answers and the transform chain's errors."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter, ValidationError

from mapping._validators import field_validator
from mapping.errors import TransformError
from mapping.model import PartnerKind
from mapping.npi import is_valid_npi
from mapping.spec import EntityMapping, resolve_path
from mapping.transforms import TransformContext, bind_chain, compile_chain, parse_step
from mapping.transforms import to_canonical as chain_to_canonical
from mapping.translate import to_canonical

SAMPLES: list[Any] = [
    None,
    "",
    " ",
    "Lakeside",
    " Lakeside ",
    "x" * 300,
    "1234567893",
    "1234567898",
    " 1234567893 ",
    "active",
    "pcp_practice",
    "PCP Practice",
    PartnerKind.HOSPITAL,
    ["cardiology", "sleep"],
    ["cardiology", 3],
    ("cardiology",),
    [],
    3,
    2.5,
    True,
    dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC),
    dt.datetime(2024, 5, 1, 10, tzinfo=ZoneInfo("America/Chicago")),
    dt.datetime(2024, 5, 1, 10),
    dt.date(2024, 5, 1),
    "2024-05-01T10:00:00Z",
    {"a": 1},
]

FIELDS = [
    ("partner", "name"),
    ("partner", "phone"),
    ("partner", "npi"),
    ("partner", "kind"),
    ("partner", "relationship_status"),
    ("partner", "service_lines"),
    ("partner", "address.city"),
    ("referral", "referral_number"),
    ("referral", "received_at"),
    ("referral", "appointment_at"),
    ("referral", "urgency"),
    ("referral", "documents_received"),
    ("clinician", "npi"),
    ("clinician", "role"),
]


def _pydantic(entity: str, path: str, value: Any) -> tuple[str, Any]:
    info = resolve_path(entity, path)
    annotation: Any = info.annotation
    if info.metadata:
        annotation = Annotated[(annotation, *info.metadata)]
    try:
        return "ok", TypeAdapter(annotation).validate_python(value)
    except ValidationError as exc:
        return "error", [e["msg"] for e in exc.errors(include_input=False)]


def _ours(entity: str, path: str, value: Any) -> tuple[str, Any]:
    try:
        return "ok", field_validator(entity, path)(value)
    except ValidationError as exc:
        return "error", [e["msg"] for e in exc.errors(include_input=False)]


@pytest.mark.parametrize(("entity", "path"), FIELDS)
def test_each_field_validator_returns_what_pydantic_returns_for_every_sample(
    entity: str, path: str
) -> None:
    for value in SAMPLES:
        expected = _pydantic(entity, path, value)
        got = _ours(entity, path, value)
        assert got == expected, (entity, path, value)
        assert type(got[1]) is type(expected[1]), (entity, path, value)


def test_a_validated_list_is_a_new_list_not_the_callers() -> None:
    lines = ["cardiology"]
    assert field_validator("partner", "service_lines")(lines) is not lines


def test_the_npi_check_is_cached_and_still_refuses_a_bad_check_digit() -> None:
    is_valid_npi.cache_clear()
    assert [is_valid_npi(v) for v in ("1234567893", "1234567893", "1234567898")] == [
        True,
        True,
        False,
    ]
    assert is_valid_npi.cache_info().hits == 1


@pytest.mark.parametrize(
    "raw",
    [["strip"], [{"truncate": 3}], ["strip", {"truncate": 3}], ["lower", "strip", {"truncate": 4}]],
)
def test_a_bound_chain_gives_the_run_chain_result(raw: list[Any]) -> None:
    steps = [parse_step(r) for r in raw]
    bound = bind_chain(compile_chain(steps, outbound=False), "name")
    ctx = TransformContext()
    for value in (None, " Lakeside ", "AB"):
        assert bound(value, ctx, "p-1") == chain_to_canonical(steps, value, ctx)


def test_a_failing_step_of_a_bound_chain_names_the_step_field_and_key_never_the_value() -> None:
    steps = [parse_step("strip"), parse_step({"truncate": 3})]
    bound = bind_chain(compile_chain(steps, outbound=False), "name")
    with pytest.raises(TransformError) as info:
        bound(["Secret Name"], TransformContext(), "p-7")
    err = info.value
    # Inbound runs the chain last step first; truncate reads as is, so strip refuses the list.
    assert (err.code, err.field, err.key) == ("TRANSFORM_STRIP", "name", "p-7")
    assert "Secret" not in str(err)


def test_a_malformed_field_is_a_record_error_and_the_other_fields_are_read() -> None:
    em = EntityMapping.model_validate(
        {
            "object": "Account",
            "key": "Refsync_Id__c",
            "fields": [
                {"canonical": "name", "native": "Name", "transforms": ["strip"]},
                {"canonical": "npi", "native": "NPI__c", "transforms": ["npi"]},
                {"canonical": "kind", "native": "Kind__c"},
            ],
        }
    ).for_entity("partner")
    result = to_canonical(
        em,
        {
            "Refsync_Id__c": "p-1",
            "Name": " Lakeside ",
            "NPI__c": "1234567898",
            "Kind__c": "pcp_practice",
        },
        TransformContext(),
    )
    assert result.values == {"id": "p-1", "name": "Lakeside", "kind": PartnerKind.PCP_PRACTICE}
    assert [(e.field, e.key) for e in result.errors] == [("npi", "p-1")]
