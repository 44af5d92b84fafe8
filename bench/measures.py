"""How long `mapping.measures.compute` takes on a large program (pure, in memory), and what
incremental partner rollups cost in a state store (`sync.engine.rollups`).

python bench/measures.py [referrals] [partners] [outreach]
python bench/measures.py rollups [referrals] [partners] [changed]

``rollups`` stores the program in a SQLite state store, runs the day's full rollup pass, then
changes ``changed`` referrals (a new stage event each) spread over 10, 100 and all partners
and times the incremental pass after each: its cost should follow the partners changed (and
their referrals), not the program's size. Last, a pass with nothing changed.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from mapping.measures import MeasureConfig, compute
from mapping.model import (
    Clinician,
    OutreachActivity,
    OutreachKind,
    Partner,
    QualifiedReferralDefinition,
    Referral,
    ServiceTargets,
    StageEvent,
)

NOW = datetime(2026, 6, 30, tzinfo=UTC)


def program(
    n: int, partners: int, outreach: int
) -> tuple[list[Referral], list[Partner], list[Clinician], list[OutreachActivity]]:
    ps = [Partner(id=f"p{i}", name=f"Partner {i}") for i in range(partners)]
    cs = [
        Clinician(id=f"c{i}", last_name="X", partner_id=f"p{i % partners}")
        for i in range(partners * 3)
    ]
    os_ = [
        OutreachActivity(
            id=f"o{i}",
            kind=OutreachKind.VISIT,
            partner_id=f"p{i % partners}",
            clinician_ids=[f"c{i % (partners * 3)}"],
            occurred_at=NOW - timedelta(days=i % 400),
            subject="v",
        )
        for i in range(outreach)
    ]
    stages = ["referred", "accepted", "scheduled", "completed"]
    rs = []
    for i in range(n):
        t = NOW - timedelta(days=i % 400, hours=i % 24)
        hist = [
            StageEvent(stage=s, entered_at=t + timedelta(days=k * 3), system="b")
            for k, s in enumerate(stages[: 1 + i % 4])
        ]
        rs.append(
            Referral(
                id=f"r{i}",
                referral_number=f"R{i}",
                service_line=("cardiology", "ortho")[i % 2],
                partner_id=f"p{i % partners}",
                clinician_id=f"c{i % (partners * 3)}",
                stage=hist[-1].stage,
                stage_history=hist,
                received_at=t,
            )
        )
    return rs, ps, cs, os_


DEFINITIONS = [
    QualifiedReferralDefinition(
        id="d",
        service_line="cardiology",
        version="1",
        targets=ServiceTargets(
            respond_within_hours=24, schedule_within_days=7, close_loop_within_days=14
        ),
    )
]


def main(n: int = 100_000, partners: int = 1_000, outreach: int = 10_000) -> None:
    rs, ps, cs, os_ = program(n, partners, outreach)
    start = time.perf_counter()
    m = compute(rs, ps, cs, os_, DEFINITIONS, now=NOW, config=MeasureConfig())
    took = time.perf_counter() - start
    print(
        f"{n} referrals, {partners} partners, {outreach} outreach: compute {took:.1f} s "
        f"({m.windows[365].referrals} referrals in the last 365 days)"
    )


def rollups(n: int = 100_000, partners: int = 1_000, changed: int = 1_000) -> None:
    from config.models import MeasuresConfig
    from sync.engine.rollups import update_rollups
    from sync.state import StateStore

    rs, ps, cs, os_ = program(n, partners, outreach=partners * 10)
    settings, tz = MeasuresConfig(), ZoneInfo("UTC")
    with tempfile.TemporaryDirectory() as tmp, StateStore.open(f"sqlite:///{tmp}/s.db") as store:
        for entity, records in (("partner", ps), ("clinician", cs), ("outreach", os_),
                                ("referral", rs)):  # fmt: skip
            for start in range(0, len(records), 5000):
                batch = records[start : start + 5000]
                store.put_records(entity, [(r.id, r.model_dump(mode="json"), False) for r in batch])

        def timed(label: str, touched: dict[str, list[str]]) -> None:
            wall, cpu = time.perf_counter(), time.process_time()
            r = update_rollups(store, touched, DEFINITIONS, now=NOW, settings=settings, tz=tz)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(f"{label:<44} partners recomputed {r.recomputed:>5}, referrals read "
                  f"{r.referrals_read:>6}, stored {len(r.changed):>5}: "
                  f"{wall:6.2f} s wall, {cpu:6.2f} s CPU")  # fmt: skip

        print(f"{n} referrals, {partners} partners, {len(os_)} outreach, {changed} changed")
        timed("full pass (the day's first run)", {})
        for spread in (10, 100, partners):
            ids = [f"r{(j // spread) * partners + (j % spread)}" for j in range(changed)]
            ids = [i for i in ids if int(i[1:]) < n]
            store.put_records("referral", [_moved(store, rid) for rid in ids])
            timed(f"{len(ids)} referrals changed over {spread} partners", {"referral": ids})
        timed("nothing changed", {})


def _moved(store: object, rid: str) -> tuple[str, dict[str, object], bool]:
    """The referral with one more stage event (a no-show a day after its last event)."""
    data = dict(store.get_record("referral", rid).data)  # type: ignore[attr-defined]
    last = max(datetime.fromisoformat(e["entered_at"]) for e in data["stage_history"])
    event = {"stage": "no_show", "entered_at": (last + timedelta(days=1)).isoformat(),
             "system": "b"}  # fmt: skip
    return (
        rid,
        {**data, "stage": "no_show", "stage_history": [*data["stage_history"], event]},
        False,
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["rollups"]:
        rollups(*(int(a) for a in sys.argv[2:]))
    else:
        main(*(int(a) for a in sys.argv[1:]))
