"""A program whose state store holds enough referrals for a report with real charts.

Deterministic: the same partners, clinicians, outreach and referrals every time, spread over
a year before ``AS_OF``. Every referral carries a PHI block with canary values, so a test can
prove none of them reaches the report, its CSVs or the pipeline output.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from config import write_program
from mapping.model import (
    Attendance,
    Clinician,
    OutreachActivity,
    OutreachKind,
    Partner,
    PatientPHI,
    QualificationResult,
    Referral,
    StageEvent,
)
from sync.state import RecordErrorRow, StateStore

AS_OF = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
CANARIES = ("ZZCANARY-NAME", "MRN-CANARY-7731", "555-0199-CANARY", "CANARY-DIAGNOSIS",
            "CANARY-PAYER", "1931-02-03")  # fmt: skip
PARTNERS = ("Northside Family Medicine", "Lakeview Health", "Riverside Cardiology Group",
            "Quiet Clinic")  # fmt: skip
# stage path of each referral kind: (stage, days after referral)
_PATHS = {
    "completed": [("referred", 0), ("intake_received", 0.5), ("accepted", 1), ("scheduled", 4),
                  ("completed", 12)],
    "scheduled": [("referred", 0), ("accepted", 2), ("scheduled", 9)],
    "waiting": [("referred", 0), ("intake_received", 1), ("accepted", 3)],
    "declined": [("referred", 0), ("declined", 2)],
    "no_show": [("referred", 0), ("accepted", 1), ("scheduled", 3), ("no_show", 10)],
    "new": [("referred", 0)],
}  # fmt: skip
_KINDS = ["completed"] * 5 + ["scheduled"] * 2 + ["waiting"] * 2 + ["declined", "no_show", "new"]


def _referral(i: int) -> Referral:
    partner = i % 3  # Quiet Clinic (3) never refers
    line = ("cardiology", "orthopedics")[i % 2]
    kind = _KINDS[i % len(_KINDS)]
    referred = AS_OF - timedelta(days=2 + (i * 7) % 360, hours=i % 9)
    history = [StageEvent(stage=s, entered_at=referred + timedelta(days=d + (i % 4)), system="t")
               for s, d in _PATHS[kind]]  # fmt: skip
    history[0] = StageEvent(stage="referred", entered_at=referred, system="t")
    history = [e for e in history if e.entered_at <= AS_OF]
    completed = history[-1].entered_at if history[-1].stage == "completed" else None
    missing = [] if i % 5 else ["document:insurance_card"] + ["document:referral_order"] * (i % 2)
    return Referral(
        id=f"ref_{i}", referral_number=f"REF-{5000 + i}", service_line=line,
        partner_id=f"par_{partner}", clinician_id=f"cli_{partner}_{i % 2}",
        stage=history[-1].stage, stage_history=history, received_at=referred,
        completed_at=completed, loop_closed_at=completed + timedelta(days=3 + i % 20)
        if completed and i % 3 else None,
        qualification=QualificationResult(
            status="incomplete" if missing else "qualified", missing=missing),
        patient_ref=f"pt_{i}",
        patient=PatientPHI(name=CANARIES[0], mrn=CANARIES[1], phone=CANARIES[2],
                           diagnosis=CANARIES[3], payer=CANARIES[4],
                           birth_date=datetime(1931, 2, 3).date()),
    )  # fmt: skip


def _outreach(i: int) -> OutreachActivity:
    return OutreachActivity(
        id=f"out_{i}", kind=OutreachKind.VISIT if i % 2 else OutreachKind.LUNCH_AND_LEARN,
        partner_id=f"par_{i % 4}", clinician_ids=[f"cli_{i % 4}_0"],
        occurred_at=AS_OF - timedelta(days=5 + i * 11), subject=f"Visit {i}",
        attendance=Attendance.ATTENDED, campaign=("spring", "summer")[i % 2],
    )  # fmt: skip


def make_program(root: Path, referrals: int = 160) -> Path:
    """A scaffolded program directory whose state store holds a year of activity."""
    program = root / "program"
    write_program(program)
    store = StateStore.open(f"sqlite:///{program / 'state.db'}")
    try:
        store.put_records(
            "partner",
            [
                (f"par_{i}", Partner(id=f"par_{i}", name=n).model_dump(mode="json"), False)
                for i, n in enumerate(PARTNERS)
            ],
        )
        store.put_records(
            "clinician",
            [
                (c.id, c.model_dump(mode="json"), False)
                for c in (
                    Clinician(id=f"cli_{p}_{k}", last_name=f"Clin{p}{k}", partner_id=f"par_{p}")
                    for p in range(4)
                    for k in range(2)
                )
            ],
        )
        store.put_records(
            "referral",
            [(r.id, r.model_dump(mode="json"), False) for r in map(_referral, range(referrals))],
        )
        store.put_records(
            "outreach",
            [(o.id, o.model_dump(mode="json"), False) for o in map(_outreach, range(30))],
        )
        store.record_errors(
            "scheduling-to-crm",
            [
                RecordErrorRow(
                    "epic",
                    "appointments",
                    f"row-{i}",
                    "UNMATCHED",
                    "appointment matches no referral",
                )
                for i in range(12)
            ]
            + [
                RecordErrorRow("hubspot", "deals", f"d-{i}", "INVALID_FIELD", "bad stage id")
                for i in range(3)
            ],
        )
    finally:
        store.close()  # fmt: skip
    return program
