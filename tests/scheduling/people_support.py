"""What the people-files tests share: a program's definitions, partner and clinicians, random
referrals in every shape the lists care about, and an oracle that builds the files from
every referral opened (on sys.path for the test modules here)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from scheduling_support import FIXTURES, make_connector

from connectors.scheduling import SchedulingConnector
from connectors.scheduling.new_referrers import NEW_REFERRER_COLUMNS, new_referrer_rows
from connectors.scheduling.writers import (
    CLOSURE_COLUMNS,
    WORKLIST_COLUMNS,
    closure_rows,
    targets_by_service_line,
    worklist_rows,
    write_csv_atomic,
)
from mapping.model import (
    Clinician,
    Partner,
    QualifiedReferralDefinition,
    Referral,
    ServiceTargets,
    Stage,
    StageEvent,
)
from sync.engine.outputs import _contacts
from sync.state import StateStore
from sync.state._sealing import new_key

KNOWN_NPI, PROSPECT_NPI = "1234567893", "1982736450"
UNKNOWN_NPIS = ("1111111112", "1333333334", "1555555556")
DEFINITIONS = [
    QualifiedReferralDefinition(
        id="card", service_line="cardiology", version="2",
        targets=ServiceTargets(respond_within_hours=48, schedule_within_days=7,
                               close_loop_within_days=14),
    ),
    QualifiedReferralDefinition(
        id="ortho", service_line="orthopedics", version="1",
        targets=ServiceTargets(schedule_within_days=10),
    ),
]  # fmt: skip
FILES = ("scheduling-worklist.csv", "closure.csv", "new-referrers.csv")


def random_referral(
    rng: random.Random, n: int, now: datetime, *, odd_numbers: bool = False
) -> dict[str, Any]:
    """A referral in any stage, with or without history, dates, a known, prospect or
    unknown referrer and a loop closed; ``odd_numbers``: some referral numbers a
    spreadsheet would read as a formula, or that a CSV writer must quote."""
    stage = rng.choice(list(Stage))
    received = now - timedelta(hours=rng.randint(1, 24 * 60))
    history = [StageEvent(stage=Stage.REFERRED, entered_at=received, system="epic")]
    if stage is not Stage.REFERRED:
        entered = received + timedelta(hours=rng.randint(1, 24 * 20))
        history.append(StageEvent(stage=stage, entered_at=min(entered, now), system="epic"))
    completed = stage is Stage.COMPLETED
    npi = rng.choice((None, KNOWN_NPI, PROSPECT_NPI, *UNKNOWN_NPIS))
    odd = (f"-{n}", f"=R{n}", f'R{n}, "b"', f"R{n}\r\nb", f"R{n},")  # formulas, CSV quoting
    number = rng.choice((f"REF-{n}", *odd)) if odd_numbers else f"REF-{n}"
    return Referral(
        id=f"ref_{n:04d}",
        referral_number=number,
        service_line=rng.choice(("cardiology", "orthopedics", " Cardiology", "dermatology", None)),
        partner_id=rng.choice((None, "par_1")),
        clinician_id="cli_1" if npi == KNOWN_NPI and rng.random() < 0.7 else None,
        referring_npi=npi,
        referring_name=rng.choice((None, "Dr. Ada Avery", "AVERY, ADA MD", "Bo Chen")),
        referring_practice=rng.choice((None, "Heart Partners", "Elsewhere Clinic")),
        stage=stage,
        stage_history=history if rng.random() < 0.9 else [],
        received_at=received if rng.random() < 0.8 else None,
        urgency=rng.choice(("routine", "urgent", "stat")),
        completed_at=history[-1].entered_at if completed and rng.random() < 0.7 else None,
        loop_closed_at=now - timedelta(days=1) if completed and rng.random() < 0.3 else None,
    ).model_dump(mode="json")


def program_store(
    tmp_path: Path,
    *,
    clock: Callable[[], datetime] | None = None,
    partner: Partner | None = None,
) -> StateStore:
    """A state store with the program's partner and its two clinicians (one a prospect)."""
    extra = {} if clock is None else {"clock": clock}
    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}", keys=[new_key()], **extra)
    partner = partner or Partner(id="par_1", name="Heart Partners", phone="555-0100")
    store.put_records("partner", [("par_1", partner.model_dump(mode="json"), False)])
    clinicians = [
        Clinician(id="cli_1", first_name="Ada", last_name="Avery", npi=KNOWN_NPI,
                  partner_id="par_1"),
        Clinician(id="cli_2", first_name="Bo", last_name="Chen", npi=PROSPECT_NPI, prospect=True),
    ]  # fmt: skip
    store.put_records("clinician", [(c.id, c.model_dump(mode="json"), False) for c in clinicians])
    return store


def people_connector(out: Path, clock: Callable[[], datetime]) -> SchedulingConnector:
    """A scheduling connection that writes its people files to ``out``."""
    connector = make_connector(FIXTURES, output_dir=out, preset="generic")
    connector.clock = clock
    return connector


def assert_whole_pass_agrees(
    store: StateStore,
    out: Path,
    scratch: Path,
    now: datetime,
    definitions: Sequence[QualifiedReferralDefinition] = DEFINITIONS,
) -> None:
    """The files in ``out`` equal those built from every live referral, opened (an oracle
    that uses none of the code under test but the row functions)."""
    targets = targets_by_service_line(definitions)
    contacts = _contacts(store)
    every = [Referral.model_validate(r.data) for r in store.iter_records("referral")]
    for name, columns, rows in (
        ("scheduling-worklist.csv", WORKLIST_COLUMNS,
         worklist_rows(every, targets, now=now, contacts=contacts)),
        ("closure.csv", CLOSURE_COLUMNS, closure_rows(every, targets, now=now, contacts=contacts)),
        ("new-referrers.csv", NEW_REFERRER_COLUMNS, new_referrer_rows(every, contacts)),
    ):  # fmt: skip
        write_csv_atomic(scratch / name, columns, rows)
        assert (out / name).read_bytes() == (scratch / name).read_bytes(), name
