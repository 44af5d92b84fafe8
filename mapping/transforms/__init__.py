"""Named transforms: the closed registry a mapping's ``transforms:`` chain draws from.

A step is written in YAML as a bare name (``strip``) or a one-key mapping
(``{truncate: 255}``, ``{value_map: {...}}``). Outbound (canonical -> native) runs the chain in
order; inbound (native -> canonical) runs each step's inverse in reverse order.

``None`` passes through every transform unchanged, except ``default``. A value that cannot be
transformed raises :class:`~mapping.errors.TransformError` with ``code="TRANSFORM_<NAME>"``; the
message names the transform, the field and the record key, and never the value (it may be PHI).
There is no expression language and no eval.

Example::

    steps = [parse_step("strip"), parse_step({"truncate": 255})]
    to_native(steps, "  Lakeside Family Practice ", TransformContext(field="name"))
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, PrivateAttr, model_validator

from mapping.errors import TransformError
from mapping.transforms._core import ArgsError, Invalid, Transform, TransformContext
from mapping.transforms._phone import PHONE_TRANSFORMS
from mapping.transforms._text import INBOUND_ON_TEXT, TEXT_TRANSFORMS
from mapping.transforms._time import TIME_TRANSFORMS
from mapping.transforms._values import VALUE_TRANSFORMS

__all__ = [
    "INBOUND_ON_TEXT",
    "TRANSFORM_DOCS",
    "TRANSFORM_NAMES",
    "CompiledStep",
    "TransformContext",
    "TransformStep",
    "bind_chain",
    "compile_chain",
    "parse_step",
    "run_chain",
    "to_canonical",
    "to_native",
]

_REGISTRY: dict[str, Transform] = {
    t.name: t for t in (*TEXT_TRANSFORMS, *VALUE_TRANSFORMS, *PHONE_TRANSFORMS, *TIME_TRANSFORMS)
}

TRANSFORM_NAMES: frozenset[str] = frozenset(_REGISTRY)
"""Every transform name a mapping may use."""

TRANSFORM_DOCS: Mapping[str, str] = {name: t.summary for name, t in sorted(_REGISTRY.items())}
"""One line per transform: what it does and how its arguments are written."""


def _unknown_name(name: str) -> ValueError:
    close = difflib.get_close_matches(name, TRANSFORM_NAMES, n=len(TRANSFORM_NAMES), cutoff=0.5)
    rest = sorted(TRANSFORM_NAMES - set(close))
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ValueError(
        f"unknown transform {name!r}{hint} Known transforms: {', '.join([*close, *rest])}"
    )


def _compile(name: str, args: Any) -> Any:
    transform = _REGISTRY.get(name)
    if transform is None:
        raise _unknown_name(name)
    try:
        return transform.compile(args)
    except ArgsError as exc:
        raise ValueError(f"transform {name!r}: {exc}") from None


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted(((repr(k), _freeze(v)) for k, v in value.items()), key=repr))
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(_freeze(v) for v in value)
    return value


class TransformStep(BaseModel):
    """One validated step of a transform chain (``name`` from the registry, checked ``args``).

    Also accepts the YAML shapes directly (``"strip"``, ``{"truncate": 255}``), so a mapping
    model can declare ``transforms: list[TransformStep]``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    args: Any = None
    _compiled: Any = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _from_yaml_shape(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"name": data}
        if isinstance(data, Mapping) and len(data) == 1 and "name" not in data:
            ((name, args),) = data.items()
            return {"name": name, "args": args}
        return data

    @model_validator(mode="after")
    def _compile_args(self) -> Self:
        self._compiled = _compile(self.name, self.args)
        return self

    def __eq__(self, other: object) -> bool:
        # Compare what the admin wrote; the compiled form is derived from it.
        if not isinstance(other, TransformStep):
            return NotImplemented
        return (self.name, self.args) == (other.name, other.args)

    def __hash__(self) -> int:
        # Arguments are often dicts (value_map), which the generated hash cannot handle.
        return hash((self.name, _freeze(self.args)))

    def as_yaml(self) -> str | dict[str, Any]:
        """The step as an admin writes it: a bare name, or ``{name: args}``."""
        return self.name if self.args is None else {self.name: self.args}


def parse_step(raw: str | Mapping[str, Any]) -> TransformStep:
    """A step from its YAML form; ``ValueError`` names the transform and what is wrong."""
    if isinstance(raw, str):
        name, args = raw.strip(), None
    elif isinstance(raw, Mapping) and len(raw) == 1:
        ((name, args),) = raw.items()
    else:
        raise ValueError(
            "a transform step is a name (strip) or a mapping with exactly one key ({truncate: 255})"
        )
    if not isinstance(name, str):
        raise ValueError("a transform name must be text, such as strip or value_map")
    _compile(name, args)  # the plain ValueError, before pydantic wraps it
    return TransformStep(name=name, args=args)


def _fail(
    step: TransformStep, ctx: TransformContext, outbound: bool, problem: str
) -> TransformError:
    side = "native" if outbound else "canonical"
    field = ctx.field or "(unnamed field)"
    key = f" of record {ctx.key!r}" if ctx.key else ""
    return TransformError(
        f"transform {step.name!r} could not produce the {side} value of field {field!r}{key}: "
        f"{problem}. Fix the value in the source system or the mapping.",
        key=ctx.key,
        field=ctx.field,
        code=f"TRANSFORM_{step.name.upper()}",
    )


def _run(step: TransformStep, value: Any, ctx: TransformContext, *, outbound: bool) -> Any:
    transform = _REGISTRY[step.name]
    if value is None and not transform.handles_none:
        return None
    fn = transform.outbound if outbound else transform.inbound
    # Read the private attribute straight from pydantic's storage: the generic
    # ``__getattr__`` path costs more than most transforms on this per-value hot path.
    compiled = step.__pydantic_private__["_compiled"]  # type: ignore[index]
    try:
        return fn(value, compiled, ctx)
    except Invalid as exc:
        raise _fail(step, ctx, outbound, exc.problem) from None
    except (ValueError, TypeError, ArithmeticError):
        # `from None`: a library message (strptime, int()) would echo the value.
        raise _fail(step, ctx, outbound, "the value has an unexpected form") from None


@dataclass(frozen=True, slots=True)
class CompiledStep:
    """One step bound to its function and compiled arguments, for chains run per record."""

    step: TransformStep
    fn: Callable[[Any, Any, TransformContext], Any]
    args: Any
    handles_none: bool
    outbound: bool


def compile_chain(steps: Sequence[TransformStep], *, outbound: bool) -> tuple[CompiledStep, ...]:
    """``steps`` in run order (inbound: last step first), bound once for many records."""
    ordered = steps if outbound else list(reversed(steps))
    out = []
    for step in ordered:
        transform = _REGISTRY[step.name]
        fn = transform.outbound if outbound else transform.inbound
        args = step.__pydantic_private__["_compiled"]  # type: ignore[index]
        out.append(CompiledStep(step, fn, args, transform.handles_none, outbound))
    return tuple(out)


def run_chain(chain: Sequence[CompiledStep], value: Any, ctx: TransformContext) -> Any:
    """Run a compiled chain; the same results and errors as :func:`to_native`/``to_canonical``."""
    for c in chain:
        if value is None and not c.handles_none:
            continue
        try:
            value = c.fn(value, c.args, ctx)
        except Invalid as exc:
            raise _fail(c.step, ctx, c.outbound, exc.problem) from None
        except (ValueError, TypeError, ArithmeticError):
            raise _fail(c.step, ctx, c.outbound, "the value has an unexpected form") from None
    return value


BoundChain = Callable[[Any, TransformContext, str | None], Any]
"""``run(value, ctx, key)``: a compiled chain as one function; ``key`` only names errors."""


def bind_chain(chain: Sequence[CompiledStep], field: str) -> BoundChain:
    """``chain`` for ``field`` as one function, with :func:`run_chain`'s results and errors.

    Transforms read only ``ctx.timezone`` and ``ctx.resolve_ref``; the field and the record
    key serve error messages alone, so no per-value context is built unless a step fails.
    """
    steps = tuple((c.fn, c.args, c.handles_none) for c in chain)

    def fail(index: int, ctx: TransformContext, key: str | None, problem: str) -> TransformError:
        c = chain[index]
        fctx = TransformContext(ctx.timezone, field, key, ctx.resolve_ref)
        return _fail(c.step, fctx, c.outbound, problem)

    if len(steps) == 1:
        ((fn, args, handles_none),) = steps

        def run_one(value: Any, ctx: TransformContext, key: str | None) -> Any:
            if value is None and not handles_none:
                return None
            try:
                return fn(value, args, ctx)
            except Invalid as exc:
                raise fail(0, ctx, key, exc.problem) from None
            except (ValueError, TypeError, ArithmeticError):
                raise fail(0, ctx, key, "the value has an unexpected form") from None

        return run_one

    if len(steps) == 2:
        (fn1, args1, none1), (fn2, args2, none2) = steps

        def run_two(value: Any, ctx: TransformContext, key: str | None) -> Any:
            index = 0
            try:
                if value is not None or none1:
                    value = fn1(value, args1, ctx)
                index = 1
                if value is not None or none2:
                    value = fn2(value, args2, ctx)
            except Invalid as exc:
                raise fail(index, ctx, key, exc.problem) from None
            except (ValueError, TypeError, ArithmeticError):
                raise fail(index, ctx, key, "the value has an unexpected form") from None
            return value

        return run_two

    def run(value: Any, ctx: TransformContext, key: str | None) -> Any:
        index = 0
        try:
            for index, (fn, args, handles_none) in enumerate(steps):  # noqa: B007
                if value is None and not handles_none:
                    continue
                value = fn(value, args, ctx)
        except Invalid as exc:
            raise fail(index, ctx, key, exc.problem) from None
        except (ValueError, TypeError, ArithmeticError):
            raise fail(index, ctx, key, "the value has an unexpected form") from None
        return value

    return run


def to_native(steps: Sequence[TransformStep], value: Any, ctx: TransformContext) -> Any:
    """Canonical -> native: run ``steps`` in order."""
    for step in steps:
        value = _run(step, value, ctx, outbound=True)
    return value


def to_canonical(steps: Sequence[TransformStep], value: Any, ctx: TransformContext) -> Any:
    """Native -> canonical: run each step's inverse, last step first."""
    for step in reversed(steps):
        value = _run(step, value, ctx, outbound=False)
    return value
