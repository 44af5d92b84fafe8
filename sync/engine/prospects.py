"""Prospect clinicians: referrers nobody knows yet, made visible in the CRM (opt-in).

A referral whose referring NPI matches no clinician of any connected system waits, listed as
an unresolved referrer (:mod:`sync.engine.referrers`). With ``referrers.create_prospects``
the hub also creates a *prospect* clinician for that NPI once ``prospect_min_referrals``
referrals name it: its name is parsed from the export's referring provider name (the NPI
is public, the provider's name is not patient data), its id is the one the NPI itself gives
(:func:`sync.engine.ids.canonical_id`), so the clinician a system supplies later (a
Salesforce Contact with that NPI) resolves to the same record and the CRM contact written
for the prospect is updated in place, never duplicated.

A prospect is a lead for liaisons, not a referrer: referrals are never linked to it (a
Salesforce referral would point at a Contact Salesforce does not have). It stops being a
prospect when a system supplies the clinician, i.e. a source whose mapping does not carry
``prospect`` brings a record for it (:func:`settle_prospects`); the referrals waiting for
it are then linked by the same run. A system's clinician that takes on a prospect's NPI
later (an existing Contact given the NPI) wins it: the prospect is retired (tombstoned).

The functions here are pure but for :func:`create_prospects`, which reads the waiting
referrals (clear fields only: nothing sealed is opened) and stores the new clinicians.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nameparser import HumanName
from nameparser.config import Constants

from mapping.npi import is_valid_npi
from mapping.spec import EntityMapping
from sync.engine.ids import canonical_id
from sync.state import StateStore

__all__ = [
    "NewProspects",
    "Settled",
    "create_prospects",
    "prospect_record",
    "provider_name",
    "provider_role",
    "settle_prospects",
]

_NO_NAME = "Unknown referrer"


@dataclass
class NewProspects:
    """What :func:`create_prospects` did: NPI -> referrals waiting, for each prospect made;
    NPIs left alone because fewer referrals name them than the threshold or the NPI fails
    its check digit."""

    created: dict[str, int] = field(default_factory=dict)
    below_threshold: dict[str, int] = field(default_factory=dict)
    invalid: list[str] = field(default_factory=list)


def _constants() -> Constants:
    # Credentials as exports write them after a name ("PATEL, RAJ DO"); nameparser would
    # otherwise read DO as a surname particle (as in "do Carmo"), which "DO, MINH" still is
    found = Constants()
    found.prefixes.remove("do")
    found.suffix_acronyms.add(*(c.lower() for c in _ROLES))
    return found


_ROLES = {
    **dict.fromkeys(("MD", "DO"), "physician"),
    **dict.fromkeys(("NP", "APRN", "DNP", "FNP", "CRNP"), "nurse_practitioner"),
    **dict.fromkeys(("PA", "PA-C"), "physician_assistant"),
}
_NAMES = _constants()


def provider_name(text: str | None) -> tuple[str | None, str]:
    """(first, last) from a referring provider name as exports write it: ``"AVERY, ADA MD"``,
    ``"Dr. Ben Brook"``, ``"PATEL, RAJ DO"``... Titles and credentials are dropped and an
    all-capitals name is given ordinary capitals; no name gives ``(None, "Unknown referrer")``
    (a clinician needs a last name)."""
    name = HumanName((text or "").strip(), constants=_NAMES)
    if str(name).isupper():
        name.capitalize(force=True)
    first = " ".join(p for p in (name.first, name.middle) if p)
    if not name.last:  # one word is a surname ("BROOK"), nothing at all is no name
        return None, first or _NO_NAME
    return first or None, name.last


def provider_role(text: str | None) -> str | None:
    """The clinician role a credential after the name says (MD, DO, NP, PA-C...); None when
    the name carries none (the model's default role applies)."""
    name = HumanName((text or "").strip(), constants=_NAMES)
    for credential in name.suffix_list:
        role = _ROLES.get(credential.strip(" .,").upper())
        if role is not None:
            return role
    return None


def prospect_record(npi: str, names: Iterable[str | None]) -> dict[str, Any]:
    """The prospect clinician for ``npi``, named by the most frequent non-blank name; its role
    from the first credential any spelling carries (most frequent first)."""
    ranked = [n for n, _ in Counter(n.strip() for n in names if n and n.strip()).most_common()]
    first, last = provider_name(ranked[0] if ranked else None)
    record = {
        "id": canonical_id("clinician", npi),
        "first_name": first,
        "last_name": last,
        "npi": npi,
        "prospect": True,
    }
    role = next((r for r in map(provider_role, ranked) if r is not None), None)
    return record if role is None else {**record, "role": role}


@dataclass
class Settled:
    """The page's records to store after :func:`settle_prospects`, and the prospect ids that
    became the system's clinician (``supplied``) or gave their NPI up to one (``retired``)."""

    puts: dict[str, tuple[dict[str, Any], bool]]
    supplied: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)


def settle_prospects(
    store: StateStore,
    em: EntityMapping,
    read_ids: Iterable[str],
    working: Mapping[str, dict[str, Any]],
    puts: Mapping[str, tuple[dict[str, Any], bool]],
) -> Settled:
    """The clinicians of a page read through ``em``, settled: when ``em`` does not carry
    ``prospect`` (the source supplies clinicians, it does not hold refsync's prospects),
    every prospect it brought a record for is no longer one, and a prospect holding an NPI
    one of these clinicians now claims yields it (tombstoned: the system's record wins).
    ``working``: id -> the page's merged (or stored) data; ``puts``: what is to be stored."""
    out = Settled(dict(puts))
    if any(f.canonical == "prospect" for f in em.fields):
        return out
    for cid in dict.fromkeys(read_ids):
        data, tomb = out.puts.get(cid, (working.get(cid), False))
        if data is not None and not tomb and data.get("prospect"):
            out.puts[cid] = ({**data, "prospect": False}, False)
            out.supplied.append(cid)
    claims = {str(d["npi"]): c for c, (d, tomb) in out.puts.items() if not tomb and d.get("npi")}
    holders = store.find_ids_by_key("clinician", "npi", claims) if claims else {}
    others = {held for npi, held in holders.items() if held != claims[npi] and held not in out.puts}
    for rec in store.get_records("clinician", others).values():
        if rec.data.get("prospect") and not rec.tombstone:
            out.puts[rec.id] = (rec.data, True)
            out.retired.append(rec.id)
    return out


def create_prospects(
    store: StateStore, seen: Mapping[str, Sequence[str | None]], *, min_referrals: int
) -> NewProspects:
    """Create the prospect clinicians the waiting NPIs call for (see the module docstring).

    ``seen``: NPI -> the referring names of this run's referrals waiting for it. An NPI
    seen at least ``min_referrals`` times is decided by them; only the others are counted
    over the store (clear fields only), so the default threshold of one costs no scan."""
    out = NewProspects()
    wanted = {str(n) for n in seen}
    if not wanted:
        return out
    wanted -= set(store.find_ids_by_key("clinician", "npi", wanted))
    out.invalid = sorted(n for n in wanted if not is_valid_npi(n))
    wanted -= set(out.invalid)
    names = {n: list(seen[n]) for n in wanted}
    short = {n for n, found in names.items() if len(found) < min_referrals}
    if short:
        counted: dict[str, list[str | None]] = {n: [] for n in short}
        fields = ("referring_npi", "referring_name")
        for ref in store.iter_records("referral", where=lambda d: _names(d, short), fields=fields):
            counted[str(ref.data["referring_npi"])].append(ref.data.get("referring_name"))
        names.update(counted)
    new: list[tuple[str, dict[str, Any], bool]] = []
    for npi, found in sorted(names.items()):
        if len(found) < min_referrals:
            out.below_threshold[npi] = len(found)
            continue
        record = prospect_record(npi, found)
        new.append((record["id"], record, False))
        out.created[npi] = len(found)
    if new:
        store.put_records("clinician", new)
    return out


def _names(data: Mapping[str, Any], npis: set[str]) -> bool:
    # referring_npi, referring_name and clinician_id are kept in clear: nothing is opened
    return not data.get("clinician_id") and str(data.get("referring_npi") or "") in npis
