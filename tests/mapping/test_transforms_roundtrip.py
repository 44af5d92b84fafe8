"""Round trips of the invertible transforms (hypothesis): canonical -> native -> canonical."""

from __future__ import annotations

from enum import StrEnum

from hypothesis import given
from hypothesis import strategies as st

from mapping.errors import TransformError
from mapping.transforms import TransformContext, TransformStep, parse_step, to_canonical, to_native

CTX = TransformContext(timezone="America/Chicago", field="partner.name", key="P-1")


class _Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


@given(st.lists(st.sampled_from(list(_Colour)), min_size=1, max_size=2, unique=True))
def test_value_map_round_trips_every_mapped_value(members):
    step = parse_step({"value_map": {m.value: m.value.upper() + "!" for m in _Colour}})
    for member in members:
        assert to_canonical([step], to_native([step], member, CTX), CTX) == member.value


# -- round trips ------------------------------------------------------------------------------

_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


@given(st.lists(_TEXT.map(str.strip).filter(lambda s: s and ";" not in s), max_size=6))
def test_join_round_trips_lists_of_trimmed_items(items):
    steps = [parse_step("join")]
    assert to_canonical(steps, to_native(steps, items, CTX), CTX) == items


@given(_TEXT)
def test_prefix_and_suffix_round_trip_any_text(text):
    steps = [parse_step({"prefix": "RS-"}), parse_step({"suffix": "-v1"})]
    assert to_canonical(steps, to_native(steps, text, CTX), CTX) == text


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)


@given(_JSON)
def test_json_round_trips_structured_values(value):
    steps = [parse_step("json")]
    native = to_native(steps, value, CTX)
    assert native == to_native(steps, value, CTX)
    assert to_canonical(steps, native, CTX) == value


@given(st.booleans(), st.sampled_from([None, "string", {"true": "Yes", "false": "No"}]))
def test_boolean_round_trips_in_every_outbound_form(value, args):
    """Failure catalogue: H3."""
    steps = [TransformStep(name="boolean", args=args)]
    assert to_canonical(steps, to_native(steps, value, CTX), CTX) is value


@given(st.integers(min_value=-(10**20), max_value=10**20), st.booleans())
def test_int_round_trips_exactly(value, as_string):
    steps = [TransformStep(name="int", args="string" if as_string else None)]
    assert to_canonical(steps, to_native(steps, value, CTX), CTX) == value


@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_number_round_trips_floats_through_text(value):
    steps = [parse_step({"number": "string"})]
    assert to_canonical(steps, to_native(steps, value, CTX), CTX) == value


@given(
    st.integers(min_value=2, max_value=9),
    st.integers(0, 99),
    st.integers(2, 9),
    st.integers(0, 99),
    st.integers(0, 9999),
    st.sampled_from(["e164", "national"]),
)
def test_phone_round_trips_every_nanp_number(a, b, c, d, line, fmt):
    e164 = f"+1{a}{b:02d}{c}{d:02d}{line:04d}"
    steps = [parse_step({"phone": fmt})]
    assert to_canonical(steps, to_native(steps, e164, CTX), CTX) == e164


@given(st.integers(min_value=100_000_000, max_value=299_999_999))
def test_npi_accepts_exactly_one_check_digit_per_stem(stem):
    valid = [d for d in range(10) if _is_ok(f"{stem}{d}")]
    assert len(valid) == (1 if str(stem)[0] in "12" else 0)


def _is_ok(candidate):
    try:
        to_canonical([parse_step("npi")], candidate, CTX)
    except TransformError:
        return False
    return True


_IDS = st.integers(min_value=0, max_value=10**6)


@given(st.dictionaries(_IDS, _IDS, max_size=5))
def test_ref_round_trips_through_a_resolver_of_native_ids(pairs):
    canonical_of = {f"001{n:012d}": f"partner-{c}" for c, n in pairs.items()}
    steps = [parse_step({"ref": "partner"})]
    ctx = TransformContext(field="partner_id", resolve_ref=lambda e, v: canonical_of.get(v))
    for native, canonical_id in canonical_of.items():
        assert to_native(steps, canonical_id, ctx) == canonical_id
        assert to_canonical(steps, native, ctx) == canonical_id


@given(_TEXT, st.sampled_from(["strip", "upper", "lower"]))
def test_normalisers_are_stable_after_one_pass(text, name):
    steps = [parse_step(name)]
    once = to_canonical(steps, text, CTX)
    assert to_native(steps, once, CTX) == once == to_canonical(steps, once, CTX)
