"""Logging for refsync: every record passes one redaction filter before any handler sees it.

The filter (a :class:`mapping.redact.Redactor`) replaces the secret values of the program's
connections, and token-shaped strings (Bearer tokens, Salesforce session ids, HubSpot
private-app tokens, JWTs, PEM keys) wherever they appear: in the message, its arguments and
an exception's text. Vendor libraries log through the same root logger, so their debug output
is covered too.

PHI read during a run (patient names, MRNs, birth dates, phones) is registered with
:data:`RUN_PHI` as the engine reads it (:func:`register_phi`), and every filter redacts it
from then on, whatever logger or exception carries it. PHI is matched by looking each run of
words of a line up in a set, not by one regular expression over every value: registering
100,000 patients costs a set insert each, where compiling them into a pattern took minutes.
The set holds a 60-bit hash of each spelling, not the spelling: a run registers about ten
spellings per patient, and a small int costs a third less than the text (and is no PHI). A
hash collision can only redact a word that is not PHI, never let a PHI value through.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, SecretStr

from mapping.redact import REDACTED, Redactor, date_spellings

__all__ = [
    "RUN_PHI",
    "PhiValues",
    "RedactingFilter",
    "configure_logging",
    "register_phi",
    "secrets_of",
]

# Letters and digits are separate words, so an MRN glued to a label ("MRN00991177") or a name
# inside an identifier ("doe_jane") is still found.
_WORD = re.compile(r"[^\W\d_]+|\d+")
_URL_SAFE = re.compile(r"[A-Za-z0-9_.~-]*")  # what quote() leaves as it is
_MIN_LENGTH = 4  # as mapping.redact: shorter values identify nobody and would gut the logs
# Hashes below 2**60 are two-digit ints (32 bytes); a full 64-bit hash takes 40. Python's str
# hash is keyed per process (PYTHONHASHSEED), so the set means nothing outside this process.
_HASH_MASK = (1 << 60) - 1


def _key(text: str) -> int:
    return hash(text) & _HASH_MASK


class PhiValues:
    """The PHI values read by this process, with their common re-spellings, for redaction.

    Values are kept lower-cased, as hashes (:func:`_key`), in a set; :meth:`redact` looks up
    every run of up to ``max_words`` consecutive words of a text (with the text between
    them) and replaces the longest run found. Thread-safe: runs register from their writer
    threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[int] = set()
        self._seen: set[int] = set()  # values already expanded (type, text, is_name)
        self._max_words = 1

    def __len__(self) -> int:
        return len(self._values)

    def add(self, value: Any, *, is_name: bool = False) -> None:
        """Register one PHI value (text, number, date or datetime)."""
        if value is None or isinstance(value, bool):
            return
        seen = hash((type(value).__name__, str(value), is_name)) & _HASH_MASK
        if seen in self._seen:  # the same patient on every page: variants computed once
            return
        self._seen.add(seen)
        if isinstance(value, datetime):
            variants = [value.isoformat(), *date_spellings(value.date())]
        elif isinstance(value, date):
            variants = date_spellings(value)
        else:
            variants = _text_variants(str(value).strip(), is_name=is_name)
        lowered = {v.lower() for v in variants if len(v) >= _MIN_LENGTH}
        if not lowered:
            return
        words = max(len(_WORD.findall(v)) for v in lowered)
        fresh = {_key(v) for v in lowered}
        with self._lock:
            self._values |= fresh
            self._max_words = max(self._max_words, words)

    def redact(self, text: str) -> str:
        """``text`` with every registered value replaced by ``[REDACTED]``."""
        if not self._values or not text:
            return text
        words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
        lowered, out, last, i = text.lower(), [], 0, 0
        while i < len(words):
            start = words[i][0]
            hit = None
            for j in range(min(len(words), i + self._max_words) - 1, i - 1, -1):
                if _key(lowered[start : words[j][1]]) in self._values:
                    hit = j
                    break
            if hit is None:
                i += 1
                continue
            out += [text[last:start], REDACTED]
            last, i = words[hit][1], hit + 1
        return "".join([*out, text[last:]]) if out else text


# quote(text, safe="") for ASCII text as one str.translate: every character but letters,
# digits and "_.-~" as %XX (upper-case hex, as urllib); an ASCII character is its own byte.
_QUOTED = {c: f"%{c:02X}" for c in range(128) if not _URL_SAFE.fullmatch(chr(c))}


def _quote(text: str) -> str:
    """``urllib.parse.quote(text, safe="")``, in C for ASCII text (the usual name)."""
    return text.translate(_QUOTED) if text.isascii() else quote(text, safe="")


def _text_variants(text: str, *, is_name: bool) -> list[str]:
    spellings = [text, " ".join(text.split())]
    last, comma, first = text.partition(",")
    if is_name and comma and first.strip():  # exports write "LAST,FIRST": logs say "First Last"
        spellings += [f"{last.strip()}, {first.strip()}", " ".join([*first.split(), *last.split()])]
    # URL-encoded spellings too: vendor exceptions quote request URLs with filter values.
    spellings = list(dict.fromkeys(spellings))
    variants = [*spellings]
    for spelling in spellings:
        if not _URL_SAFE.fullmatch(spelling):
            quoted = _quote(spelling)
            variants += [quoted, quoted.replace("%20", "+")]  # that is quote_plus(spelling)
    digits = re.sub(r"\D", "", text)
    if digits and re.fullmatch(r"[\w\s().+\-/]+", text) and len(digits) >= len(text) // 2:
        national = digits[1:] if len(digits) == 11 and digits[0] == "1" else digits
        variants += [digits, digits.lstrip("0"), national]
        if len(national) == 10:
            a, b, c = national[:3], national[3:6], national[6:]
            variants += [f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"{a} {b} {c}"]
    words = text.replace(",", " ").split()
    if is_name and len(words) >= 2:
        variants += [f"{words[-1]}, {' '.join(words[:-1])}", *words]
    return variants


RUN_PHI = PhiValues()
"""This process's PHI values, shared by every :class:`RedactingFilter`."""


def register_phi(value: Any, *, is_name: bool = False) -> None:
    """Register a PHI value read during a run: no log line of this process will carry it."""
    RUN_PHI.add(value, is_name=is_name)


class RedactingFilter(logging.Filter):
    """Rewrites each record's text through ``phi`` then ``redactor`` (never drops a record)."""

    def __init__(self, redactor: Redactor, phi: PhiValues = RUN_PHI) -> None:
        super().__init__()
        self.redactor = redactor
        self.phi = phi

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            message = f"{message}\n{text}"
            record.exc_info = None
            record.exc_text = None
        record.msg = self.redactor.redact(self.phi.redact(message))
        record.args = None
        return True


class _JsonFormatter(logging.Formatter):
    """One JSON object per line; a record's ``extra={"refsync": {...}}`` fields (events such
    as ``run_started``/``run_finished``: job, run id, status, counts) are merged in."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "refsync", None)
        return json.dumps(
            {
                "time": self.formatTime(record),
                "level": record.levelname,
                "logger": record.name,
                "message": record.getMessage(),
                **(fields if isinstance(fields, dict) else {}),
            },
            default=str,
        )


def secrets_of(settings: Iterable[Any]) -> list[str]:
    """Every secret value held by connection settings models (SecretStr fields)."""
    found: list[str] = []
    for model in settings:
        if isinstance(model, BaseModel):
            for name in type(model).model_fields:
                value = getattr(model, name, None)
                if isinstance(value, SecretStr) and value.get_secret_value():
                    found.append(value.get_secret_value())
    return found


def configure_logging(
    *, json_lines: bool = False, verbose: bool = False, secrets: Iterable[str] = ()
) -> RedactingFilter:
    """Route all logging to stderr through the redaction filter; return the filter."""
    redactor = Redactor()
    for secret in secrets:
        redactor.add_secret(secret)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _JsonFormatter()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    redacting = RedactingFilter(redactor)
    handler.addFilter(redacting)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose or json_lines else logging.WARNING)
    return redacting
