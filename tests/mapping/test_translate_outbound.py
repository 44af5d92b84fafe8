"""The straight-line writer compiled per entity mapping gives what the field-by-field
reference gives: the same native record (keys in the same order) or the same error."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.hubspot.describe import HUBSPOT_DIALECT
from connectors.salesforce.describe import SALESFORCE_DIALECT
from connectors.warehouse.tables import WAREHOUSE_DIALECT
from mapping._outbound import OUTBOUND_ON_TEXT
from mapping.errors import TransformError
from mapping.model import Stage
from mapping.schema import GENERIC, Dialect
from mapping.spec import EntityMapping, MappingSpec
from mapping.transforms import TransformContext, compile_chain, parse_step
from mapping.translate import reference_to_native, to_native
from tests.mapping.test_translate_compiled import SAMPLES

TEMPLATES = Path(__file__).resolve().parents[2] / "config" / "templates" / "mappings"
DIALECTS: list[Dialect] = [GENERIC, SALESFORCE_DIALECT, HUBSPOT_DIALECT, WAREHOUSE_DIALECT]
CTX = TransformContext(timezone="America/Chicago")


def _shipped() -> list[tuple[str, EntityMapping]]:
    found = []
    for path in sorted(TEMPLATES.glob("*.yaml")):
        spec = MappingSpec.model_validate(yaml.safe_load(path.read_text()))
        found += [(f"{path.stem}:{name}", em) for name, em in spec.entities.items()]
    return found


SHIPPED = _shipped()
EXTRA = [*SAMPLES, "ÉCOLE  ", "\u2603 snow", "🙂", 0, -1, 1e300, float("nan"), "not-a-stage"]
EXTRA += [SimpleNamespace(city="Chicago", state="IL", line1="1 Main St", postal_code="60601")]
EXTRA += [{"x": 1}, [{"x": 1}], dt.time(10, 30), "2024-13-45", "(312) 555-0100", "+44 20 7946 0958"]


def _outcome(fn: Callable[[], dict[str, Any]]) -> tuple[str, Any]:
    try:
        native = fn()
    except TransformError as exc:
        return "error", (type(exc), exc.message, exc.code, exc.field, exc.key)
    except Exception as exc:  # the compiled path must raise what the reference raises
        return "raised", (type(exc), str(exc))
    return "ok", (list(native), repr(native))  # keys in order, values with their types


def _assert_same(em: EntityMapping, record: Any, dialect: Dialect) -> None:
    expected = _outcome(lambda: reference_to_native(em, record, CTX, dialect))
    assert _outcome(lambda: to_native(em, record, CTX, dialect)) == expected


def _put(record: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        record = record.setdefault(part, {})
    record[last] = value


def _paths(em: EntityMapping) -> list[str]:
    return ["id", *(fm.canonical for fm in em.fields if fm.writes), "stage"]


@pytest.mark.parametrize(("name", "em"), SHIPPED, ids=[n for n, _ in SHIPPED])
def test_every_shipped_mapping_writes_each_sample_as_the_reference_does(
    name: str, em: EntityMapping
) -> None:
    for dialect in DIALECTS:
        for value in EXTRA:
            record: dict[str, Any] = {}
            for path in _paths(em):
                _put(record, path, value)
            _assert_same(em, record, dialect)
            _assert_same(em, {"id": "k-1"}, dialect)  # every field absent
            # A relation that is no dict (text, a list, an object with attributes).
            parents = {p.split(".")[0]: value for p in _paths(em) if "." in p}
            _assert_same(em, {"id": "k-1", **parents}, dialect)


@pytest.mark.parametrize(("name", "em"), SHIPPED, ids=[n for n, _ in SHIPPED])
def test_each_field_alone_writes_each_sample_as_the_reference_does(
    name: str, em: EntityMapping
) -> None:
    # One field at a time: a value another field refuses would send the whole record the
    # reference way, and the fast path of this one would go untested.
    for dialect in DIALECTS:
        for path in _paths(em)[1:]:
            for value in EXTRA:
                record: dict[str, Any] = {"id": "k-1"}
                _put(record, path, value)
                _assert_same(em, record, dialect)


@pytest.mark.parametrize(("name", "em"), SHIPPED, ids=[n for n, _ in SHIPPED])
def test_every_shipped_mapping_writes_a_whole_valid_record_with_every_stage(
    name: str, em: EntityMapping
) -> None:
    for stage in [*Stage, None, "declined", "nope", ""]:
        record: dict[str, Any] = {"id": "r-1", "stage": stage}
        for path in _paths(em)[1:-1]:
            _put(record, path, None)
        for dialect in DIALECTS:
            _assert_same(em, record, dialect)


_SCALARS = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.sampled_from(["", " ", "x" * 300, "1234567893", "pcp_practice", "completed", "Open"]),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.datetimes(timezones=st.none() | st.just(dt.UTC)).map(lambda d: d.isoformat()),
    st.dates().map(dt.date.isoformat),
    st.lists(st.text(max_size=6), max_size=3),
    st.lists(st.sampled_from(["a", "b;c", ";", "", "é", "x" * 300]), max_size=3),
)


@st.composite
def _records(draw: st.DrawFn, em: EntityMapping) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for path in _paths(em):
        if draw(st.booleans()):
            _put(record, path, draw(_SCALARS | st.sampled_from(list(Stage))))
    if draw(st.booleans()) and em.fields:  # a flat key spelled like a dotted path wins
        fm = draw(st.sampled_from(em.fields))
        record[fm.canonical] = draw(_SCALARS)
    dotted = [fm.canonical for fm in em.fields if "." in fm.canonical]
    if draw(st.booleans()) and dotted:  # a relation that is no dict: text, or an object
        parent = draw(st.sampled_from(dotted)).split(".")[0]
        inner = {k: draw(_SCALARS) for k in ("city", "state", "line1", "name")}
        record[parent] = draw(_SCALARS | st.just(SimpleNamespace(**inner)))
    return record


@pytest.mark.parametrize(("name", "em"), SHIPPED, ids=[n for n, _ in SHIPPED])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_records_write_as_the_reference_writes_them(
    name: str, em: EntityMapping, data: st.DataObject
) -> None:
    record = data.draw(_records(em))
    dialect = data.draw(st.sampled_from(DIALECTS))
    _assert_same(em, record, dialect)


@pytest.mark.parametrize(("name", "em"), SHIPPED, ids=[n for n, _ in SHIPPED])
def test_a_plain_record_nothing_refuses_is_written_without_the_reference_path(
    name: str, em: EntityMapping, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mapping.translate as translate

    calls: list[str] = []

    def counted(*args: Any) -> dict[str, Any]:
        calls.append(args[0].object)
        return reference_to_native(*args)

    monkeypatch.setattr(translate, "reference_to_native", counted)
    record: dict[str, Any] = {"id": "r-1"}
    for path in _paths(em)[1:-1]:
        _put(record, path, None)
    mapped = [s for s in Stage if em.stage is not None and em.stage.native_value(s) is not None]
    for stage in mapped or [None]:
        for dialect in DIALECTS:
            assert to_native(em, {**record, "stage": stage}, CTX, dialect) == reference_to_native(
                em, {**record, "stage": stage}, CTX, dialect
            )
    assert calls == []


def _mapping(fields: list[dict[str, Any]], **more: Any) -> EntityMapping:
    raw = {"object": "Referral__c", "key": "Key__c", "fields": fields, **more}
    return EntityMapping.model_validate(raw).for_entity("referral")


def test_a_value_a_transform_refuses_is_the_reference_error_naming_field_and_key() -> None:
    em = _mapping([{"canonical": "urgency", "native": "U__c", "transforms": [{"truncate": 3}]}])
    with pytest.raises(TransformError) as info:
        to_native(em, {"id": "r-9", "urgency": ["Secret"]}, CTX)
    assert (info.value.code, info.value.field, info.value.key) == (
        "TRANSFORM_TRUNCATE",
        "urgency",
        "r-9",
    )
    assert "Secret" not in str(info.value)


def test_a_stage_without_a_target_is_the_reference_error() -> None:
    stage = {"native": "Stage__c", "map": {"referred": "Open", "declined": None}}
    em = _mapping([], stage=stage)
    assert to_native(em, {"id": "r-1", "stage": "referred"}, CTX) == {
        "Stage__c": "Open",
        "Key__c": "r-1",
    }
    with pytest.raises(TransformError) as info:
        to_native(em, {"id": "r-1", "stage": "declined"}, CTX)
    assert (info.value.code, info.value.field, info.value.key) == ("UNMAPPED_STAGE", "stage", "r-1")


def test_a_dotted_native_path_nests_unless_the_dialect_keeps_it_flat_and_none_writes_nothing() -> (
    None
):
    fields = [
        {"canonical": "partner_id", "native": "Partner__r.Refsync_Id__c"},
        {"canonical": "referral_number", "native": "associations.p_partner"},
    ]
    em = _mapping(fields)
    record = {"id": "r-1", "partner_id": "p-1", "referral_number": "R-1"}
    assert to_native(em, record, CTX) == {
        "Partner__r": {"Refsync_Id__c": "p-1"},
        "associations": {"p_partner": "R-1"},
        "Key__c": "r-1",
    }
    assert to_native(em, record, CTX, HUBSPOT_DIALECT) == {
        "Partner__r": {"Refsync_Id__c": "p-1"},
        "associations.p_partner": "R-1",
        "Key__c": "r-1",
    }
    assert to_native(em, {"id": "r-1"}, CTX) == {"Key__c": "r-1"}


def test_a_pydantic_model_is_written_by_the_reference_path() -> None:
    from mapping.model import Referral

    em = _mapping([{"canonical": "referral_number", "native": "N__c", "transforms": ["strip"]}])
    model = Referral.model_validate({"id": "r-1", "referral_number": " R-1 "})
    assert to_native(em, model, CTX) == reference_to_native(em, model, CTX)
    assert to_native(em, model, CTX)["N__c"] == "R-1"


def test_canonical_and_native_names_are_written_as_names_never_run_as_code() -> None:
    odd = "x'] if True else 0; raise SystemExit; ['"
    em = _mapping([{"canonical": "referral_number", "native": odd}])
    assert to_native(em, {"id": "r-1", "referral_number": "R-1"}, CTX) == {
        odd: "R-1",
        "Key__c": "r-1",
    }


@pytest.mark.parametrize("name", sorted(OUTBOUND_ON_TEXT))
def test_each_inlined_text_form_returns_what_its_outbound_step_returns(name: str) -> None:
    raw = {"truncate": 3} if name == "truncate" else name
    (step,) = compile_chain([parse_step(raw)], outbound=True)
    form = OUTBOUND_ON_TEXT[name].format(args="A")
    for text in ("", " a ", "Lakeside Family", "ÉCOLE  ", "😀x"):
        expected = step.fn(text, step.args, TransformContext())
        assert eval(form, {"v": text, "A": step.args}) == expected


@pytest.mark.parametrize("sep", [";", ";;"])
def test_a_joined_list_is_the_join_transforms_text_or_its_error(sep: str) -> None:
    raw = {"object": "Account", "key": "Key__c",
           "fields": [{"canonical": "service_lines", "native": "Lines__c",
                       "transforms": [{"join": sep}]}]}  # fmt: skip
    em = EntityMapping.model_validate(raw).for_entity("partner")
    for lines in (["a"], ["a", "b", "c"], [], ["a;", "b"], [";"], ["", ""], ["a", 3], None):
        _assert_same(em, {"id": "p-1", "service_lines": lines}, GENERIC)
