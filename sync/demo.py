"""``refsync demo``: a full sync against the built-in sandboxes, no credentials, no network.

It writes a program directory from the shipped templates, starts the Salesforce and HubSpot
sandboxes in this process, seeds partners, clinicians and an outreach meeting, writes a
sample Epic-style export and a FHIR bundle, then runs the jobs (plan, run, and a second run
that writes nothing) and says what happened and where to look.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from config import write_program
from connectors.sandbox import HubSpotSandbox, SalesforceSandbox
from sync.engine import Engine, Runtime, open_program
from sync.provisioning import provision_connection
from sync.state import StateStore

__all__ = [
    "DEMO_JOBS",
    "point_at_sandboxes",
    "provision_hubspot",
    "run_demo",
    "seed_crm",
    "seed_meeting",
    "write_exports",
]

DEMO_JOBS = ("partners-to-hubspot", "outreach-to-salesforce", "scheduling-to-crm")
_SANDBOX_CA = "sandbox-ca.pem"

_PARTNERS = [
    ("Lakeside Family Practice", "1234567893", "pcp_practice"),
    ("Riverbend Cardiology Associates", "1245319599", "specialty_practice"),
    ("Northside Community Health Center", "1003000126", "community_organization"),
]
_CLINICIANS = [
    ("Maria", "Okafor", "1497758544", 0),
    ("David", "Lindqvist", "1679576722", 1),
    ("Grace", "Tanaka", "1861471955", 2),
]


def seed_crm(sf: Any, hs: Any) -> dict[str, int]:
    """Partners and clinicians in Salesforce, as a program starting out would have them."""
    accounts = sf.insert(
        "Account",
        [
            {
                "Name": name,
                "NPI__c": npi,
                "Partner_Kind__c": _pick_kind(kind),
                "Phone": "(312) 555-0100",
                "BillingCity": "Chicago",
                "BillingState": "IL",
                "Relationship_Status__c": "Active",
            }
            for name, npi, kind in _PARTNERS
        ],
    )
    sf.insert(
        "Contact",
        [
            {
                "FirstName": first,
                "LastName": last,
                "NPI__c": npi,
                "AccountId": accounts[idx],
                "Email": f"{first.lower()}.{last.lower()}@example.org",
            }
            for first, last, npi, idx in _CLINICIANS
        ],
    )
    return {"accounts": len(accounts), "contacts": len(_CLINICIANS)}


def seed_meeting(hs: Any, company_name: str) -> str:
    """A liaison logs a lunch-and-learn in HubSpot against a company refsync created there."""
    from hubspot.crm.objects.meetings import SimplePublicObjectInputForCreate

    company = next(
        c for c in hs.records("companies") if c["properties"].get("name") == company_name
    )
    meeting = hs.make_client().crm.objects.meetings.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties={
                "hs_timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "hs_meeting_title": "Lunch and learn: cardiology referrals",
                "hs_meeting_body": "Walked the front desk through the referral checklist.",
                "refsync_outreach_kind": "lunch_and_learn",
            },
            associations=[
                {
                    "to": {"id": company["id"]},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 188}],
                }
            ],
        )
    )
    return str(meeting.id)


def _pick_kind(kind: str) -> str:
    return {
        "pcp_practice": "PCP Practice",
        "specialty_practice": "Specialty Practice",
        "community_organization": "Community Organization",
    }.get(kind, "Other")


EPIC_HEADER = [
    "PAT_ENC_CSN_ID", "PAT_MRN_ID", "PAT_NAME", "BIRTH_DATE", "APPT_DTTM", "APPT_MADE_DTTM",
    "APPT_STATUS_C", "APPT_STATUS_NAME", "APPT_CANC_DTTM", "CANCEL_REASON_NAME", "CHECKIN_DTTM",
    "CHECKOUT_DTTM", "DEPARTMENT_NAME", "PRC_NAME", "REFERRAL_ID", "REFERRING_PROV_NPI",
]  # fmt: skip
_STATUS_NAMES = {
    "1": "Scheduled",
    "2": "Completed",
    "3": "Canceled",
    "4": "No Show",
    "6": "Arrived",
}


def write_epic_export(
    path: Path,
    rows: int,
    now: datetime,
    *,
    first: int = 1040,
    statuses: str = "126234",
    history: bool = False,
) -> Path:
    """An Epic Cadence-style appointments export of ``rows`` referrals with fake patients.

    With ``history``, an appointment whose status moved on also has its booking row (status
    1, made a week before the visit), as Epic reports list one row per status change.
    """
    fmt = "%m/%d/%Y %I:%M %p"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(EPIC_HEADER)
        for i in range(rows):
            status = statuses[i % len(statuses)]
            if history and status not in "16":
                writer.writerow(_epic_row(i, "1", now, first, fmt))
            writer.writerow(_epic_row(i, status, now, first, fmt))
    return path


def _epic_row(i: int, status: str, now: datetime, first: int, fmt: str) -> list[str]:
    appt = now - timedelta(days=10, minutes=-i)
    when = appt.strftime(fmt)
    return [
        f"70{i:07d}", f"{10000 + i:08d}", f"DEMO,PATIENT {i}", "01/01/1960", when,
        (appt - timedelta(days=7)).strftime(fmt), status, _STATUS_NAMES[status],
        when if status == "3" else "", "Patient request" if status == "3" else "",
        when if status in "26" else "",
        (appt + timedelta(hours=1)).strftime(fmt) if status == "2" else "",
        "CARDIOLOGY CLINIC" if i % 2 else "ORTHO SPINE CENTER", "NEW PATIENT VISIT",
        f"REF-{first + i}", _CLINICIANS[i % 3][2],
    ]  # fmt: skip


def write_exports(root: Path, now: datetime) -> list[Path]:
    """A sample Epic Cadence export with fake patients, for the demo."""
    path = root / "exports" / "epic" / "appointments_demo.csv"
    return [write_epic_export(path, 12, now, history=True)]


def point_at_sandboxes(program: Path, sf: Any, hs: Any, env: dict[str, str]) -> None:
    """Point the template's connections at the sandboxes (secrets through ${VAR} only).

    The Salesforce sandbox's CA is copied into the program directory (paths stay inside it);
    the HubSpot sandbox is plain http on 127.0.0.1, declared with ``insecure_http: true``.
    """
    yaml = YAML()
    path = program / "refsync.yaml"
    data = yaml.load(path.read_text(encoding="utf-8"))
    conns = data["connections"]
    shutil.copyfile(sf.ca_file, program / _SANDBOX_CA)
    conns["salesforce"]["settings"] = {
        "auth": "token",
        "instance_url": sf.instance_url,
        "access_token": "${SF_ACCESS_TOKEN}",
        "ca_file": _SANDBOX_CA,
        "bulk_poll_seconds": 0.2,
    }
    conns["hubspot"]["settings"] = {
        "auth": "private_app",
        "access_token": "${HUBSPOT_ACCESS_TOKEN}",
        "host": hs.base_url,
        "insecure_http": True,  # the HubSpot sandbox is plain http on 127.0.0.1
    }
    jobs = data["jobs"]
    jobs.setdefault(
        "outreach-to-salesforce",
        {
            "sources": ["hubspot"],
            "destinations": ["salesforce"],
            "entities": ["outreach"],
            "schedule": "*/30 * * * *",
        },
    )
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(data, fh)
    secrets_ = {"SF_ACCESS_TOKEN": sf.session_id, "HUBSPOT_ACCESS_TOKEN": hs.token}
    env.update(secrets_)
    # Throwaway sandbox tokens, kept in .env (0600) so that `refsync status/errors --config`
    # work on the demo program afterwards; .env is where refsync reads secrets from.
    dotenv = program / ".env"
    kept = [
        line
        for line in (dotenv.read_text(encoding="utf-8").splitlines() if dotenv.exists() else [])
        if line.split("=", 1)[0] not in secrets_
    ]
    fd = os.open(dotenv, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.writelines(f"{line}\n" for line in kept)
        fh.writelines(f"{k}={v}\n" for k, v in secrets_.items())


@contextmanager
def _demo_environment() -> Iterator[None]:
    """The sandbox tokens live in the environment only while the demo runs.

    They must not outlive it: the environment beats a program's ``.env``, so a token left
    behind would override the credentials of whatever program this process runs next.
    """
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_demo(say: Callable[[str], None], workdir: Path | None = None) -> dict[str, Any]:
    """Run the whole demo; return its figures (also printed through ``say``)."""
    with _demo_environment():
        return _run_demo(say, workdir)


def _run_demo(say: Callable[[str], None], workdir: Path | None) -> dict[str, Any]:
    root = Path(workdir or tempfile.mkdtemp(prefix="refsync-demo-"))
    program = root / "program"
    write_program(program)
    say(f"1. wrote a program directory from the templates: {program}")
    os.environ.setdefault("REFSYNC_PATIENT_KEY", secrets.token_hex(32))
    figures: dict[str, Any] = {"program": str(program)}
    with SalesforceSandbox() as sf, HubSpotSandbox() as hs:
        point_at_sandboxes(program, sf, hs, os.environ)  # type: ignore[arg-type]
        provision_hubspot(program)
        seeded = seed_crm(sf, hs)
        write_exports(program, datetime.now(UTC))
        # A read's window ends at the run's start, rounded down to the second and open, so
        # what was seeded in this very second is read by the next run: let the second pass.
        time.sleep(1.1)
        say(
            f"2. started the sandboxes (Salesforce {sf.instance_url}, HubSpot {hs.base_url}); "
            f"seeded {seeded['accounts']} accounts and {seeded['contacts']} contacts in "
            "Salesforce, and wrote an Epic-style export"
        )
        store = StateStore.open(f"sqlite:///{program / 'state.db'}")
        runtime = Runtime(open_program(program))
        engine = Engine(runtime, store)
        try:
            figures["runs"] = _run_jobs(engine, sf, hs, say)
            figures["report"] = str(_write_report(store, runtime, program))
        finally:
            runtime.close()
            store.close()
        figures["salesforce_referrals"] = len(sf.records("Referral__c"))
        figures["hubspot_deals"] = len(hs.records("deals"))
        figures["account_rollup"] = sum(
            int(a.get("Referrals_Total__c") or 0) for a in sf.records("Account")
        )
        figures["company_rollup"] = sum(
            int(c["properties"].get("refsync_referrals_total") or 0)
            for c in hs.records("companies")
        )
    say(f"The program report (opens offline in a browser): {figures['report']}")
    say(
        f"Look at: {program}/refsync.yaml (jobs), mappings/ (field mappings), "
        f"`refsync status --config {program}`, `refsync pipeline --config {program}` and "
        f"`refsync history REF-1041 --config {program}`."
    )
    return figures


def _write_report(store: StateStore, runtime: Runtime, program: Path) -> Path:
    """The report a program's users look at, as ``refsync report`` writes it."""
    from sync.insights import build_tables, load_program_data, write_report

    now = datetime.now(UTC)
    data = load_program_data(store, runtime.program.definitions.values())
    _, tables = build_tables(data, now=now, days=90)
    target = program / "report.html"
    return write_report(target, tables, program=program.name, now=now, days=90, threshold=11)


def provision_hubspot(program: Path) -> None:
    """The Referrals pipeline, properties and custom object the HubSpot mapping needs."""
    provision_connection(program, connection="hubspot", apply=True)


def _run_jobs(engine: Engine, sf: Any, hs: Any, say: Callable[[str], None]) -> list[dict[str, Any]]:
    out = []
    step = 3
    for job in DEMO_JOBS:
        if job == "scheduling-to-crm":
            plan = engine.plan(job)
            say(f"{step}. plan {job}: {plan.summary()}")
            for t in plan.transitions[:5]:
                say(f"     {t.describe()}")
            step += 1
        if job == "outreach-to-salesforce":
            seed_meeting(hs, _PARTNERS[0][0])
            time.sleep(1.1)  # let the second of the write pass (read windows end open)
            say(f"{step}. a liaison logged a lunch-and-learn meeting in HubSpot")
            step += 1
        for attempt in ("run", "second run") if job == "scheduling-to-crm" else ("run",):
            before = sf.stats.write_calls + hs.stats.write_calls
            report = engine.run(job)
            after = sf.stats.write_calls + hs.stats.write_calls
            say(f"{step}. {attempt} of {job}: {report.summary()}; {after - before} write calls")
            out.append(
                {
                    "job": job,
                    "attempt": attempt,
                    "status": report.status,
                    "write_calls": after - before,
                    "counts": json.loads(json.dumps(report.counts())),
                }
            )
            step += 1
    return out
