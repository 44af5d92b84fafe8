"""A tokenizer and recursive-descent parser for the SOQL subset refsync emits.

Grammar (keywords case-insensitive)::

    query   := SELECT (COUNT '(' ')' | path (',' path)*) FROM name
               [WHERE or] [ORDER BY order (',' order)*] [LIMIT int] [OFFSET int]
    or      := and (OR and)*
    and     := unary (AND unary)*
    unary   := NOT unary | '(' or ')' | path op value | path [NOT] IN '(' value (',' value)* ')'
               | path LIKE string
    op      := = | != | <> | < | <= | > | >=
    value   := string | number | datetime | date | NULL | TRUE | FALSE
    order   := path [ASC | DESC] [NULLS (FIRST | LAST)]

Literals become Python values (``str``, ``int``/``float``, ``datetime``, ``date``, ``bool``,
``None``). A syntax error raises :class:`ApiError` 400 ``MALFORMED_QUERY``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from connectors.sandbox.salesforce.errors import ApiError
from connectors.sandbox.salesforce.values import parse_datetime

__all__ = ["And", "Compare", "In", "Like", "Not", "Or", "OrderItem", "Path", "Query", "parse"]

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}
_KEYWORDS = frozenset(
    [
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "IN",
        "LIKE",
        "ORDER",
        "BY",
        "ASC",
        "DESC",
        "NULLS",
        "FIRST",
        "LAST",
        "LIMIT",
        "OFFSET",
        "NULL",
        "TRUE",
        "FALSE",
        "COUNT",
    ]
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int  # 0-based offset in the query text

    @property
    def keyword(self) -> str | None:
        upper = self.text.upper()
        return upper if self.kind == "name" and upper in _KEYWORDS else None


@dataclass(frozen=True)
class Path:
    """A field reference, ``Name`` or ``Partner__r.Refsync_Id__c``, and where it was written."""

    parts: tuple[str, ...]
    pos: int

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Compare:
    path: Path
    op: str
    value: Any


@dataclass(frozen=True)
class In:
    path: Path
    values: tuple[Any, ...]
    negate: bool = False


@dataclass(frozen=True)
class Like:
    path: Path
    pattern: str


@dataclass(frozen=True)
class And:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Not:
    item: Any


@dataclass(frozen=True)
class OrderItem:
    path: Path
    descending: bool = False
    nulls_first: bool | None = None  # None: Salesforce default (first for ASC, last for DESC)


@dataclass
class Query:
    sobject: str
    sobject_pos: int
    fields: list[Path] = field(default_factory=list)
    count: bool = False
    where: Any = None
    order: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None
    text: str = ""


def _malformed(text: str, token: Token | None, expected: str) -> ApiError:
    near = token.text if token else "<end of query>"
    return ApiError(
        400, "MALFORMED_QUERY", f"\n{text}\nunexpected token: '{near}' (expected {expected})"
    )


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ApiError(
                400, "MALFORMED_QUERY", f"\n{text}\nunexpected character at column {pos + 1}"
            )
        if m.lastgroup != "ws":
            tokens.append(Token(str(m.lastgroup), m.group(), pos))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # -- token helpers ------------------------------------------------------------------------

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def at(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and (
            tok.keyword in words or (tok.kind != "name" and tok.text in words)
        )

    def take(self, *words: str) -> Token:
        tok = self.peek()
        if not self.at(*words):
            raise _malformed(self.text, tok, " or ".join(words))
        self.i += 1
        return tok  # type: ignore[return-value]

    def path(self) -> Path:
        tok = self.peek()
        if tok is None or tok.kind != "name" or tok.keyword:
            raise _malformed(self.text, tok, "a field name")
        self.i += 1
        return Path(tuple(tok.text.split(".")), tok.pos)

    # -- grammar ------------------------------------------------------------------------------

    def query(self) -> Query:
        self.take("SELECT")
        fields: list[Path] = []
        count = False
        if self.at("COUNT"):
            self.take("COUNT"), self.take("("), self.take(")")
            count = True
        else:
            fields.append(self.path())
            while self.at(","):
                self.take(",")
                fields.append(self.path())
        self.take("FROM")
        obj = self.path()
        q = Query(obj.text, obj.pos, fields, count, text=self.text)
        self.clauses(q)
        if self.peek() is not None:
            raise _malformed(self.text, self.peek(), "end of query")
        return q

    def clauses(self, q: Query) -> None:
        if self.at("WHERE"):
            self.take("WHERE")
            q.where = self.or_()
        if self.at("ORDER"):
            self.take("ORDER"), self.take("BY")
            q.order.append(self.order_item())
            while self.at(","):
                self.take(",")
                q.order.append(self.order_item())
        if self.at("LIMIT"):
            self.take("LIMIT")
            q.limit = self.integer()
        if self.at("OFFSET"):
            self.take("OFFSET")
            q.offset = self.integer()

    def integer(self) -> int:
        tok = self.peek()
        if tok is None or tok.kind != "number" or not tok.text.isdigit():
            raise _malformed(self.text, tok, "a non-negative integer")
        self.i += 1
        return int(tok.text)

    def order_item(self) -> OrderItem:
        path = self.path()
        descending = False
        if self.at("ASC", "DESC"):
            descending = self.take("ASC", "DESC").keyword == "DESC"
        nulls_first = None
        if self.at("NULLS"):
            self.take("NULLS")
            nulls_first = self.take("FIRST", "LAST").keyword == "FIRST"
        return OrderItem(path, descending, nulls_first)

    def or_(self) -> Any:
        items = [self.and_()]
        while self.at("OR"):
            self.take("OR")
            items.append(self.and_())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_(self) -> Any:
        items = [self.unary()]
        while self.at("AND"):
            self.take("AND")
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self) -> Any:
        if self.at("NOT"):
            self.take("NOT")
            return Not(self.unary())
        if self.at("("):
            self.take("(")
            inner = self.or_()
            self.take(")")
            return inner
        return self.condition()

    def condition(self) -> Any:
        path = self.path()
        if self.at("NOT", "IN"):
            negate = self.take("NOT", "IN").keyword == "NOT"
            if negate:
                self.take("IN")
            self.take("(")
            values = [self.value()]
            while self.at(","):
                self.take(",")
                values.append(self.value())
            self.take(")")
            return In(path, tuple(values), negate)
        if self.at("LIKE"):
            self.take("LIKE")
            pattern = self.value()
            if not isinstance(pattern, str):
                raise _malformed(self.text, self.peek(), "a string pattern after LIKE")
            return Like(path, pattern)
        tok = self.peek()
        if tok is None or tok.kind != "op":
            raise _malformed(self.text, tok, "a comparison operator")
        self.i += 1
        return Compare(path, "!=" if tok.text == "<>" else tok.text, self.value())

    def value(self) -> Any:
        tok = self.peek()
        if tok is None:
            raise _malformed(self.text, tok, "a value")
        self.i += 1
        if tok.kind == "string":
            return _unescape(tok.text[1:-1])
        if tok.kind == "number":
            return float(tok.text) if "." in tok.text else int(tok.text)
        if tok.kind == "datetime":
            return parse_datetime(tok.text)
        if tok.kind == "date":
            return date.fromisoformat(tok.text)
        if tok.keyword in ("NULL", "TRUE", "FALSE"):
            return {"NULL": None, "TRUE": True, "FALSE": False}[tok.keyword]
        raise _malformed(self.text, tok, "a value")


def _unescape(body: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))  # \_ and \% stay escaped for LIKE
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def parse(text: str) -> Query:
    """Parse one SOQL statement (raises 400 ``MALFORMED_QUERY`` on a syntax error)."""
    return _Parser(text).query()
