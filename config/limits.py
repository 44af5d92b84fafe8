"""Bounds on what a configuration file may cost to read: bytes on disk, nodes after aliases.

A program directory is edited by people and, at a hospital, reviewed by nobody before
``refsync validate`` reads it. A YAML alias bomb ("billion laughs": ten lines whose aliases
expand to 10^9 nodes) or a multi-gigabyte file must be refused in milliseconds, not hang
validation. Both limits have a name to raise them by, printed in the refusal:
``REFSYNC_MAX_CONFIG_BYTES`` and ``REFSYNC_MAX_YAML_NODES`` (environment variables).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_MAX_CONFIG_BYTES",
    "DEFAULT_MAX_YAML_NODES",
    "MAX_BYTES_VARIABLE",
    "MAX_NODES_VARIABLE",
    "TooBig",
    "YamlLimits",
    "expansion_problem",
    "read_bounded",
]

DEFAULT_MAX_CONFIG_BYTES = 1024 * 1024
"""1 MiB: a hundred times the largest shipped mapping file."""
DEFAULT_MAX_YAML_NODES = 100_000
"""Nodes of one file after aliases are expanded (a real mapping file has about 1,000)."""
MAX_BYTES_VARIABLE = "REFSYNC_MAX_CONFIG_BYTES"
MAX_NODES_VARIABLE = "REFSYNC_MAX_YAML_NODES"


@dataclass(frozen=True, slots=True)
class YamlLimits:
    """How big one configuration file may be, on disk and once its aliases are expanded."""

    max_bytes: int = DEFAULT_MAX_CONFIG_BYTES
    max_nodes: int = DEFAULT_MAX_YAML_NODES

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> YamlLimits:
        """The defaults, raised (or lowered) by the two variables when they hold a number."""
        values = os.environ if env is None else env
        return cls(
            max_bytes=_positive(values.get(MAX_BYTES_VARIABLE), DEFAULT_MAX_CONFIG_BYTES),
            max_nodes=_positive(values.get(MAX_NODES_VARIABLE), DEFAULT_MAX_YAML_NODES),
        )


def _positive(text: str | None, default: int) -> int:
    try:
        value = int(str(text).replace("_", ""))
    except ValueError:
        return default
    return value if value > 0 else default


class TooBig(Exception):
    """The file is larger than :attr:`YamlLimits.max_bytes`; the message says how to raise it."""


def read_bounded(path: Path, limit: int) -> str:
    """The file's text, read no further than ``limit`` + 1 bytes (a 1 GB file costs nothing).

    Raises :class:`TooBig`, ``OSError`` (unreadable) or ``UnicodeDecodeError``.
    """
    with path.open("rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise TooBig(
            f"file is larger than {_size(limit)}, the limit for configuration files; "
            f"split it, or set {MAX_BYTES_VARIABLE} (bytes) higher if it is meant to be this big"
        )
    return data.decode("utf-8")


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB" if n >= 1024 * 1024 else f"{n:,} bytes"


class _Stop(Exception):
    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        # ruamel places a sequence item that is an alias at its anchor, not where the alias is
        # written: name the key that holds the sequence instead.
        while loc and isinstance(loc[-1], int):
            loc = loc[:-1]
        self.loc = loc
        self.message = message


def expansion_problem(doc: Any, limit: int) -> tuple[tuple[str | int, ...], str] | None:
    """Where (a key path into ``doc``) and why the document is too big once expanded, if it is.

    ``doc`` is a loaded document whose aliases are shared containers (what ruamel builds):
    each container is walked once and its size remembered, so a billion-laughs file costs
    at most ``limit`` steps. An alias that contains itself is refused too (it would recurse
    forever in every later step).
    """
    walker = _Walker(limit)
    try:
        walker.walk(doc, ())
    except _Stop as stop:
        return stop.loc, stop.message
    return None


class _Walker:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.total = 0
        self.aliases = 0
        self.sizes: dict[int, int] = {}
        self.active: set[int] = set()

    def _count(self, n: int, loc: tuple[str | int, ...]) -> None:
        self.total += n
        if self.total > self.limit:
            what = "aliases expand" if self.aliases else "the document grows"
            raise _Stop(
                loc,
                f"{what} past {self.limit:,} nodes; remove the YAML aliases (*name) that "
                f"repeat large blocks, or set {MAX_NODES_VARIABLE} higher if this file is "
                "meant to be this big",
            )

    def walk(self, node: Any, loc: tuple[str | int, ...]) -> None:
        if isinstance(node, Mapping):
            children: list[tuple[str | int, Any]] = list(node.items())
        elif isinstance(node, list):
            children = list(enumerate(node))
        else:
            self._count(1, loc)
            return
        key = id(node)
        if key in self.active:
            raise _Stop(loc, "an alias (*name) refers to a block that contains it; remove it")
        if key in self.sizes:
            self.aliases += 1
            self._count(self.sizes[key], loc)
            return
        self.active.add(key)
        before = self.total
        self._count(1, loc)
        for part, child in children:
            self.walk(child, (*loc, part))
        self.active.discard(key)
        self.sizes[key] = self.total - before
