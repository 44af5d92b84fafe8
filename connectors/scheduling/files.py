"""Export files: discovery, fingerprints (content hash + encoding), file bookmarks.

A bookmark is ``{"files": {<name>: {"sha256", "size", "mtime_ns", "checked_ns"}}}`` where
``<name>`` is the file's path relative to the configured directory (its name for a single
file). A file whose content hash equals its bookmark entry is skipped; a file changed in
place (new hash) is read again from the top. A file's entry enters the bookmark only on the
page that completes the file, so a crash mid-file re-reads it next run.

A file is not even hashed again when its size and modification time are still the entry's
and it had *settled* when it was hashed (``checked_ns``, the system's time then, at least
``SETTLED`` after its modification time), as make, rsync and git trust file times: writing
a file sets its time to the system's time then, so bytes written since the hash carry a
later time. A file written within the same tick of the file system's clock as the hashing
could keep both (git's "racily clean" entries): such an entry is not trusted, and is
replaced once the file has settled. A tool that sets an old time on other bytes of the same
size (``touch -d``, ``cp -p`` of another file) defeats it: touch the file to have it read.
"""

from __future__ import annotations

import codecs
import hashlib
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from mapping.errors import ConfigurationError

__all__ = [
    "SETTLED_NS",
    "ExportFile",
    "Fingerprint",
    "discover",
    "fingerprint",
    "iter_lines",
    "settled_unchanged",
    "still_same",
    "unchanged_since",
]

_CHUNK = 1 << 20
SETTLED_NS = 2_000_000_000
"""How long before its hashing a file must have been modified for its times to be trusted
(more than the coarsest file system clock tick, FAT's two seconds)."""
_CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")
_DEFAULT_PATTERNS = {"csv": ("*.csv", "*.txt", "*.tsv"), "fhir": ("*.json", "*.ndjson")}
_TEMP_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")
_ASCII_COMPATIBLE = frozenset({"utf-8", "utf-8-sig", "cp1252", "iso8859-1", "ascii"})
"""Encodings in which a NUL character is a NUL byte (and no other byte is 0)."""


@dataclass(frozen=True, slots=True)
class ExportFile:
    path: Path
    name: str  # bookmark key and the ``source_file`` of its records


@dataclass(frozen=True, slots=True)
class Fingerprint:
    sha256: str
    size: int
    mtime_ns: int
    encoding: str  # best text encoding for the bytes: utf-8-sig, utf-16, cp1252 or latin-1
    nul: bool = True  # the bytes hold a NUL (csv refuses it in a line: it is dropped)
    checked_ns: int = 0  # the system's time when hashing began

    @property
    def modified_at(self) -> datetime:
        return datetime.fromtimestamp(self.mtime_ns / 1e9, UTC)

    @property
    def settled(self) -> bool:
        """Modified at least ``SETTLED`` before it was hashed: its times can be trusted."""
        return self.mtime_ns <= self.checked_ns - SETTLED_NS

    def entry(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "size": self.size, "mtime_ns": self.mtime_ns,
                "checked_ns": self.checked_ns}  # fmt: skip


def discover(root: Path, fmt: str, pattern: str | None = None) -> list[ExportFile]:
    """Export files under ``root`` (a file or directory), sorted by name (deterministic)."""
    if not root.exists():
        raise ConfigurationError(
            f"scheduling export path {root} does not exist; fix settings.path of the connection"
        )
    if root.is_file():
        return [ExportFile(root, root.name)]
    patterns = (pattern,) if pattern else _DEFAULT_PATTERNS[fmt]
    found: dict[Path, ExportFile] = {}
    for pat in patterns:
        for path in root.rglob(pat):
            # a dangling symlink is kept so that it is reported, not silently ignored
            if (path.is_file() or path.is_symlink()) and not _is_temporary(path):
                found[path] = ExportFile(path, path.relative_to(root).as_posix())
    return sorted(found.values(), key=lambda f: f.name)


def _is_temporary(path: Path) -> bool:
    # Files still being written by the export job: dot files and download/temp suffixes.
    return path.name.startswith((".", "~$")) or path.name.endswith(_TEMP_SUFFIXES)


def fingerprint(path: Path) -> Fingerprint:
    """Hash the file and find its text encoding in one streaming pass."""
    checked = time.time_ns()  # before the stat: a write after it is not settled
    stat = path.stat()
    sha = hashlib.sha256()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    utf8_ok, cp1252_ok, head, nul = True, True, b"", False
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            sha.update(chunk)
            nul = nul or b"\x00" in chunk
            head = head or chunk[:4]
            if utf8_ok:
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    utf8_ok = False
            if cp1252_ok and any(b in chunk for b in _CP1252_UNDEFINED):
                cp1252_ok = False
    if utf8_ok:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
    encoding = _encoding(head, utf8_ok, cp1252_ok)
    return Fingerprint(sha.hexdigest(), stat.st_size, stat.st_mtime_ns, encoding, nul, checked)


def _encoding(head: bytes, utf8_ok: bool, cp1252_ok: bool) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if utf8_ok:
        return "utf-8-sig"  # also strips a BOM when there is one
    return "cp1252" if cp1252_ok else "latin-1"


def unchanged_since(entry: Mapping[str, Any] | None, print_: Fingerprint) -> bool:
    """True when the bookmark ``entry`` records exactly this content."""
    return bool(entry) and entry.get("sha256") == print_.sha256  # type: ignore[union-attr]


def settled_unchanged(entry: Mapping[str, Any] | None, path: Path) -> bool:
    """True when the bookmark ``entry`` was hashed from a settled file that still has its
    size and modification time: unchanged, known without reading it."""
    if not entry or not isinstance(checked := entry.get("checked_ns"), int):
        return False
    try:
        stat = path.stat()
    except OSError:
        return False
    return (
        stat.st_size == entry.get("size")
        and stat.st_mtime_ns == entry.get("mtime_ns")
        and stat.st_mtime_ns <= checked - SETTLED_NS
    )


def still_same(path: Path, print_: Fingerprint) -> bool:
    """True when the file was not modified while it was being read."""
    try:
        stat = path.stat()
    except OSError:
        return False
    return stat.st_size == print_.size and stat.st_mtime_ns == print_.mtime_ns


def iter_lines(path: Path, encoding: str, nul: bool = True) -> Iterator[str]:
    """Decoded lines with their line endings kept (``csv`` needs them), NUL bytes dropped.

    ``nul=False`` says the file's bytes hold no NUL (its :class:`Fingerprint`): in an
    ASCII-compatible encoding the file's own line iterator is returned then, without a
    Python step per line (a file changed since its fingerprint is read again next run).
    Close the iterator when done.
    """
    text = path.open("r", encoding=encoding, errors="replace", newline="")
    if not nul and codecs.lookup(encoding).name in _ASCII_COMPATIBLE:
        return text
    return _without_nul(text)


def _without_nul(text: TextIO) -> Iterator[str]:
    with text:
        for line in text:
            yield line.replace("\x00", "") if "\x00" in line else line
