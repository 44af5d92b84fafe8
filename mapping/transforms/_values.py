"""Value transforms: value_map, boolean, number, int, npi, ref."""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import Field

from mapping.model import ENTITIES
from mapping.npi import is_valid_npi
from mapping.transforms._core import (
    ArgsError,
    Invalid,
    StrictArgs,
    Transform,
    TransformContext,
    as_mapping,
    is_blank,
    no_args,
    plain,
    validate_args,
)

__all__ = ["VALUE_TRANSFORMS"]

_MAX_LISTED = 12


def _fold(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    return value


def _listing(values: Any) -> str:
    items = [str(v) for v in values]
    more = len(items) - _MAX_LISTED
    shown = ", ".join(items[:_MAX_LISTED])
    return f"{shown}, ... ({more} more)" if more > 0 else shown


# -- value_map ----------------------------------------------------------------------------

_VALUE_MAP_KEYS = frozenset({"map", "inbound", "default", "inbound_default", "strict"})


class _ValueMapArgs(StrictArgs):
    map: dict[Any, Any] = Field(min_length=1)
    inbound: dict[Any, Any] = Field(default_factory=dict)
    default: Any = None
    inbound_default: Any = None
    strict: bool = True


@dataclass(frozen=True, slots=True)
class _ValueMap:
    outbound: dict[Any, Any]
    inbound: dict[Any, Any]
    folded: dict[Any, Any]
    default: Any
    has_default: bool
    inbound_default: Any
    has_inbound_default: bool
    strict: bool
    native_values: tuple[Any, ...] = field(default=())


def _compile_value_map(raw: Any) -> _ValueMap:
    data = as_mapping(raw)
    if data is None:
        raise ArgsError("needs a mapping of canonical value to native value, e.g. {a: A}")
    full = "map" in data and set(data) <= _VALUE_MAP_KEYS
    args = validate_args(_ValueMapArgs, data if full else {"map": dict(data)})
    for value in (*args.map.values(), *args.inbound):
        if not isinstance(value, Hashable) or isinstance(value, list | dict):
            raise ArgsError("native values must be single values, not lists or mappings")
    reverse: dict[Any, Any] = {}
    for canonical, native in args.map.items():
        # Several canonical values may share one native value; inbound, the first listed wins
        # unless `inbound` says otherwise.
        if native is not None:
            reverse.setdefault(native, canonical)
    reverse.update(args.inbound)
    return _ValueMap(
        outbound=dict(args.map),
        inbound=reverse,
        folded={_fold(k): v for k, v in reverse.items()},
        default=args.default,
        has_default="default" in args.model_fields_set,
        inbound_default=args.inbound_default,
        has_inbound_default="inbound_default" in args.model_fields_set,
        strict=args.strict,
        native_values=tuple(reverse),
    )


def _hashable(value: Any) -> Any:
    value = plain(value)
    if isinstance(value, list | dict | set):
        raise Invalid("expected a single value, not a list")
    return value


def _map_out(value: Any, vm: _ValueMap, ctx: TransformContext) -> Any:
    key = _hashable(value)
    if key in vm.outbound:
        return vm.outbound[key]
    if vm.has_default:
        return vm.default
    if vm.strict:
        mapped = _listing(vm.outbound)
        raise Invalid(f"the canonical value is not in the map; mapped values: {mapped}")
    return value


def _map_in(value: Any, vm: _ValueMap, ctx: TransformContext) -> Any:
    key = _hashable(value)
    if key in vm.inbound:
        return vm.inbound[key]
    if _fold(key) in vm.folded:
        return vm.folded[_fold(key)]
    if vm.has_inbound_default:
        return vm.inbound_default
    if vm.strict:
        raise Invalid(
            f"the native value is not in the map; known native values: {_listing(vm.native_values)}"
            " (add it under `inbound:` or set `inbound_default`)"
        )
    return value


# -- boolean ------------------------------------------------------------------------------

_TRUE = frozenset({"true", "1", "yes", "y", "on", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "off", "f", ""})
_BOOL_EXPECTED = "expected true/false, 1/0, yes/no, y/n or on/off (empty means false)"


@dataclass(frozen=True, slots=True)
class _Bool:
    true: Any = True
    false: Any = False
    extra: Mapping[Any, bool] = field(default_factory=dict)


def _compile_boolean(raw: Any) -> _Bool:
    if raw is None:
        return _Bool()
    if raw == "string":
        return _Bool("true", "false")
    data = as_mapping(raw)
    if data is None:
        raise ArgsError("use `boolean`, {boolean: string} or {boolean: {true: 'Yes', false: 'No'}}")
    tokens = {str(k).lower(): v for k, v in data.items()}
    if set(tokens) != {"true", "false"}:
        raise ArgsError("the mapping needs exactly the keys true and false")
    true, false = tokens["true"], tokens["false"]
    return _Bool(true, false, {_fold(str(true)): True, _fold(str(false)): False})


def _parse_bool(value: Any, spec: _Bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        token = _fold(value)
        if token in spec.extra:
            return spec.extra[token]
        if token in _TRUE:
            return True
        if token in _FALSE:
            return False
    raise Invalid(_BOOL_EXPECTED)


def _bool_out(value: Any, spec: _Bool, ctx: TransformContext) -> Any:
    return spec.true if _parse_bool(value, spec) else spec.false


def _bool_in(value: Any, spec: _Bool, ctx: TransformContext) -> Any:
    return _parse_bool(value, spec)


# -- number / int -------------------------------------------------------------------------


class _NumberArgs(StrictArgs):
    string: bool = False


def _compile_number(raw: Any) -> bool:
    if raw is None:
        return False
    if raw == "string":
        return True
    if as_mapping(raw) is None:
        raise ArgsError("write it bare, or {number: string} / {int: string} to send text")
    return validate_args(_NumberArgs, raw).string


def _decimal(value: Any, expected: str = "expected a number such as 12 or 12.5") -> Decimal:
    if isinstance(value, bool):
        raise Invalid("expected a number, not true/false")
    if isinstance(value, int | float | Decimal):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise Invalid(expected) from None
    else:
        raise Invalid("expected a number")
    if not number.is_finite():
        raise Invalid("expected a finite number")
    return number


def _number(value: Any) -> int | float:
    number = _decimal(value)
    literal = str(value) if isinstance(value, str) else ""
    if isinstance(value, int) or (literal and not re.search(r"[.eE]", literal)):
        return int(number)
    return float(number)


def _whole(value: Any) -> int:
    number = _decimal(value, "expected a whole number such as 12")
    if number != number.to_integral_value():
        raise Invalid("expected a whole number")
    return int(number)


def _number_out(value: Any, as_string: bool, ctx: TransformContext) -> Any:
    result = _number(value)
    return str(result) if as_string else result


def _number_in(value: Any, as_string: bool, ctx: TransformContext) -> Any:
    return None if is_blank(value) else _number(value)


def _int_out(value: Any, as_string: bool, ctx: TransformContext) -> Any:
    result = _whole(value)
    return str(result) if as_string else result


def _int_in(value: Any, as_string: bool, ctx: TransformContext) -> Any:
    return None if is_blank(value) else _whole(value)


# -- npi ----------------------------------------------------------------------------------


def _npi(value: Any, args: Any, ctx: TransformContext) -> Any:
    if is_blank(value):
        return None
    text = str(value).strip() if isinstance(value, str | int) else None
    if text is None or not is_valid_npi(text):
        raise Invalid(
            "not a valid NPI: expected 10 digits starting with 1 or 2 whose last digit is the "
            "Luhn check digit over the 80840 prefix"
        )
    return text


# -- ref ----------------------------------------------------------------------------------


class _RefArgs(StrictArgs):
    entity: str


def _compile_ref(raw: Any) -> str:
    data = raw if as_mapping(raw) is not None else {"entity": raw}
    entity = validate_args(_RefArgs, data).entity
    if entity not in ENTITIES:
        raise ArgsError(f"unknown entity {entity!r}; known: {', '.join(sorted(ENTITIES))}")
    return entity


def _ref_out(value: Any, entity: str, ctx: TransformContext) -> Any:
    if not isinstance(value, str) or not value:
        raise Invalid(f"expected the canonical id of a {entity}")
    return value


def _ref_in(value: Any, entity: str, ctx: TransformContext) -> Any:
    if is_blank(value):
        return None
    if not isinstance(value, str | int):
        raise Invalid(f"expected the id of a {entity}")
    native = str(value).strip()
    if ctx.resolve_ref is None:
        return native  # the native field already carries the canonical id
    canonical = ctx.resolve_ref(entity, native)
    if canonical is None:
        raise Invalid(
            f"no {entity} is known for this native id yet; sync the {entity} records first "
            "or fix the reference in the source"
        )
    return canonical


VALUE_TRANSFORMS: tuple[Transform, ...] = (
    Transform(
        "value_map",
        "map canonical values to native ones: {value_map: {a: A}}; full form "
        "{value_map: {map: {...}, inbound: {...}, default: X, inbound_default: Y, strict: true}}",
        _map_out,
        _map_in,
        _compile_value_map,
    ),
    Transform(
        "boolean",
        "parse true/false, 1/0, yes/no, y/n, on/off ('' is false); out as a JSON boolean, "
        "{boolean: string} for 'true'/'false', or {boolean: {true: 'Yes', false: 'No'}}",
        _bool_out,
        _bool_in,
        _compile_boolean,
    ),
    Transform(
        "number",
        "a number (int when written without a point); {number: string} sends text",
        _number_out,
        _number_in,
        _compile_number,
    ),
    Transform(
        "int",
        "a whole number ('12', '12.0' and '1.2E1' are 12; '12.5' is an error); "
        "{int: string} sends text",
        _int_out,
        _int_in,
        _compile_number,
    ),
    Transform(
        "npi",
        "validate a 10-digit NPI (Luhn check over the 80840 prefix), both directions",
        _npi,
        _npi,
        no_args,
    ),
    Transform(
        "ref",
        "reference to another canonical entity: {ref: partner}; out sends the canonical id, "
        "in resolves the native id to a canonical one",
        _ref_out,
        _ref_in,
        _compile_ref,
    ),
)
