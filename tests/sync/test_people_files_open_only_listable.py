"""The people files (worklist, closure, new referrers) never open a referral they cannot
list: cancelled, declined and no-show referrals with a known referrer stay sealed."""

from __future__ import annotations

from sync.engine.outputs import _may_be_listed


def test_open_and_completed_referrals_may_be_listed_and_settled_ones_are_not() -> None:
    for stage in ("contacted", "referred", "intake_received", "accepted", "scheduled"):
        assert _may_be_listed({"stage": stage, "clinician_id": "cli_1"})
    assert _may_be_listed({"stage": "completed", "clinician_id": "cli_1"})  # closure list
    for stage in ("cancelled", "declined", "no_show"):
        assert not _may_be_listed({"stage": stage, "clinician_id": "cli_1"})
        assert not _may_be_listed({"stage": stage})  # no referrer named at all


def test_a_settled_referral_whose_referrer_is_unknown_is_kept_for_the_new_referrers_list() -> None:
    assert _may_be_listed({"stage": "cancelled", "referring_npi": "1234567893"})
    assert not _may_be_listed(
        {"stage": "cancelled", "referring_npi": "1234567893", "clinician_id": "cli_1"}
    )
