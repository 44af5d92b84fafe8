"""Redaction of secrets and PHI from any text before it is logged, raised or reported.

:class:`Redactor` replaces, with ``[REDACTED]``:

- **known values** registered at runtime: secrets (tokens, passwords, keys) and PHI values
  (a patient's name, birth date, MRN, phone, ...), matched case-insensitively, with common
  re-spellings (a phone number in any punctuation, a birth date as ``MM/DD/YYYY``, an MRN
  without its leading zeros, a name as ``Last, First``);
- **token-like patterns** whether registered or not (:data:`TOKEN_PATTERNS`): bearer/basic
  credentials, ``Authorization`` headers, Salesforce session ids (``00D...!...``), HubSpot
  private-app tokens (``pat-na1-...``), JWTs, ``access_token=...``-style parameters and JSON
  members, PEM private keys;
- **contact patterns** (:data:`CONTACT_PATTERNS`, on by default): e-mail addresses, US phone
  numbers, SSNs.

Values shorter than ``min_length`` (default 4) are not registered: redacting every "TX" or
"12" would make logs useless, and such short values identify nobody. The module is pure:
wiring it into logging is the job of ``sync``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, quote_plus

from pydantic import BaseModel

from mapping.model import phi_paths

__all__ = [
    "CONTACT_PATTERNS",
    "DEFAULT_PATTERNS",
    "REDACTED",
    "SECRET_KEY_PATTERN",
    "TOKEN_PATTERNS",
    "Pattern",
    "Redactor",
    "date_spellings",
]

REDACTED = "[REDACTED]"


@dataclass(frozen=True, slots=True)
class Pattern:
    """A named pattern; when it has a group named ``secret`` only that group is replaced."""

    name: str
    regex: re.Pattern[str]


def _p(name: str, regex: str, flags: int = 0) -> Pattern:
    return Pattern(name, re.compile(regex, flags))


_SECRET_NAMES = (
    r"access_token|refresh_token|id_token|client_secret|client_assertion|assertion|password"
    r"|passwd|api_?key|apikey|private_key|session_?id|sid|token|secret"
)

TOKEN_PATTERNS: tuple[Pattern, ...] = (
    _p(
        "pem_private_key",
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----",
        re.S,
    ),
    _p(
        "authorization_header",
        r"(?i)\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?(?P<secret>[^\r\n\"',;}]+)",
    ),
    _p("bearer", r"(?i)\b(?:bearer|basic)\s+(?P<secret>[A-Za-z0-9\-._~+/]{8,}=*)"),
    _p("salesforce_session", r"\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]+"),
    _p(
        "hubspot_token",
        r"\bpat-[a-z]{2,4}\d*-[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\b",
    ),
    _p("jwt", r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
    _p("secret_parameter", rf"(?i)\b(?:{_SECRET_NAMES})=(?P<secret>[^&\s\"']+)"),
    _p("secret_json_member", rf"(?i)[\"'](?:{_SECRET_NAMES})[\"']\s*:\s*[\"'](?P<secret>[^\"']+)"),
)
"""Credentials, recognised by shape."""

CONTACT_PATTERNS: tuple[Pattern, ...] = (
    _p("email", r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"),
    _p("us_phone", r"(?<![\w+])(?:\+?1[\s.-]?)?\(?[2-9]\d{2}\)?[\s.-]\d{3}[\s.-]\d{4}\b"),
    _p("e164_phone", r"\+1[2-9]\d{9}\b"),
    _p("ssn", r"\b\d{3}-\d{2}-\d{4}\b"),
)
"""Contact details that are PHI when linked to a referral."""

DEFAULT_PATTERNS: tuple[Pattern, ...] = TOKEN_PATTERNS + CONTACT_PATTERNS

SECRET_KEY_PATTERN = re.compile(
    r"(?i)(token|secret|password|passwd|authorization|api[_-]?key|private[_-]?key|session"
    r"|cookie|assertion|credential)"
)
"""Mapping keys whose values :meth:`Redactor.redact_data` replaces wholesale."""


def _emit(node: dict[str, Any]) -> str:
    # Regex for a trie: shared prefixes are matched once, so thousands of registered values
    # cost about as much as a handful; an optional tail makes the longest value win.
    chain: list[str] = []
    while True:
        keys = sorted(k for k in node if k)
        if len(keys) != 1 or "" in node:
            break
        chain.append(re.escape(keys[0]))
        node = node[keys[0]]
    if not keys:
        return "".join(chain)
    branches = [re.escape(k) + _emit(node[k]) for k in keys]
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return "".join(chain) + (f"(?:{body})?" if "" in node else body)


def _trie_regex(values: Iterable[str]) -> re.Pattern[str] | None:
    trie: dict[str, Any] = {}
    for value in values:
        node = trie
        for ch in value:
            node = node.setdefault(ch, {})
        node[""] = {}
    return re.compile(_emit(trie), re.IGNORECASE) if trie else None


def date_spellings(day: date) -> list[str]:
    """How a date is commonly written in logs and exports (ISO, US, short year, compact)."""
    return [
        day.isoformat(),
        f"{day.month:02d}/{day.day:02d}/{day.year}",
        f"{day.month}/{day.day}/{day.year}",
        f"{day.month:02d}/{day.day:02d}/{day.year % 100:02d}",
        f"{day.year}{day.month:02d}{day.day:02d}",
    ]


def _text_variants(text: str, *, is_name: bool) -> list[str]:
    # URL-encoded spellings too: vendor exceptions quote request URLs with SOQL/filter values.
    variants = [text, quote(text, safe=""), quote_plus(text, safe="")]
    digits = re.sub(r"\D", "", text)
    if digits and re.fullmatch(r"[\d\s().+\-/]+", text):
        national = digits[1:] if len(digits) == 11 and digits[0] == "1" else digits
        variants += [digits, digits.lstrip("0"), national, "+1" + national]
        if len(national) == 10:
            a, b, c = national[:3], national[3:6], national[6:]
            variants += [f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"{a} {b} {c}"]
    words = text.split()
    if is_name and len(words) >= 2:
        variants += [f"{words[-1]}, {' '.join(words[:-1])}", *words]
    return variants


class Redactor:
    """Replaces registered values and token-like patterns in text with ``[REDACTED]``.

    Safe to share between threads: registration and compilation take a lock.
    """

    def __init__(
        self,
        *,
        secrets: Iterable[str | None] = (),
        phi: Iterable[Any] = (),
        patterns: Sequence[Pattern] = DEFAULT_PATTERNS,
        replacement: str = REDACTED,
        min_length: int = 4,
    ) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pending: set[str] = set()
        # Compiled in levels of doubling size (like a binary counter), so registering values
        # one at a time between redactions costs O(n log n) compilation, not O(n^2).
        self._levels: list[tuple[frozenset[str], re.Pattern[str]]] = []
        self.patterns = tuple(patterns)
        self.replacement = replacement
        self.min_length = min_length
        for secret in secrets:
            self.add_secret(secret)
        for value in phi:
            self.add_phi(value)

    def _add(self, values: Iterable[str]) -> None:
        fresh = {v.lower() for v in (s.strip() for s in values) if len(v) >= self.min_length}
        with self._lock:
            fresh -= self._values
            self._values |= fresh
            self._pending |= fresh

    def add_secret(self, value: str | None) -> None:
        """Register a secret value (a token, password, client secret, key file content)."""
        if value:
            self._add([value, *value.splitlines()])

    def add_phi(self, value: Any, *, is_name: bool = False) -> None:
        """Register a PHI value (text, date, number) with its common re-spellings."""
        if value is None or isinstance(value, bool):
            return
        if isinstance(value, datetime):
            self._add([value.isoformat(), *date_spellings(value.date())])
        elif isinstance(value, date):
            self._add(date_spellings(value))
        else:
            self._add(_text_variants(str(value).strip(), is_name=is_name))

    def add_phi_from(self, record: BaseModel) -> None:
        """Register the value of every PHI field of a canonical record (see ``phi_paths``)."""
        for path in sorted(phi_paths(type(record))):
            value: Any = record
            for part in path.split("."):
                value = getattr(value, part, None)
            if not isinstance(value, BaseModel):
                self.add_phi(value, is_name=path.rsplit(".", 1)[-1].endswith("name"))

    def _known(self) -> list[re.Pattern[str]]:
        with self._lock:
            if self._pending:
                merged = frozenset(self._pending)
                self._pending.clear()
                while self._levels and len(self._levels[-1][0]) <= len(merged):
                    merged |= self._levels.pop()[0]
                pattern = _trie_regex(merged)
                if pattern is not None:
                    self._levels.append((merged, pattern))
            return [pattern for _, pattern in self._levels]

    def _redact_known(self, text: str) -> str:
        # Spans from every level are merged before replacing, so a value that extends a
        # shorter one registered in another level is still redacted whole.
        spans = sorted(
            m.span() for p in self._known() for m in p.finditer(text) if m.end() > m.start()
        )
        if not spans:
            return text
        merged: list[list[int]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        parts, last = [], 0
        for start, end in merged:
            parts += [text[last:start], self.replacement]
            last = end
        return "".join([*parts, text[last:]])

    def _replace(self, match: re.Match[str]) -> str:
        if "secret" in match.re.groupindex and match.group("secret") is not None:
            start, end = match.span("secret")
            whole_start = match.start()
            text = match.group(0)
            return text[: start - whole_start] + self.replacement + text[end - whole_start :]
        return self.replacement

    def redact(self, text: str) -> str:
        """``text`` with every registered value and token-like pattern replaced."""
        if not text:
            return text
        text = self._redact_known(text)
        for pattern in self.patterns:
            text = pattern.regex.sub(self._replace, text)
        return text

    __call__ = redact

    def redact_data(self, data: Any) -> Any:
        """A copy of nested dicts/lists with strings redacted and secret-named keys blanked."""
        if isinstance(data, str):
            return self.redact(data)
        if isinstance(data, Mapping):
            return {
                k: self.replacement
                if isinstance(k, str) and SECRET_KEY_PATTERN.search(k) and v is not None
                else self.redact_data(v)
                for k, v in data.items()
            }
        if isinstance(data, list | tuple):
            return type(data)(self.redact_data(v) for v in data)
        return data
