"""How long `mapping.measures.compute` takes on a large program (pure, in memory).

python bench/measures.py [referrals] [partners] [outreach]
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta

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


def main(n: int = 100_000, partners: int = 1_000, outreach: int = 10_000) -> None:
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
    ds = [
        QualifiedReferralDefinition(
            id="d",
            service_line="cardiology",
            version="1",
            targets=ServiceTargets(
                respond_within_hours=24, schedule_within_days=7, close_loop_within_days=14
            ),
        )
    ]
    start = time.perf_counter()
    m = compute(rs, ps, cs, os_, ds, now=NOW, config=MeasureConfig())
    took = time.perf_counter() - start
    print(
        f"{n} referrals, {partners} partners, {outreach} outreach: compute {took:.1f} s "
        f"({m.windows[365].referrals} referrals in the last 365 days)"
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
