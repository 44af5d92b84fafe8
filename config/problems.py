"""Problems with their place: ``file:line:col: message``, collected, never raised one by one.

:class:`YamlFile` is one loaded file (ruamel round-trip nodes keep line and column);
:class:`Problems` collects problems from every tier so the loader can report them all at
once, and turns pydantic ``ValidationError`` locations back into YAML positions.
"""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from config.limits import TooBig, YamlLimits, expansion_problem, read_bounded

__all__ = ["Loc", "Problem", "Problems", "YamlFile", "load_yaml", "locate", "plain"]

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One problem; ``secret`` marks the ones about secrets (missing ${VAR}, literal)."""

    file: str
    line: int
    col: int
    message: str
    secret: bool = field(default=False, compare=False)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


@dataclass(slots=True)
class YamlFile:
    """A loaded YAML file: ``doc`` is the ruamel node tree (None when unreadable)."""

    path: Path
    display: str
    doc: Any = None

    def position(self, loc: Loc) -> tuple[int, int]:
        """1-based (line, col) of the deepest node of ``loc`` that exists in the file."""
        line, col = 1, 1
        node = self.doc
        for part in loc:
            if isinstance(node, CommentedMap) and part in node:
                line, col = node.lc.key(part)
                line, col = line + 1, col + 1
                node = node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
                line, col = node.lc.item(part)
                line, col = line + 1, col + 1
                node = node[part]
            elif isinstance(node, CommentedMap) and part == "[key]":
                continue  # pydantic's marker for "the key itself", already positioned
            else:
                break
        return line, col


def load_yaml(
    path: Path, display: str, problems: Problems, limits: YamlLimits | None = None
) -> YamlFile:
    """Load ``path`` keeping positions; a missing, malformed or oversized file is a problem.

    ``limits`` (default: :meth:`YamlLimits.from_env`) bound the bytes read and the nodes the
    document's aliases expand to; past either, ``doc`` stays None and the problem says which
    setting raises the limit.
    """
    limits = limits or YamlLimits.from_env()
    file = YamlFile(path, display)
    try:
        text = read_bounded(path, limits.max_bytes)
    except FileNotFoundError:
        problems.add_at(file, 1, 1, "file not found")
        return file
    except OSError as exc:
        problems.add_at(file, 1, 1, f"cannot read file: {exc.strerror}")
        return file
    except TooBig as exc:
        problems.add_at(file, 1, 1, str(exc))
        return file
    except UnicodeDecodeError:
        problems.add_at(file, 1, 1, "file is not UTF-8 text; save it as UTF-8")
        return file
    file.doc = _parse(file, text, problems)
    if file.doc is not None:
        bomb = expansion_problem(file.doc, limits.max_nodes)
        if bomb is not None:
            problems.add(file, bomb[0], bomb[1])
            file.doc = None
    return file


def _parse(file: YamlFile, text: str, problems: Problems) -> Any:
    try:
        doc = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problems.add_at(file, line, col, _yaml_message(exc))
        return None
    except YAMLError as exc:
        problems.add_at(file, 1, 1, f"invalid YAML: {exc}")
        return None
    except RecursionError:
        problems.add_at(file, 1, 1, "blocks are nested too deeply to read; flatten the file")
        return None
    if doc is None:
        problems.add_at(file, 1, 1, "file is empty")
    return doc


def _yaml_message(exc: MarkedYAMLError) -> str:
    if isinstance(exc, DuplicateKeyError):
        # ruamel's own message quotes both values, which may be secrets or PHI
        key = re.search(r'duplicate key "(.*?)" with value', str(exc.problem))
        name = f" {key.group(1)!r}" if key else ""
        return f"duplicate key{name}: it is already defined above in the same mapping; keep one"
    problem = str(exc.problem or exc.context)
    if "\\t" in problem or "tab" in problem.lower():
        return "a tab character indents this line: YAML allows only spaces; indent with spaces"
    return f"invalid YAML: {problem}"


def locate(path: Path, loc: Loc, display: str | None = None) -> str:
    """``file:line:col`` of the node ``loc`` in the YAML file ``path`` (for later reports)."""
    file = load_yaml(path, display or str(path), Problems())
    line, col = file.position(loc)
    return f"{file.display}:{line}:{col}"


def plain(node: Any) -> Any:
    """ruamel nodes -> plain dicts, lists and scalars (what pydantic validates)."""
    if isinstance(node, Mapping):
        return {plain(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    for typ in (str, int, float):
        if isinstance(node, typ):
            return typ(node)
    return node


class Problems:
    """Collects every problem of a load; iterate or ``sorted()`` to report them."""

    def __init__(self) -> None:
        self._items: list[Problem] = []
        self.warnings: list[Problem] = []

    def __iter__(self) -> Iterator[Problem]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def add_at(
        self, file: YamlFile, line: int, col: int, message: str, *, secret: bool = False
    ) -> None:
        self._items.append(Problem(file.display, line, col, message, secret))

    def add(self, file: YamlFile, loc: Loc, message: str, *, secret: bool = False) -> None:
        """A problem at the node ``loc`` of ``file`` (or its deepest existing ancestor)."""
        line, col = file.position(loc)
        self.add_at(file, line, col, message, secret=secret)

    def warn(self, file: YamlFile, loc: Loc, message: str) -> None:
        """Not a problem (validation passes), but printed: deprecated keys and the like."""
        line, col = file.position(loc)
        self.warnings.append(Problem(file.display, line, col, f"warning: {message}"))

    def add_validation(
        self,
        file: YamlFile,
        exc: ValidationError,
        model: Any,
        prefix: Loc = (),
    ) -> None:
        """One problem per pydantic error, located in the YAML; ``model`` is what failed."""
        for err in exc.errors(include_url=False, include_input=False):
            loc = _clean_loc(err["loc"])
            self.add(file, (*prefix, *loc), _describe(err, loc, model, prefix))


def _clean_loc(loc: Sequence[str | int]) -> Loc:
    """Drop pydantic's validator tags (``function-after[...]``) from a location."""
    return tuple(p for p in loc if not (isinstance(p, str) and ("[" in p and p != "[key]")))


def _describe(err: Mapping[str, Any], loc: Loc, model: Any, prefix: Loc = ()) -> str:
    kind = err["type"]
    names = [p for p in loc if p != "[key]"]
    last = names[-1] if names else None
    if kind == "extra_forbidden" and last is not None:
        known = _known_keys(model, names[:-1])
        hint = difflib.get_close_matches(str(last), known, n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        allowed = f"; allowed: {', '.join(known)}" if known and not hint else ""
        return f"unknown key {last!r}{suggestion}{allowed}"
    if kind == "missing" and last is not None:
        return f"missing required key {last!r}"
    message = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    where = _dotted([*prefix, *names])
    if "[key]" in loc:
        return f"{where}: invalid key: {message}"
    return f"{where}: {message}" if where else message


def _dotted(names: Sequence[str | int]) -> str:
    out = ""
    for part in names:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _known_keys(model: Any, loc: Sequence[str | int]) -> list[str]:
    """Field names of the model reached by walking ``loc`` through ``model``'s annotations."""
    node: Any = model
    for part in loc:
        node = _step(node, part)
        if node is None:
            return []
    sub = _model_of(node)
    return list(sub.model_fields) if sub is not None else []


def _step(annotation: Any, part: str | int) -> Any:
    sub = _model_of(annotation)
    if sub is not None:
        info = sub.model_fields.get(str(part))
        return None if info is None else info.annotation
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (list, Sequence) and args:
        return args[0]
    if origin in (dict, Mapping) and len(args) == 2:
        return args[1]
    for arg in args:  # X | None, Annotated[X, ...]
        if _model_of(arg) is not None or typing.get_origin(arg) in (list, dict):
            return _step(arg, part)
    return None


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (list, dict):
        return None
    for arg in typing.get_args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None
