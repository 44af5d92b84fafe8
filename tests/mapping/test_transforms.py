"""The transform registry: step parsing, chains, text/value transforms, and malformed values."""

from __future__ import annotations

from datetime import date

import pytest

from mapping.errors import RecordError, TransformError
from mapping.model import Stage
from mapping.transforms import (
    TRANSFORM_DOCS,
    TRANSFORM_NAMES,
    TransformContext,
    TransformStep,
    parse_step,
    to_canonical,
    to_native,
)

CANARY = "CANARY-ZELDA-0100"
CTX = TransformContext(timezone="America/Chicago", field="partner.name", key="P-1")


def out(raw, value, ctx=CTX):
    return to_native([parse_step(r) for r in raw], value, ctx)


def into(raw, value, ctx=CTX):
    return to_canonical([parse_step(r) for r in raw], value, ctx)


# -- parsing steps -------------------------------------------------------------------------


def test_registry_holds_every_transform_the_issue_names():
    required = {
        "value_map",
        "date",
        "datetime",
        "strip",
        "upper",
        "lower",
        "default",
        "truncate",
        "join",
        "split",
        "phone",
        "npi",
        "boolean",
        "number",
        "int",
        "ref",
        "json",
        "prefix",
        "suffix",
    }
    assert required <= TRANSFORM_NAMES
    assert set(TRANSFORM_DOCS) == TRANSFORM_NAMES


def test_bare_name_and_one_key_mapping_both_parse():
    assert parse_step("strip") == TransformStep(name="strip")
    step = parse_step({"truncate": 255})
    assert (step.name, step.args) == ("truncate", 255)
    assert step.as_yaml() == {"truncate": 255}
    assert parse_step("strip").as_yaml() == "strip"


def test_unknown_transform_lists_the_closest_match_first():
    with pytest.raises(ValueError, match="unknown transform 'trunc'") as info:
        parse_step("trunc")
    message = str(info.value)
    assert "did you mean 'truncate'" in message
    known = message.split("Known transforms: ")[1].split(", ")
    assert known[0] == "truncate"
    assert set(known) == TRANSFORM_NAMES


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"truncate": "long"}, "transform 'truncate': length"),
        ({"truncate": 0}, "at least 1"),
        ({"truncate": True}, "whole number"),
        ("truncate", "transform 'truncate'"),
        ({"value_map": 3}, "transform 'value_map'"),
        ({"value_map": {}}, "transform 'value_map'"),
        ({"value_map": {"map": {"a": "A"}, "stric": True}}, "value_map"),
        ({"date": "dd/mm"}, "unknown format 'dd/mm'"),
        ({"date": "iso_local"}, "unknown format 'iso_local'"),
        ({"datetime": {"format": "iso", "timezone": "Mars/Olympus"}}, "unknown time zone"),
        ({"ref": "patient"}, "unknown entity 'patient'"),
        ("default", "needs the value"),
        ({"strip": True}, "takes no arguments"),
        ({"phone": "dots"}, "format must be"),
        ({"boolean": {"yes": "Y"}}, "true and false"),
        ({"join": ""}, "separator must not be empty"),
        ({"number": "text"}, "to send text"),
        ({"int": {"strng": True}}, "strng"),
        ({"prefix": ""}, "non-empty text"),
        ({"a": 1, "b": 2}, "exactly one key"),
        (42, "a transform step is a name"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_problem(raw, expected):
    with pytest.raises(ValueError, match=expected):
        parse_step(raw)


def test_transform_step_validates_yaml_shapes_inside_other_models():
    assert TransformStep.model_validate({"join": ";"}).name == "join"
    with pytest.raises(ValueError, match="unknown transform 'uper'"):
        TransformStep.model_validate("uper")


# -- chains ---------------------------------------------------------------------------------


def test_outbound_runs_in_order_and_inbound_runs_inverses_in_reverse():
    steps = [parse_step("strip"), parse_step({"prefix": "RS-"}), parse_step({"suffix": "-X"})]
    assert to_native(steps, "  42 ", CTX) == "RS-42-X"
    assert to_canonical(steps, "RS-42-X", CTX) == "42"


def test_none_passes_through_every_transform_except_default():
    for name in sorted(TRANSFORM_NAMES - {"default"}):
        step = TransformStep(name=name, args=_sample_args(name))
        assert to_native([step], None, CTX) is None, name
        assert to_canonical([step], None, CTX) is None, name
    assert out([{"default": "routine"}], None) == "routine"
    assert into([{"default": "routine"}], "  ") == "routine"
    assert into([{"default": "routine"}], "urgent") == "urgent"


def _sample_args(name):
    return {
        "value_map": {"a": "A"},
        "default": "x",
        "truncate": 3,
        "prefix": "p",
        "suffix": "s",
        "ref": "partner",
    }.get(name)


# -- text -----------------------------------------------------------------------------------


def test_strip_upper_lower_normalise_in_both_directions():
    assert out(["strip", "upper"], " tx ") == "TX"
    assert into(["strip", "lower"], " ABC ") == "abc"


def test_truncate_cuts_outbound_only():
    """Failure catalogue: H4."""
    assert out([{"truncate": 5}], "abcdefgh") == "abcde"
    assert out([{"truncate": {"length": 2}}], "abc") == "ab"
    assert into([{"truncate": 5}], "abcdefgh") == "abcdefgh"


def test_join_makes_a_multipicklist_and_split_reads_it_back():
    """Failure catalogue: H1."""
    assert out(["join"], ["Cardiology", "Oncology"]) == "Cardiology;Oncology"
    assert into(["join"], "Cardiology; Oncology;;") == ["Cardiology", "Oncology"]
    assert out(["join"], []) == ""
    assert into(["join"], "") == []
    assert out([{"split": ","}], "a, b") == ["a", "b"]
    assert into([{"split": ","}], ["a", "b"]) == "a,b"


def test_join_refuses_an_item_that_contains_the_separator():
    with pytest.raises(TransformError, match="contains the separator"):
        out(["join"], ["a;b"])


def test_json_dumps_stably_and_loads_back():
    rules = [{"type": "required_field", "field": "clinician_id"}, {"b": 2, "a": date(2024, 1, 1)}]
    text = out(["json"], rules)
    assert text == '[{"field":"clinician_id","type":"required_field"},{"a":"2024-01-01","b":2}]'
    assert into(["json"], text) == [
        {"field": "clinician_id", "type": "required_field"},
        {"a": "2024-01-01", "b": 2},
    ]
    assert into(["json"], "") is None


# -- value_map --------------------------------------------------------------------------------


STATUS_MAP = {"value_map": {"prospect": "Prospect", "active": "Active", "dormant": "Dormant"}}


def test_value_map_maps_out_and_reverses_in():
    assert out([STATUS_MAP], "active") == "Active"
    assert into([STATUS_MAP], "Active") == "active"


def test_value_map_finds_enum_members_by_their_value():
    step = {"value_map": {"no_show": "No Show", "completed": "Completed"}}
    assert out([step], Stage.NO_SHOW) == "No Show"


def test_value_map_inbound_ignores_case_and_spacing():
    assert into([STATUS_MAP], "  ACTIVE ") == "active"


def test_value_map_full_form_allows_many_to_one_inbound_and_defaults():
    step = {
        "value_map": {
            "map": {"routine": "Routine", "urgent": "Urgent", "stat": "STAT"},
            "inbound": {"ASAP": "urgent", "Emergent": "stat"},
            "default": "Routine",
            "inbound_default": "routine",
        }
    }
    assert into([step], "ASAP") == "urgent"
    assert into([step], "Urgent") == "urgent"
    assert into([step], "whatever") == "routine"
    assert out([step], "unknown") == "Routine"


def test_value_map_shared_native_value_reads_back_as_the_first_listed():
    step = {"value_map": {"urgent": "High", "stat": "High", "routine": "Low"}}
    assert out([step], "stat") == "High"
    assert into([step], "High") == "urgent"


def test_value_map_non_strict_passes_unknown_values_through():
    step = {"value_map": {"map": {"a": "A"}, "strict": False}}
    assert out([step], "b") == "b"
    assert into([step], "B") == "B"


def test_value_map_strict_error_lists_mapped_values_but_not_the_value():
    with pytest.raises(TransformError) as info:
        into([STATUS_MAP], CANARY)
    assert info.value.code == "TRANSFORM_VALUE_MAP"
    assert "Prospect" in str(info.value)
    assert CANARY not in str(info.value)


# -- boolean / numbers -----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["false", "FALSE", " False ", "0", "no", "N", "off", ""])
def test_boolean_reads_false_words_as_false(text):
    assert into(["boolean"], text) is False


@pytest.mark.parametrize("text", ["true", "TRUE", "1", "yes", "Y", "on", 1, True])
def test_boolean_reads_true_words_as_true(text):
    assert into(["boolean"], text) is True


def test_boolean_outbound_forms():
    """Failure catalogue: H2."""
    assert out(["boolean"], True) is True
    assert out([{"boolean": "string"}], False) == "false"
    custom = {"boolean": {True: "Yes", False: "No"}}
    assert out([custom], True) == "Yes"
    assert into([custom], "no") is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12", 12), ("12.0", 12), ("1.0E3", 1000), (" 7 ", 7), ("9007199254740993", 9007199254740993)],
)
def test_int_reads_whole_numbers_exactly(text, expected):
    assert into(["int"], text) == expected


def test_number_keeps_integers_integral_and_reads_decimals_as_floats():
    assert into(["number"], "00123") == 123
    assert into(["number"], "12.5") == 12.5
    assert into(["number"], "") is None
    assert out([{"number": "string"}], 12.5) == "12.5"
    assert out([{"int": {"string": True}}], 7) == "7"


# -- npi / phone / ref -----------------------------------------------------------------------


def test_npi_validates_in_both_directions():
    assert into(["npi"], " 1234567893 ") == "1234567893"
    assert into(["npi"], 1234567893) == "1234567893"
    assert out(["npi"], "1234567893") == "1234567893"
    with pytest.raises(TransformError, match="Luhn") as info:
        into(["npi"], "1234567898")
    assert "1234567898" not in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "(415) 555-0100",
        "415.555.0100",
        "415-555-0100",
        "+1 415 555 0100",
        "1-415-555-0100",
        "4155550100",
        4155550100,
        "+14155550100",
    ],
)
def test_phone_normalises_us_numbers_to_e164(text):
    assert into(["phone"], text) == "+14155550100"


def test_phone_keeps_extensions_and_formats_national():
    assert into(["phone"], "(415) 555-0100 ext. 12") == "+14155550100;ext=12"
    assert out([{"phone": "national"}], "+14155550100;ext=12") == "(415) 555-0100 ext. 12"
    assert into(["phone"], "+44 20 7946 0958") == "+442079460958"


@pytest.mark.parametrize(
    "text", ["call me", "555-0100", "(015) 555-0100", "1-800-FLOWERS", "+1 (415) 555-010", "12"]
)
def test_phone_rejects_garbage(text):
    with pytest.raises(TransformError) as info:
        into(["phone"], text)
    assert info.value.code == "TRANSFORM_PHONE"


def test_ref_sends_the_canonical_id_and_resolves_native_ids_inbound():
    known = {("partner", "001A"): "partner-7"}
    ctx = TransformContext(
        field="partner_id", key="R-1", resolve_ref=lambda e, v: known.get((e, v))
    )
    assert out([{"ref": "partner"}], "partner-7", ctx) == "partner-7"
    assert into([{"ref": "partner"}], "001A", ctx) == "partner-7"
    assert into([{"ref": "partner"}], "001A") == "001A"  # no resolver: native carries the id
    with pytest.raises(TransformError, match="sync the partner records first") as info:
        into([{"ref": "partner"}], "001B", ctx)
    assert (info.value.field, info.value.key, info.value.code) == (
        "partner_id",
        "R-1",
        "TRANSFORM_REF",
    )


# -- malformed values: a record-level error naming transform and field, never the value -------

MALFORMED = [
    (["strip"], 42, "in"),
    ([{"truncate": 5}], [CANARY], "out"),
    (["join"], CANARY, "out"),
    (["json"], CANARY + "{", "in"),
    (["boolean"], CANARY, "in"),
    (["int"], CANARY, "in"),
    (["int"], "12.5", "in"),
    (["int"], True, "out"),
    (["number"], "nan", "in"),
    (["number"], "1;2", "in"),
    (["npi"], CANARY, "in"),
    (["phone"], CANARY, "in"),
    ([{"value_map": {"a": "A"}}], CANARY, "out"),
    ([{"value_map": {"a": "A"}}], [CANARY], "out"),
    ([{"ref": "partner"}], 42, "out"),
    (["date"], CANARY, "in"),
    (["date"], CANARY, "out"),
    ([{"date": "%m/%d/%Y"}], "13/45/2024", "in"),
    (["datetime"], CANARY, "in"),
    (["datetime"], "2024-03-10T10:00:00", "out"),
    ([{"datetime": "epoch_ms"}], "1710077400", "in"),
    ([{"datetime": "excel"}], "99999999", "in"),
    ([{"prefix": "x"}], 3, "out"),
]


@pytest.mark.parametrize(("raw", "value", "direction"), MALFORMED)
def test_malformed_value_is_a_record_error_naming_field_and_transform(raw, value, direction):
    ctx = TransformContext(field="patient.name", key="R-9")
    run = out if direction == "out" else into
    with pytest.raises(TransformError) as info:
        run(raw, value, ctx)
    err = info.value
    name = parse_step(raw[0]).name
    assert isinstance(err, RecordError)
    assert err.code == f"TRANSFORM_{name.upper()}"
    assert (err.field, err.key) == ("patient.name", "R-9")
    assert f"transform {name!r}" in err.message and "'patient.name'" in err.message
    assert CANARY not in err.message
    assert err.__cause__ is None and err.__suppress_context__


def test_steps_compare_and_hash_by_what_the_admin_wrote():
    a = parse_step({"value_map": {"a": "A", "b": "B"}})
    b = parse_step({"value_map": {"b": "B", "a": "A"}})
    assert a == b and hash(a) == hash(b)
    assert len({a, b, parse_step("strip")}) == 2
    assert a != parse_step({"value_map": {"a": "A"}})
