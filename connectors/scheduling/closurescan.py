"""The closure list kept at a new time from its bytes: only the rows that may differ are read.

A closure-list row shows its referral's age in days at the time ``t0`` its file was aged at,
``(t0 - completed).days``. At a later ``now``, less than a day on, the age it shows is wrong
only if a whole number of days after the completion falls in ``(t0, now]``: the
completion's time of day lies in that window. The list's completions are written in UTC
(:func:`connectors.scheduling.writers.closure_timing`; a file from before is not kept, the
engine's fingerprint of the people files says which format they hold). So when every row
is plain (no cell needs quotes), the rows that may differ are found by two regular
expressions over the file's bytes, run in C: the rows whose completion's hour and minute
fall in the window, and the rows of the referrals that changed.
Only those are read (and each checked exactly, as :mod:`connectors.scheduling.reage` checks
every row on its other path); every other row stays bytes in place. They are written again
as ranges of the file read, the rows that moved or were added placed among them by a binary
search over the file's lines, which are in order.

``t0`` is not stored anywhere: a row showing age ``a`` for a completion ``c`` was aged at or
after ``c + a days``. The latest of that over a sample of rows is a time no later than
``t0``, so a window from there holds every row that can differ (and a few more).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from datetime import UTC, datetime, timedelta

from connectors.scheduling.writers import UrgencyKey

__all__ = ["WINDOW", "ByteRun", "scan_closure"]

WINDOW = timedelta(hours=6)
"""The longest time since the rows were aged that is scanned for; beyond it (the ages of
many rows change) every row is read."""
_ID_CHARS = 6
# A row placed among the kept ones costs a binary search over the file's lines, each probe a
# line read (about 60 us in all at 333,000 rows); reading every row costs about 1 us a row.
_PROBES = 50
_GALLOP = 256  # bytes: two or three lines
_SAMPLE = 1024  # rows read to bound t0 from below: about a day / 1024 = 84 s of slack
_Verdict = Callable[[str], bool]
_Trie = dict[str, "_Trie"]


class ByteRun:
    """The rows of a file kept as they were: the lines of ``data[start:]`` less the ``cuts``
    (whole lines, in order); ``key`` gives a line's sort key."""

    def __init__(
        self, data: bytes, start: int, cuts: list[tuple[int, int]],
        key: Callable[[str], UrgencyKey],
    ) -> None:  # fmt: skip
        self.data, self.start, self.cuts, self.key = data, start, cuts, key

    def merged(self, added: list[tuple[UrgencyKey, str]]) -> Iterator[bytes | memoryview]:
        """The kept lines with ``added`` (in key order, each a line) placed among them:
        the file's bytes in ranges, not copied."""
        view, cuts, c = memoryview(self.data), self.cuts, 0
        pos = self.start
        places, lo = [], pos
        for key, line in added:  # in key order: each place at or after the one before
            lo = self._first_not_below(key, lo)
            places.append((lo, line))
        for at, line in [*places, (len(self.data), "")]:
            while c < len(cuts) and cuts[c][0] < at:  # a cut line is a whole line: it ends
                yield view[pos : cuts[c][0]]  # at or before ``at``, a line's start
                pos, c = cuts[c][1], c + 1
            yield view[pos:at]
            yield line.encode()
            pos = at

    def _first_not_below(self, key: UrgencyKey, lo: int) -> int:
        """The start of the first line from ``lo`` (a line's start) on whose key is not
        below ``key``, or the end. Rows placed one after another tend to fall near each
        other (the newly completed ones all among the youngest), so the search gallops
        from ``lo`` (steps doubling) before it halves; each probe reads the line that
        holds the offset probed."""
        hi, step = len(self.data), _GALLOP
        while lo + step < hi:
            begin, finish = self._line(lo, lo + step)
            if self._key(begin, finish) >= key:
                hi = begin
                break
            lo, step = finish, step * 2
        while lo < hi:
            begin, finish = self._line(lo, (lo + hi) // 2)
            if self._key(begin, finish) < key:
                lo = finish
            else:
                hi = begin
        return lo

    def _line(self, lo: int, at: int) -> tuple[int, int]:
        """Where the line holding offset ``at`` (not before ``lo``, a line's start) begins
        and ends."""
        begin = _line_start(self.data, lo, at)
        return begin, self.data.index(b"\r\n", begin) + 2

    def _key(self, begin: int, finish: int) -> UrgencyKey:
        return self.key(self.data[begin:finish].decode("utf-8"))


def scan_closure(
    data: bytes, start: int, changed: Collection[str], now: datetime, keep: _Verdict,
    key: Callable[[str], UrgencyKey],
) -> tuple[ByteRun, int] | None:  # fmt: skip
    """The kept rows of a closure list whose rows begin at ``data[start]``, and how many
    rows were read; None when this way does not apply (a cell in quotes, a row sampled
    with a completion not in UTC, the rows aged more than :data:`WINDOW` before ``now`` or after
    it, or so many rows to place again that reading every row costs less): then every row
    must be read. ``keep(record)`` decides a row that may differ as
    :mod:`connectors.scheduling.reage` decides every row: True to keep it as it is, else it
    is dropped or placed again (by ``keep`` itself)."""
    if start == len(data) or not data.endswith(b"\r\n") or data.find(b'"', start) >= 0:
        return None
    sample = _sample(data, start)
    if sample is None:
        return None
    since = max(completed + timedelta(days=shown) for completed, shown, _ in sample)
    if not since <= now < since + WINDOW:
        return None
    share = sum((now - c).days != (since - c).days for c, _, _ in sample) / len(sample)
    guess = (len(data) - start) * len(sample) / sum(n for _, _, n in sample)  # rows
    if _costly(share * guess, len(changed), guess):
        return None
    found = {_line_start(data, start, m.start()) for m in _window(since, now).finditer(data, start)}
    if _costly(len(found), len(changed), guess):
        return None
    if changed:
        ids = _ids(changed)
        found.update(_line_start(data, start, m.start()) for m in ids.finditer(data, start))
    cuts = []
    for begin in sorted(found):
        finish = data.index(b"\r\n", begin) + 2
        if not keep(data[begin:finish].decode("utf-8")):
            cuts.append((begin, finish))
    return ByteRun(data, start, cuts, key), len(found)


def _costly(moved: float, changed: int, rows: float) -> bool:
    """Whether placing ``moved`` and ``changed`` rows again (at most) costs more than
    reading all ``rows``."""
    return (moved + changed) * _PROBES > rows


def _line_start(data: bytes, start: int, at: int) -> int:
    return max(data.rfind(b"\r\n", start, at) + 2, start)


def _sample(data: bytes, start: int) -> list[tuple[datetime, int, int]] | None:
    """The completion, age shown and length of rows spread through the file (None if one
    does not read as refsync writes it, or a completion is not in UTC). A row showing age
    ``a`` for completion ``c`` was aged at or after ``c + a days``: the latest of those is
    no later than the rows' time. A row without a completion always shows 0: it is left
    out."""
    step = max((len(data) - start) // _SAMPLE, 1)
    sample = []
    for at in range(start, len(data), step):
        begin = _line_start(data, start, at)
        finish = data.index(b"\r\n", begin)
        try:
            _, completed, shown, _, _, _ = data[begin:finish].decode("utf-8").rsplit(",", 5)
            if completed:
                when = datetime.fromisoformat(completed)
                if when.utcoffset() != timedelta(0):
                    return None
                sample.append((when, int(shown), finish + 2 - begin))
        except ValueError:
            return None
    return sample or None


def _window(since: datetime, now: datetime) -> re.Pattern[bytes]:
    """A pattern found in a UTC completion whose time of day, to the minute, lies in
    ``[since, now]`` (less than a day apart) on any day."""
    at = since.astimezone(UTC).replace(second=0, microsecond=0)
    last = now.astimezone(UTC).replace(second=0, microsecond=0)
    hours = []
    while at <= last:
        to = min(at.replace(minute=59), last)
        hours.append(f"{at:%H}:{_minutes(at.minute, to.minute)}")
        at = at.replace(minute=0) + timedelta(hours=1)
    return re.compile(f"T(?:{'|'.join(hours)}):".encode())


def _minutes(first: int, last: int) -> str:
    """A pattern of the two-digit minutes ``first`` to ``last``."""
    if (first, last) == (0, 59):
        return r"\d\d"
    parts = []
    for tens in range(first // 10, last // 10 + 1):
        low = first % 10 if tens == first // 10 else 0
        high = last % 10 if tens == last // 10 else 9
        parts.append(f"{tens}[{low}-{high}]")
    return f"(?:{'|'.join(parts)})"


def _ids(ids: Collection[str]) -> re.Pattern[bytes]:
    """A pattern of ``,`` and the first characters of each of ``ids`` (past the ones they
    all share), as a trie: an alternation of a thousand ids costs a thousand tries at every
    comma, the trie about one per character; a longer one costs more to compile than to
    read the few rows it finds in excess."""
    first, last = min(ids), max(ids)  # what they all share, these two share
    pairs = enumerate(zip(first, last, strict=False))
    shared = next((n for n, (a, b) in pairs if a != b), len(first))
    trie: _Trie = {}
    for i in ids:
        node = trie
        for ch in i[: shared + _ID_CHARS]:
            node = node.setdefault(ch, {})
        node[""] = {}
    return re.compile(b"," + _trie(trie).encode())


def _trie(node: _Trie) -> str:
    ends = "" in node
    branches = [re.escape(ch) + _trie(node[ch]) for ch in sorted(node) if ch]
    if not branches:
        return ""
    if len(branches) == 1 and not ends:
        return branches[0]
    return f"(?:{'|'.join(branches)}){'?' if ends else ''}"
