"""The people files (worklist, closure, new referrers) never open a referral they cannot
list: contacted, scheduled, cancelled, declined and no-show referrals with a known referrer
stay sealed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from connectors.capabilities import Contacts
from connectors.scheduling.new_referrers import new_referrer_rows
from connectors.scheduling.writers import closure_rows, worklist_rows
from mapping.model import Referral, ServiceTargets, Stage
from sync.engine.outputs import _listable, _may_be_listed
from sync.state import StateStore
from sync.state._sealing import new_key


def test_listed_stages_may_be_listed_and_scheduled_and_settled_ones_are_not() -> None:
    for stage in ("referred", "intake_received", "accepted"):  # the worklist
        assert _may_be_listed({"stage": stage, "clinician_id": "cli_1"})
    assert _may_be_listed({"stage": "completed", "clinician_id": "cli_1"})  # closure list
    for stage in ("contacted", "scheduled", "cancelled", "declined", "no_show"):
        assert not _may_be_listed({"stage": stage, "clinician_id": "cli_1"})
        assert not _may_be_listed({"stage": stage})  # no referrer named at all


def test_a_settled_referral_whose_referrer_is_unknown_is_kept_for_the_new_referrers_list() -> None:
    assert _may_be_listed({"stage": "cancelled", "referring_npi": "1234567893"})
    assert not _may_be_listed(
        {"stage": "cancelled", "referring_npi": "1234567893", "clinician_id": "cli_1"}
    )


def test_the_referrals_left_unopened_are_on_no_people_file() -> None:
    """Every stage, with and without a known referrer: the worklist, the closure list and the
    new referrers list built from every referral equal those built from the ones
    ``_may_be_listed`` lets through (so leaving the others sealed loses no row)."""
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    targets = {"cardiology": ServiceTargets(respond_within_hours=24, schedule_within_days=7,
                                            close_loop_within_days=14)}  # fmt: skip
    referrals = [
        Referral(
            id=f"ref_{stage.value}_{known}",
            referral_number=f"REF-{n}",
            service_line="cardiology",
            stage=stage,
            referring_npi="1234567893",
            clinician_id="cli_1" if known else None,
            received_at=now - timedelta(days=30),
            completed_at=now - timedelta(days=3) if stage is Stage.COMPLETED else None,
        )
        for n, (stage, known) in enumerate((s, k) for s in Stage for k in (True, False))
    ]
    kept = [r for r in referrals if _may_be_listed(r.model_dump(mode="json"))]
    assert len(kept) < len(referrals)  # scheduled, contacted and settled ones stay sealed
    contacts = Contacts()
    assert worklist_rows(kept, targets, now=now) == worklist_rows(referrals, targets, now=now)
    assert closure_rows(kept, targets, now=now) == closure_rows(referrals, targets, now=now)
    assert new_referrer_rows(kept, contacts) == new_referrer_rows(referrals, contacts)
    assert worklist_rows(referrals, targets, now=now)  # each list has rows to compare
    assert closure_rows(referrals, targets, now=now)
    assert new_referrer_rows(referrals, contacts)


def test_one_pass_yields_the_candidates_in_id_order_and_opens_only_the_listed_stages(
    tmp_path: Path,
) -> None:
    """Open and completed referrals come back with their dates; a cancelled one kept for
    the new referrers list comes back with its clear fields only."""
    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}", keys=[new_key()])
    when = datetime(2026, 3, 2, tzinfo=UTC)
    stages = ["completed", "scheduled", "accepted", "cancelled", "referred", "no_show"]
    store.put_records(
        "referral",
        [
            (
                f"ref_{n:04d}",
                Referral(id=f"ref_{n:04d}", referral_number=f"REF-{n}", stage=stage,
                         referring_npi="1234567893", received_at=when,
                         clinician_id=None if stage == "cancelled" else "cli_1",
                         ).model_dump(mode="json"),
                False,
            )
            for n, stage in enumerate(stages * 400)
        ],
    )  # fmt: skip
    found = list(_listable(store)())
    store.close()
    assert [r.id for r in found] == sorted(r.id for r in found)
    assert len(found) == 400 * 4  # completed, accepted, referred; cancelled of unknown referrer
    for r in found:
        assert (r.received_at is None) == (r.stage.value == "cancelled")
