"""Building blocks shared by every transform: the context, the registry entry, and the two
exceptions a transform may raise (a bad value, bad arguments)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, ValidationError

from mapping.errors import MappingError

__all__ = [
    "ArgsError",
    "Invalid",
    "StrictArgs",
    "Transform",
    "TransformContext",
    "as_mapping",
    "is_blank",
    "no_args",
    "plain",
    "validate_args",
    "zone",
]


@dataclass
class TransformContext:
    """What a transform may know about the value it converts.

    ``timezone`` is the site time zone given to naive local datetimes; ``field`` (canonical
    path) and ``key`` (record key, never PHI) only serve error messages; ``resolve_ref`` maps
    ``(entity, native value)`` to a canonical id for the ``ref`` transform (inbound).
    """

    timezone: str = "UTC"
    field: str | None = None
    key: str | None = None
    resolve_ref: Callable[[str, str], str | None] | None = None


class Invalid(Exception):
    """A value cannot be transformed. ``problem`` says what was expected, never the value."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class ArgsError(ValueError):
    """The arguments of a transform step are wrong (a configuration problem)."""


Fn = Callable[[Any, Any, TransformContext], Any]


@dataclass(frozen=True, slots=True)
class Transform:
    """One entry of the closed registry.

    ``compile`` turns the YAML arguments into whatever ``outbound``/``inbound`` use (raising
    :class:`ArgsError`); ``outbound`` converts canonical -> native, ``inbound`` the inverse.
    ``None`` never reaches the functions unless ``handles_none`` is set.
    """

    name: str
    summary: str
    outbound: Fn
    inbound: Fn
    compile: Callable[[Any], Any]
    handles_none: bool = False


def no_args(raw: Any) -> None:
    """Compile function of a transform that takes no arguments."""
    if raw is not None:
        raise ArgsError("takes no arguments; write it as a bare name")


class StrictArgs(BaseModel):
    """Base of the argument models: unknown keys are typos, so they are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


M = TypeVar("M", bound=BaseModel)


def validate_args(model: type[M], data: Any) -> M:
    """Validate ``data`` against ``model``; a failure becomes one readable :class:`ArgsError`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            parts.append(f"{loc}: {err['msg']}" if loc else str(err["msg"]))
        raise ArgsError("; ".join(parts)) from None


def plain(value: Any) -> Any:
    """Enum members become their value, so maps keyed by YAML strings find them."""
    return value.value if isinstance(value, Enum) else value


def is_blank(value: Any) -> bool:
    """True for None and whitespace-only text (an empty CSV cell or HubSpot property)."""
    return value is None or (isinstance(value, str) and not value.strip())


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; an unknown name is a configuration error, not a record error."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise MappingError(
            f"unknown time zone {name!r}; use an IANA name such as America/Chicago or UTC"
        ) from None


def as_mapping(raw: Any) -> Mapping[Any, Any] | None:
    """``raw`` if it is a mapping, else None (helps the shorthand-or-full argument forms)."""
    return raw if isinstance(raw, Mapping) else None
