"""Cross-checks of ``refsync.yaml`` against itself, its mappings and its definitions."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from croniter import croniter
from pydantic import ValidationError

from config._mappings import LoadedMapping
from config.limits import YamlLimits
from config.models import ConnectionConfig, JobConfig
from config.problems import Problems, YamlFile, load_yaml, plain
from mapping.model import QualifiedReferralDefinition
from mapping.privacy import PrivacyTier
from mapping.qualification import check_rule

__all__ = ["check_jobs", "check_privacy", "check_prospects", "load_definitions"]


def check_privacy(
    connections: Mapping[str, ConnectionConfig], *, file: YamlFile, problems: Problems
) -> None:
    """Each connection's privacy tier names its agreement; ``phi_allowed`` still works."""
    for name, conn in connections.items():
        at = ("connections", name)
        if conn.privacy is not None and conn.phi_allowed is not None:
            problems.add(
                file,
                (*at, "phi_allowed"),
                f"connection {name!r} sets both privacy and the deprecated phi_allowed; "
                "remove phi_allowed",
            )
        elif conn.phi_allowed is not None:
            new = "full" if conn.phi_allowed else "deidentified"
            problems.warn(
                file,
                (*at, "phi_allowed"),
                f"connection {name!r}: phi_allowed is deprecated; write privacy: {new} instead",
            )
            if conn.phi_allowed and conn.baa is None:
                problems.warn(
                    file,
                    (*at, "phi_allowed"),
                    f"connection {name!r} may hold PHI (phi_allowed: true) but names no "
                    'business associate agreement; add baa: "<your BAA reference>"',
                )
        if conn.privacy is PrivacyTier.LIMITED and conn.data_use_agreement is None:
            problems.add(
                file,
                (*at, "privacy"),
                f"connection {name!r} has privacy: limited (a limited data set) but names no "
                'data use agreement; add data_use_agreement: "<your DUA reference>"',
            )
        if conn.privacy is PrivacyTier.FULL and conn.baa is None:
            problems.add(
                file,
                (*at, "privacy"),
                f"connection {name!r} has privacy: full (PHI) but names no business associate "
                'agreement; add baa: "<your BAA reference>", or choose privacy: deidentified',
            )


def check_jobs(
    jobs: Mapping[str, JobConfig],
    connections: Mapping[str, ConnectionConfig],
    mappings: Mapping[str, LoadedMapping],
    *,
    file: YamlFile,
    problems: Problems,
    declared: Collection[str] = (),
) -> None:
    """Jobs name known connections, mapped entities, and valid cron schedules.

    A connection that is ``declared`` but invalid has its own problem reported already: the
    jobs naming it are not reported again (one bad value, one message).
    """
    for name, job in jobs.items():
        at = ("jobs", name)
        for role in ("sources", "destinations"):
            for i, conn in enumerate(getattr(job, role)):
                if conn in declared and conn not in connections:
                    continue
                if conn not in connections:
                    known = ", ".join(sorted(connections)) or "none"
                    problems.add(
                        file,
                        (*at, role, i),
                        f"job {name!r} names unknown connection {conn!r}; known: {known}",
                    )
                    continue
                _check_entities(name, conn, job, mappings.get(conn), file, problems, (*at, role, i))
        overlap = sorted(set(job.sources) & set(job.destinations))
        if overlap:
            problems.add(
                file,
                (*at, "destinations"),
                f"job {name!r} has {', '.join(overlap)} as both source and destination; "
                "use two jobs",
            )
        if job.schedule is not None and not croniter.is_valid(job.schedule):
            problems.add(file, (*at, "schedule"), _cron_message(name, job.schedule))


def check_prospects(
    jobs: Mapping[str, JobConfig],
    mappings: Mapping[str, LoadedMapping],
    *,
    file: YamlFile,
    problems: Problems,
) -> None:
    """With ``referrers.create_prospects``, every destination a job sends clinicians to maps
    ``prospect``: a prospect written without the flag would look like a real referrer there,
    and read back it would pass for a clinician that system supplied."""
    for name, job in jobs.items():
        if "clinician" not in job.entities:
            continue
        for i, conn in enumerate(job.destinations):
            loaded = mappings.get(conn)
            spec = None if loaded is None else loaded.lenient
            em = None if spec is None else spec.entities.get("clinician")
            if loaded is None or em is None or any(f.canonical == "prospect" for f in em.fields):
                continue
            problems.add(
                file,
                ("jobs", name, "destinations", i),
                f"job {name!r} sends clinicians to {conn!r} and referrers.create_prospects is "
                f"on, but {loaded.file.display} does not map the clinician field prospect; add "
                f"{{canonical: prospect, native: <a yes/no field>, direction: out}} to its "
                "clinician entity, or drop create_prospects",
            )


_CRON_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 7),
)


def _cron_message(job: str, expr: str) -> str:
    """Name the cron field that is wrong, and its range, where one number is out of range."""
    head = f"job {job!r}: {expr!r} is not a valid cron expression"
    fields = expr.split()
    if len(fields) != len(_CRON_FIELDS):
        return (
            f"{head}: it has {len(fields)} fields; cron needs five: "
            "minute hour day-of-month month day-of-week"
        )
    for text, (label, low, high) in zip(fields, _CRON_FIELDS, strict=True):
        for number in re.findall(r"\d+", text.split("/")[0]):
            if not low <= int(number) <= high:
                return f"{head}: {label} {number} is out of range; {label} is {low}-{high}"
    return f"{head} (five fields: minute hour day-of-month month day-of-week)"


def _check_entities(
    job_name: str,
    conn: str,
    job: JobConfig,
    loaded: LoadedMapping | None,
    file: YamlFile,
    problems: Problems,
    loc: tuple[str | int, ...],
) -> None:
    spec = None if loaded is None else loaded.lenient
    if spec is None:
        return  # the mapping file's own problems are reported already
    # Definitions are read from the program's definitions/ directory, and partner rollups
    # are computed by the hub from the referrals a job moves, so a source need not map them;
    # destinations must.
    hub_made = {"definition", *(("partner",) if "referral" in job.entities else ())}
    is_source = conn in job.sources
    missing = [
        e for e in job.entities if e not in spec.entities and not (e in hub_made and is_source)
    ]
    spec_file = loaded.file.display if loaded else conn
    if missing:
        problems.add(
            file,
            loc,
            f"job {job_name!r} syncs {', '.join(missing)} but {spec_file} "
            f"does not map {'it' if len(missing) == 1 else 'them'}; add the entity or drop it "
            "from the job",
        )


def load_definitions(
    directory: Path, display: str, problems: Problems, limits: YamlLimits | None = None
) -> dict[str, QualifiedReferralDefinition]:
    """Every ``*.yaml`` under ``directory``: shape, rule checks, unique ids."""
    found: dict[str, QualifiedReferralDefinition] = {}
    if not directory.is_dir():
        return found
    paths = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    for path in paths:
        file = load_yaml(path, f"{display}/{path.name}", problems, limits)
        if file.doc is None:
            continue
        definition = _definition(file, plain(file.doc), problems)
        if definition is None:
            continue
        if definition.id in found:
            problems.add(
                file,
                ("id",),
                f"definition id {definition.id!r} is used twice; give each file its own id",
            )
            continue
        found[definition.id] = definition
    return found


def _definition(
    file: YamlFile, data: Any, problems: Problems
) -> QualifiedReferralDefinition | None:
    try:
        definition = QualifiedReferralDefinition.model_validate(data)
    except ValidationError as exc:
        problems.add_validation(file, exc, QualifiedReferralDefinition)
        return None
    ok = True
    for i, rule in enumerate(definition.rules):
        for message in check_rule(rule):
            problems.add(file, ("rules", i), f"rules[{i}] ({rule.type}): {message}")
            ok = False
    return definition if ok else None
