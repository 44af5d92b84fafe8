"""Outbound translation compiled per entity mapping into one straight-line function.

:func:`compile_writer` writes the Python source of one function per entity mapping and
destination dialect: per outbound field, the canonical value read with plain ``dict``
lookups (a dotted canonical path walks the nested dicts of ``model_dump(mode="json")``),
the field's transform steps called directly with their bound arguments (no chain loop, no
per-field dispatch, no per-field context; the text forms of ``strip``/``upper``/``lower``/
``truncate`` and a one-character ``join`` of a list of text inlined), then the value put at
its native path (nested relation or flat key, decided once for the dialect); the stage is
one dict lookup.

Only the happy path of a plain ``dict`` record is generated. Anything else (a pydantic
model, a stage with no target, a value a transform refuses, any exception at all) is
translated again by the reference path (``mapping.translate.reference_to_native``), which
gives the exact native record or raises the exact error. Transforms are pure, so running a
record twice changes nothing.

Native and canonical names come from the mapping file: they enter the source as ``repr``
literals only, never as code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mapping.transforms import CompiledStep, TransformContext

__all__ = ["OUTBOUND_ON_TEXT", "OutboundField", "compile_writer"]

OUTBOUND_ON_TEXT: dict[str, str] = {
    "strip": "v.strip()",
    "upper": "v.upper()",
    "lower": "v.lower()",
    "truncate": "v[:{args}]",
}
"""What the outbound step of these transforms returns for a value ``v`` of type ``str``, as a
Python expression (``{args}``: the step's compiled arguments); the writer inlines it."""

Writer = Callable[[Any, TransformContext], dict[str, Any]]
"""``write(record, ctx)``: the native record for a canonical record."""


@dataclass(frozen=True, slots=True)
class OutboundField:
    """One outbound field: the canonical path read, the native path written (``flat``: one
    key even when dotted) and its steps in run order."""

    canonical: str
    native: str
    flat: bool
    steps: tuple[CompiledStep, ...]


def compile_writer(
    name: str,
    key: str,
    fields: Sequence[OutboundField],
    stage: tuple[str, Mapping[Any, str]] | None,
    *,
    reference: Writer,
    dig: Callable[[Any, str], Any],
) -> Writer:
    """``write(record, ctx)`` for one entity mapping.

    ``stage`` is ``(native field, canonical stage -> native text)`` holding only the stages
    that have a target; ``reference`` answers every record off the fast path; ``dig(record,
    path)`` reads a canonical path the reference way (used when a dict holds a dotted key).
    """
    scope: dict[str, Any] = {"reference": reference, "dig": dig}
    lines = [
        "def write(record, ctx):",
        "    if type(record) is not dict:",
        "        return reference(record, ctx)",
        "    try:",
        "        key = record.get('id')",
        "        if key is not None:",
        "            key = str(key)",
        "        native = {}",
    ]
    for i, plan in enumerate(fields):
        lines += _field_lines(i, plan, scope)
    if stage is not None:
        scope["STAGES"] = stage[1]
        lines += [
            "        s = record.get('stage')",
            "        if s is not None:",
            f"            native[{stage[0]!r}] = STAGES[s]",  # a miss: the reference's error
        ]
    lines += [
        f"        native[{key!r}] = key",
        "        return native",
        "    except Exception:",  # the reference path: the exact native record or error
        "        return reference(record, ctx)",
    ]
    source = "\n".join(lines) + "\n"
    exec(compile(source, f"<refsync outbound {name}>", "exec"), scope)  # noqa: S102
    write: Writer = scope["write"]
    write.__doc__ = source  # what runs, for a reader of a profile or a traceback
    return write


def _read_lines(path: str) -> list[str]:
    """Lines binding ``v`` to the canonical value at ``path``, as the reference reads it: a
    key spelled ``path`` wins, else each part is looked up in the dict the last one gave."""
    if "." not in path:
        return [f"        v = record.get({path!r})"]
    first, *rest = path.split(".")
    lines = [
        f"        if {path!r} in record:",
        f"            v = record[{path!r}]",
        "        else:",
        f"            v = record.get({first!r})",
    ]
    for part in rest:
        lines += [
            "            if type(v) is dict:",
            f"                v = v.get({part!r})",
            "            elif v is not None:",
            f"                v = dig(v, {part!r})",
        ]
    return lines


def _step_lines(step: CompiledStep, call: str, args: str) -> list[str]:
    """One step: the plain text (or list of text) form inlined where the step has one, its
    function called for every other value."""
    otherwise = "else" if step.handles_none else "elif v is not None"
    on_text = OUTBOUND_ON_TEXT.get(step.step.name)
    if on_text is not None:
        return [
            f"        if type(v) is str: v = {on_text.format(args=args)}",
            f"        {otherwise}: v = {call}",
        ]
    if step.step.name == "join" and isinstance(step.args, str) and len(step.args) == 1:
        # One separator per gap exactly when no item holds it (what join refuses); an item
        # that is not text makes str.join raise, and the record goes the reference way.
        return [
            "        if type(v) is list and v:",
            f"            t = {args}.join(v)",
            f"            v = t if t.count({args}) == len(v) - 1 else {call}",
            f"        {otherwise}: v = {call}",
        ]
    guard = "" if step.handles_none else "if v is not None: "
    return [f"        {guard}v = {call}"]


def _field_lines(i: int, plan: OutboundField, scope: dict[str, Any]) -> list[str]:
    lines = _read_lines(plan.canonical)
    for j, step in enumerate(plan.steps):
        scope[f"F{i}_{j}"], scope[f"A{i}_{j}"] = step.fn, step.args
        lines += _step_lines(step, f"F{i}_{j}(v, A{i}_{j}, ctx)", f"A{i}_{j}")
    if plan.flat or "." not in plan.native:
        return [*lines, f"        native[{plan.native!r}] = v"]
    *parents, last = plan.native.split(".")
    # A relation cannot be cleared through an external-id reference: None writes nothing.
    lines += ["        if v is not None:", "            target = native"]
    lines += [f"            target = target.setdefault({p!r}, {{}})" for p in parents]
    return [*lines, f"            target[{last!r}] = v"]
