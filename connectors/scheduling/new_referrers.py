"""Referrers nobody knows yet, for a person to review: ``new-referrers.csv``.

A referral whose referring NPI matches no clinician is never linked by a guess (see
:mod:`sync.engine.referrers`). It is listed here, one row per unknown NPI, with how many
referrals name it and, when the export carried the referrer's name and practice, the known
clinician whose name and practice are closest, with a score from 0 to 1:

- names are compared as sorted words without titles or punctuation ("AVERY, ADA MD" and
  "Dr. Ada Avery" are the same words) by :class:`difflib.SequenceMatcher`'s ratio;
- the score is ``0.7 * name + 0.3 * practice`` when both sides have a practice, else the
  name alone; a clinician is suggested from ``SUGGEST_FROM`` (0.75) up, never linked.

The list names providers only (NPI, names, practice, service lines, counts): no referral
number, patient or date.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from difflib import SequenceMatcher

from connectors.capabilities import Contacts, ReferrerCount
from mapping.model import Clinician, Referral

NEW_REFERRERS_FILE = "new-referrers.csv"

__all__ = [
    "NEW_REFERRERS_FILE",
    "NEW_REFERRER_COLUMNS",
    "SUGGEST_FROM",
    "NewReferrerTally",
    "Suggestion",
    "new_referrer_rows",
    "suggest",
]

NEW_REFERRER_COLUMNS = (
    "referring_npi", "referring_name", "referring_practice", "referrals", "service_lines",
    "suggested_clinician_id", "suggested_clinician", "suggested_clinician_npi",
    "suggested_partner", "score", "prospect",
)  # fmt: skip
SUGGEST_FROM = 0.75
_TITLES = frozenset({"dr", "md", "do", "np", "pa", "rn", "aprn", "dnp", "phd", "mr", "mrs", "ms"})
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Suggestion:
    clinician: Clinician
    score: float


def _words(text: str | None, *, titles: bool = False) -> str:
    words = _WORD.findall((text or "").casefold())
    return " ".join(sorted(w for w in words if titles or w not in _TITLES))


def _ratio(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b).ratio() if a and b else 0.0


def suggest(name: str | None, practice: str | None, contacts: Contacts) -> Suggestion | None:
    """The known clinician closest to ``name`` at ``practice``, if it scores SUGGEST_FROM
    (a prospect is nobody's match: it is an unknown referrer itself)."""
    wanted = _words(name)
    if not wanted:
        return None
    place = _words(practice, titles=True)
    best: Suggestion | None = None
    for c in sorted(contacts.clinicians.values(), key=lambda c: c.id):
        if c.prospect:
            continue
        score = _ratio(wanted, _words(f"{c.first_name or ''} {c.last_name}"))
        partner = contacts.partners.get(c.partner_id or "")
        if place and partner is not None:
            score = 0.7 * score + 0.3 * _ratio(place, _words(partner.name, titles=True))
        if best is None or score > best.score:
            best = Suggestion(c, round(score, 2))
    return best if best is not None and best.score >= SUGGEST_FROM else None


def _full_name(c: Clinician) -> str:
    return " ".join(part for part in (c.first_name, c.last_name) if part)


def new_referrer_rows(
    referrals: Iterable[Referral], contacts: Contacts
) -> list[dict[str, str | int | float | None]]:
    """One row per referring NPI no known clinician holds, most referrals first (a prospect
    refsync created in the CRM for the NPI is not a clinician yet: ``prospect`` says so)."""
    tally = NewReferrerTally()
    for _ in tally.counted(referrals):
        pass
    return tally.rows(contacts)


class NewReferrerTally:
    """The counts behind :func:`new_referrer_rows`, kept while referrals pass by on their
    way to other lists (:meth:`counted`), so the people files read the store once.

    It uses fields kept in clear only (referring NPI, name and practice, clinician, service
    line): a referral read without its sealed fields counts the same."""

    def __init__(self) -> None:
        # per NPI, counted as referrals pass: memory follows the NPIs, not the referrals
        self._counts: Counter[str] = Counter()
        self._lines: dict[str, set[str]] = defaultdict(set)
        self._names: dict[str, tuple[str | None, str | None]] = {}  # the last name given

    def counted(self, referrals: Iterable[Referral]) -> Iterator[Referral]:
        """``referrals`` unchanged, each noted on the way."""
        for r in referrals:
            npi = r.referring_npi
            if npi and not r.clinician_id:
                self._counts[npi] += 1
                if r.service_line:
                    self._lines[npi].add(r.service_line)
                if r.referring_name or npi not in self._names:
                    self._names[npi] = (r.referring_name, r.referring_practice)
            yield r

    def add(self, counts: Iterable[ReferrerCount]) -> None:
        """Take ``counts`` (one per NPI, counted elsewhere as :meth:`counted` counts)."""
        for npi, n, name, practice, lines in counts:
            self._counts[npi] += n
            self._lines[npi].update(lines)
            self._names[npi] = (name, practice)

    def rows(self, contacts: Contacts) -> list[dict[str, str | int | float | None]]:
        """The rows of the referrals :meth:`counted` saw (the clinicians known by now)."""
        known = {c.npi for c in contacts.clinicians.values() if c.npi and not c.prospect}
        prospects = {c.npi for c in contacts.clinicians.values() if c.npi and c.prospect}
        counts = [(npi, n) for npi, n in self._counts.items() if npi not in known]
        return [
            _row(npi, n, self._names[npi], self._lines[npi], npi in prospects, contacts)
            for npi, n in sorted(counts, key=lambda kv: (-kv[1], kv[0]))
        ]


def _row(
    npi: str,
    n: int,
    named: tuple[str | None, str | None],
    lines: set[str],
    prospect: bool,
    contacts: Contacts,
) -> dict[str, str | int | float | None]:
    name, practice = named
    found = suggest(name, practice, contacts)
    partner = contacts.partners.get(found.clinician.partner_id or "") if found else None
    return {
        "referring_npi": npi,
        "referring_name": name,
        "referring_practice": practice,
        "referrals": n,
        "service_lines": ";".join(sorted(lines)),
        "suggested_clinician_id": found.clinician.id if found else None,
        "suggested_clinician": _full_name(found.clinician) if found else None,
        "suggested_clinician_npi": found.clinician.npi if found else None,
        "suggested_partner": partner.name if partner else None,
        "score": found.score if found else None,
        "prospect": "yes" if prospect else "no",
    }
