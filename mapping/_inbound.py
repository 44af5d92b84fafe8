"""Inbound translation compiled per entity mapping into one straight-line function.

:func:`compile_reader` writes the Python source of one function per entity mapping: per
inbound field, one membership test, the field's transform steps called directly with their
bound arguments (no chain loop, no per-field dispatch), then the field's type-exact
validator; the stage is one dict lookup. Nothing is validated twice and no pydantic model is
built per record: a value that passes the shortcut validators is what pydantic would return
(see :mod:`mapping._validators`).

Only the happy path is generated. When anything on a field's fast path raises, that field is
read again by its reference converter (the per-field plan of :mod:`mapping.translate`),
which gives the exact value, canonical default or :class:`~mapping.errors.RecordError` the
interpreted path gives. Transforms are pure, so reading a field twice changes nothing.

Native and canonical names come from the mapping file: they enter the source as ``repr``
literals only, never as code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from mapping.errors import RecordError
from mapping.model import Stage
from mapping.transforms import INBOUND_ON_TEXT, CompiledStep, TransformContext

__all__ = ["FieldPlan", "StagePlan", "compile_reader"]

R = TypeVar("R")

_UNBOUNDED = 1 << 40

Convert = Callable[[Any, TransformContext, "str | None"], Any]
"""``convert(native value, ctx, record key)``: a field's canonical value, the reference way."""


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """One inbound field: where it is read from and to, its steps (in run order), its
    validator and the reference converter that answers whenever the fast path raises."""

    native: str
    canonical: str
    steps: tuple[CompiledStep, ...]
    validate: Callable[[Any], Any]
    convert: Convert
    text: tuple[int, int] | None = None
    """``(min, max)`` length of a text field whose validator returns such text as it is."""


@dataclass(frozen=True, slots=True)
class StagePlan:
    """The stage field: native text -> stage for the known values; ``read`` (value, key)
    answers the rest (blank, unknown, not text) the reference way."""

    native: str
    known: Mapping[str, Stage | None]
    read: Callable[[Any, str | None], Stage | None]


def compile_reader(
    name: str,
    key: str,
    fields: Sequence[FieldPlan],
    stage: StagePlan | None,
    *,
    make: Callable[[dict[str, Any], Stage | None, list[RecordError]], R],
    lookup: Callable[[Mapping[str, Any], str], Any],
    absent: object,
) -> Callable[[Mapping[str, Any], TransformContext], R]:
    """``read(native, ctx)`` for one entity mapping; ``lookup``/``absent`` follow dotted
    native paths the way translation does, ``make(values, stage, errors)`` is the result."""
    scope: dict[str, Any] = {"RecordError": RecordError, "lookup": lookup, "ABSENT": absent}
    scope["make"] = make
    lines = ["def read(native, ctx):", *_key_lines(key)]
    lines += ["    values = {}", "    errors = []", "    if key is not None:"]
    lines.append('        values["id"] = key')
    for i, plan in enumerate(fields):
        lines += _field_lines(i, plan, scope)
    lines.append("    stage = None")
    if stage is not None:
        scope["STAGES"], scope["read_stage"] = stage.known, stage.read
        lines += _fetch("sv", stage.native, "    ")
        lines += [
            "        if type(sv) is str and sv in STAGES:",
            "            stage = STAGES[sv]",
            "        else:",
            "            try:",
            "                stage = read_stage(sv, key)",
            "            except RecordError as exc:",
            "                errors.append(exc)",
        ]
    lines.append("    return make(values, stage, errors)")
    source = "\n".join(lines) + "\n"
    exec(compile(source, f"<refsync inbound {name}>", "exec"), scope)  # noqa: S102
    read: Callable[[Mapping[str, Any], TransformContext], R] = scope["read"]
    read.__doc__ = source  # what runs, for a reader of a profile or a traceback
    return read


def _key_lines(key: str) -> list[str]:
    if "." in key:
        fetch = [f"    k = native[{key!r}] if {key!r} in native else lookup(native, {key!r})"]
        fetch.append("    k = None if k is ABSENT else k")
    else:
        fetch = [f"    k = native[{key!r}] if {key!r} in native else None"]
    return [*fetch, '    key = None if k is None or k == "" else str(k)']


def _fetch(var: str, path: str, indent: str) -> list[str]:
    """Lines that bind ``var`` to the native value at ``path`` and open a block run only when
    the record holds it (a dotted path is followed through relations when not a flat key)."""
    if "." not in path:
        return [f"{indent}if {path!r} in native:", f"{indent}    {var} = native[{path!r}]"]
    return [
        f"{indent}{var} = native[{path!r}] if {path!r} in native else lookup(native, {path!r})",
        f"{indent}if {var} is not ABSENT:",
    ]


def _field_lines(i: int, plan: FieldPlan, scope: dict[str, Any]) -> list[str]:
    scope[f"V{i}"], scope[f"S{i}"] = plan.validate, plan.convert
    target = f"values[{plan.canonical!r}]"
    body = ["        try:", "            v = raw"]
    for j, step in enumerate(plan.steps):
        scope[f"F{i}_{j}"], scope[f"A{i}_{j}"] = step.fn, step.args
        body += _step_lines(step, f"F{i}_{j}(v, A{i}_{j}, ctx)")
    body += [f"            {line}" for line in _validate_lines(plan, target, f"V{i}(v)")]
    body += [
        "        except Exception:",  # the reference converter: exact value, default or error
        "            try:",
        f"                {target} = S{i}(raw, ctx, key)",
        "            except RecordError as exc:",
        "                errors.append(exc)",
    ]
    return [*_fetch("raw", plan.native, "    "), *body]


def _step_lines(step: CompiledStep, call: str) -> list[str]:
    """One step: its text form inlined when it has one, else its function called."""
    skip = "" if step.handles_none else " and v is not None"
    on_text = None if step.outbound else INBOUND_ON_TEXT.get(step.step.name)
    if on_text is None:
        guard = "if v is not None: " if skip else ""
        return [f"            {guard}v = {call}"]
    if on_text == "v":  # the step returns text as it is
        return [f"            if type(v) is not str{skip}: v = {call}"]
    return [
        f"            if type(v) is str: v = {on_text}",
        f"            elif {skip[5:] or 'True'}: v = {call}",
    ]


def _validate_lines(plan: FieldPlan, target: str, call: str) -> list[str]:
    """The validator, with its text shortcut inlined when the field has one."""
    if plan.text is None:
        return [f"{target} = {call}"]
    low, high = plan.text
    test = "type(v) is str" + (f" and {low} <= len(v)" if low > 0 else "")
    test += f" and len(v) <= {high}" if high < _UNBOUNDED else ""
    return [f"if {test}:", f"    {target} = v", "else:", f"    {target} = {call}"]
