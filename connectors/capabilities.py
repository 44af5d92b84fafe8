"""What a connector can do, declared (singer-sdk style), and the types its hooks exchange.

A connector lists its :class:`Capability` members in ``Connector.capabilities`` and
overrides the hook of each (:data:`HOOKS`); the registry refuses a class that declares a
capability without its hook. The engine asks ``connector.supports(...)`` and calls the hook:
it never probes a connector for methods or guesses setting names.

Settings the engine needs are declared by the connection's settings model with
:class:`SettingRole` markers in ``Annotated`` types::

    class MySettings(BaseModel):
        path: Annotated[Path, SettingRole.PROGRAM_PATH]          # rooted at the program dir
        output_dir: Annotated[Path | None, SettingRole.OUTPUT_DIR] = None
        timezone: Annotated[str | None, SettingRole.TIMEZONE] = None  # program's zone if unset

and the engine finds them with :func:`settings_with_role` (both live in
:mod:`mapping.setting_roles`, below ``config`` too, whose loader roots and confines the
declared paths).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Literal, Protocol

from mapping.model import Clinician, Partner, QualifiedReferralDefinition, Referral
from mapping.setting_roles import SettingRole, settings_with_role

__all__ = [
    "AT_TIER",
    "HOOKS",
    "Capability",
    "Contacts",
    "LocalProblem",
    "MatchMethod",
    "MatchResult",
    "NativeFields",
    "PeopleFilesChanged",
    "PeopleLists",
    "PhiFields",
    "ProvisionAction",
    "ReferralCandidate",
    "ReferralIndex",
    "ReferrerCount",
    "SettingRole",
    "settings_with_role",
]

NativeFields = Mapping[str, object]
"""A native record's fields as the system returned them."""


class Capability(enum.StrEnum):
    """One thing a connector can do beyond ``check``/``describe``."""

    READ = "read"
    """``read``: a source of records (every connector so far)."""
    WRITE = "write"
    """``upsert``: a destination matched by key."""
    ARCHIVE = "archive"
    """``archive``: removes records of a destination in mirror mode."""
    BACKFILL_KEYS = "backfill_keys"
    """``backfill_keys``: writes canonical ids into records created outside refsync."""
    PEOPLE_FILES = "people_files"
    """``people_files``/``write_people_files``: worklist-style files for staff."""
    REFERRAL_MATCHING = "referral_matching"
    """``referral_index``: matches records that carry no referral number to a referral."""
    PROVISION = "provision"
    """``provision_plan``/``apply_provision``: makes the objects and fields the connection's
    mappings need through the system's API (``refsync provision TYPE [--apply]``)."""
    PROVISION_SOURCE = "provision_source"
    """``write_provision_source``/``deploy_command``: writes them as source files an admin
    deploys with the vendor's own tool (``refsync provision TYPE --out DIR``)."""


HOOKS: Mapping[Capability, tuple[str, ...]] = {
    Capability.READ: ("read",),
    Capability.WRITE: ("upsert",),
    Capability.ARCHIVE: ("archive",),
    Capability.BACKFILL_KEYS: ("backfill_keys",),
    Capability.PEOPLE_FILES: ("people_files", "write_people_files"),
    Capability.REFERRAL_MATCHING: ("referral_index",),
    Capability.PROVISION: ("provision_plan", "apply_provision"),
    Capability.PROVISION_SOURCE: ("write_provision_source", "deploy_command"),
}
"""The methods a connector overrides for each capability it declares."""


PhiFields = Mapping[str, Sequence[str]]
"""Native object -> the fields a connection is sent PHI in (from its mappings and tier)."""

AT_TIER: tuple[str, ...] = ("privacy",)
"""``LocalProblem.at`` of a problem with the connection's privacy tier: the engine points at
``privacy:`` or ``phi_allowed:``, whichever the connection sets."""


@dataclass(frozen=True)
class ProvisionAction:
    """One step of a PROVISION plan: a change to make, or a note (``kind`` ``conflict`` or
    ``skip``) that ``apply_provision`` passes over.

    ``kind`` is the connector's own word for the change (``create_property``); ``verb`` how it
    reads when printed (``create property``); ``body`` what the connector sends to make it.
    ``blocks_phi``: a conflict that leaves PHI bound for a field the system may not keep it
    in; ``validate --online`` reports it as a problem, not a note.
    """

    NOTES: ClassVar[frozenset[str]] = frozenset({"conflict", "skip"})

    kind: str
    object_type: str
    name: str
    detail: str = ""
    body: Mapping[str, object] = field(default_factory=dict, compare=False)
    verb: str = ""
    blocks_phi: bool = False

    @property
    def applies(self) -> bool:
        """A change to make (not a note)."""
        return self.kind not in self.NOTES

    def __str__(self) -> str:
        verb = "CONFLICT" if self.kind == "conflict" else self.verb or self.kind.replace("_", " ")
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.object_type}: {verb} {self.name}{extra}"


@dataclass(frozen=True, slots=True)
class LocalProblem:
    """What would stop (or empty) a run of one connection on this machine, found without
    any API call (``Connector.local_problems``; ``refsync validate`` and ``plan`` show it).

    ``at`` is where in the connection's YAML (``("settings", "path")``, ``("type",)``);
    ``message`` follows ``connection 'NAME': `` and names no value that could be PHI;
    ``empties_reads``: the source would read nothing (a warning plan and run repeat).
    """

    at: tuple[str, ...]
    message: str
    fix: str
    warning: bool = False
    empties_reads: bool = False


MatchMethod = Literal["referral_number", "authorization_number", "patient_key"]


@dataclass(frozen=True, slots=True)
class ReferralCandidate:
    """What the engine knows about one referral that a record could belong to."""

    referral_id: str
    referral_number: str | None = None
    authorization_numbers: tuple[str, ...] = ()
    patient_key: str | None = None
    service_line: str | None = None
    anchor_at: datetime | None = None  # received_at / accepted time: the window's centre


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The referral a record matched, how, or why it matched none (a reason, no value)."""

    referral_id: str | None
    method: MatchMethod | None = None
    reason: str | None = None

    @property
    def matched(self) -> bool:
        return self.referral_id is not None


class ReferralIndex(Protocol):
    """What ``Connector.referral_index`` returns: matches one record's native fields."""

    def match(self, fields: NativeFields) -> MatchResult: ...


@dataclass(frozen=True)
class Contacts:
    """Who a coordinator calls about a referral: partners and clinicians by canonical id.

    Partners come without the rollup fields the engine derives (``referrals_total`` and the
    measures after it): they change on most runs, and a people file kept from the changes
    could not show them current."""

    partners: Mapping[str, Partner] = field(default_factory=dict)
    clinicians: Mapping[str, Clinician] = field(default_factory=dict)

    def of(self, r: Referral) -> dict[str, str | None]:
        clinician = self.clinicians.get(r.clinician_id or "")
        partner_id = r.partner_id or (clinician.partner_id if clinician else None)
        partner = self.partners.get(partner_id or "")
        return {
            "partner": partner.name if partner else None,
            "clinician": _full_name(clinician) if clinician else None,
            "clinician_npi": clinician.npi if clinician else None,
            "practice_phone": partner.phone if partner else None,
        }


def _full_name(c: Clinician) -> str:
    return " ".join(part for part in (c.first_name, c.last_name) if part)


ReferrerCount = tuple[str, int, str | None, str | None, tuple[str, ...]]
"""A referring NPI no clinician holds, as a new referrers list counts it over the referrals
that name it (in referral id order): (NPI, how many referrals, the referring name and
practice of the last one that gives a name (of the first when none does), the service
lines they name)."""


@dataclass(frozen=True)
class PeopleLists:
    """What ``write_people_files`` gets: the canonical state, read on demand.

    ``referrals`` is a fresh pass over the store on each call (call it once for all the
    files) and yields the referrals a people file may list, in id order: open and completed
    ones with their sealed fields opened, and any other whose referrer is unknown with its
    clear fields only (cancelled, declined and no-show referrals stay unopened);
    ``unmatched`` are records no referral matched, with the reason, for the review list.

    ``referrers``, when given, yields each unknown referrer's :data:`ReferrerCount` over
    every referral, for the new referrers list (``referrals`` need not be counted). None:
    count the referrals.

    ``changed`` None means the files are written whole. Otherwise the files on disk are the
    ones this connection wrote last, from the same definitions and contacts, and only the
    referrals of ``changed`` (ids) changed since: ``referrals`` yields those of them a file
    may list, every other row stays (its ages taken again at the new time). A connector
    that finds its files are not what it wrote raises :class:`PeopleFilesChanged`, and the
    engine calls again with everything.
    """

    referrals: Callable[[], Iterable[Referral]]
    definitions: Sequence[QualifiedReferralDefinition]
    contacts: Contacts
    unmatched: Sequence[tuple[NativeFields, MatchResult]] = ()
    referrers: Callable[[], Iterable[ReferrerCount]] | None = None
    changed: frozenset[str] | None = None


class PeopleFilesChanged(Exception):
    """The people files on disk are not the ones the last run wrote (edited, from another
    version, unreadable): write them whole."""
