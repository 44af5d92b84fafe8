"""The stage machine, table-driven: every (current, proposed) pair for owner and non-owner."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mapping.errors import RecordError, StageTransitionRefused
from mapping.model import Referral, Stage
from mapping.stages import (
    DEFAULT_ALLOWED_BACKWARD,
    Move,
    StageRules,
    apply_stage,
    decide,
)

S = Stage
COLUMNS = [S.CONTACTED, S.REFERRED, S.INTAKE_RECEIVED, S.ACCEPTED, S.SCHEDULED, S.COMPLETED,
           S.DECLINED, S.CANCELLED, S.NO_SHOW]  # fmt: skip

# Rows: current stage; columns: proposed stage, in COLUMNS order.
# F forward (anyone), B backward (owner + allowed pair only), x unreachable (never), = same.
TABLE = """
                 con ref int acc sch com dec can nos
contacted         =   F   F   F   F   F   F   F   x
referred          B   =   F   F   F   F   F   F   x
intake_received   B   B   =   F   F   F   F   F   x
accepted          B   B   B   =   F   F   F   F   x
scheduled         B   B   B   B   =   F   x   F   F
completed         B   B   B   B   B   =   B   B   B
declined          B   B   B   B   B   B   =   B   B
cancelled         B   B   B   B   B   B   B   =   B
no_show           B   B   B   B   B   B   B   B   =
"""


def _cells():
    lines = [line.split() for line in TABLE.strip().splitlines()[1:]]
    for row in lines:
        current = Stage(row[0])
        for proposed, mark in zip(COLUMNS, row[1:], strict=True):
            yield current, proposed, mark


CELLS = list(_cells())
OWNER = StageRules(owner="epic")
KIND = {"F": Move.FORWARD, "B": Move.BACKWARD, "x": Move.UNREACHABLE, "=": Move.SAME}


def test_the_table_covers_all_81_pairs():
    assert len(CELLS) == 81
    assert {(c, p) for c, p, _ in CELLS} == {(c, p) for c in Stage for p in Stage}


@pytest.mark.parametrize(("current", "proposed", "mark"), CELLS)
@pytest.mark.parametrize("system", ["epic", "salesforce"])
def test_every_stage_pair_for_owner_and_non_owner(current, proposed, mark, system):
    decision = decide(current, proposed, system=system, rules=OWNER)
    is_owner = system == "epic"
    expected = {
        "F": True,
        "=": True,
        "x": False,
        "B": is_owner and (current, proposed) in DEFAULT_ALLOWED_BACKWARD,
    }[mark]
    assert decision.accepted is expected
    assert decision.backward is (mark == "B")
    assert decision.move is KIND[mark]
    if mark != "=":
        assert current.value in decision.reason and proposed.value in decision.reason
    assert system in decision.reason


@pytest.mark.parametrize("proposed", list(Stage))
@pytest.mark.parametrize("system", ["epic", "salesforce"])
def test_a_referral_without_a_stage_accepts_any_first_stage(proposed, system):
    decision = decide(None, proposed, system=system, rules=OWNER)
    assert decision.accepted and not decision.backward and decision.move is Move.FIRST
    assert proposed.value in decision.reason and system in decision.reason


@pytest.mark.parametrize(("current", "proposed"), [(c, p) for c, p, m in CELLS if m == "B"])
def test_without_an_owner_every_backward_move_is_refused(current, proposed):
    decision = decide(current, proposed, system="epic", rules=StageRules())
    assert not decision.accepted
    assert f"no system owns {proposed.value}" in decision.reason


def test_owner_may_make_a_backward_move_a_custom_rule_allows():
    rules = StageRules(owner="salesforce", allowed_backward=frozenset({(S.ACCEPTED, S.REFERRED)}))
    assert decide(S.ACCEPTED, S.REFERRED, system="salesforce", rules=rules).accepted
    refused = decide(S.NO_SHOW, S.SCHEDULED, system="salesforce", rules=rules)
    assert not refused.accepted and "accepted->referred" in refused.reason


def test_each_stage_has_its_own_owner_and_only_that_owner_moves_back_into_it():
    rules = StageRules(owners={S.ACCEPTED: "salesforce", S.SCHEDULED: "epic"})
    assert decide(S.ACCEPTED, S.REFERRED, system="salesforce", rules=rules).accepted is False
    assert decide(S.NO_SHOW, S.SCHEDULED, system="epic", rules=rules).accepted
    refused = decide(S.NO_SHOW, S.SCHEDULED, system="salesforce", rules=rules)
    assert not refused.accepted and "owner of scheduled (epic)" in refused.reason


def test_reasons_are_sentences_naming_both_stages_and_the_systems():
    forward = decide(S.REFERRED, S.SCHEDULED, system="epic", rules=OWNER)
    assert forward.reason == (
        "epic moved the referral forward from referred to scheduled "
        "(skipping intake_received, accepted)"
    )
    refused = decide(S.SCHEDULED, S.REFERRED, system="hubspot", rules=OWNER)
    assert refused.reason == (
        "hubspot proposed moving the referral back from scheduled to referred, "
        "but only the owner of referred (epic) may move a referral back"
    )
    unreachable = decide(S.CONTACTED, S.NO_SHOW, system="epic", rules=OWNER)
    assert "no_show can only be reached from scheduled" in unreachable.reason


# -- apply_stage -------------------------------------------------------------------------------

AT = datetime(2024, 3, 5, 15, 30, tzinfo=UTC)


def _referral(**kwargs):
    return Referral(id="ref-1", referral_number="R-1", **kwargs)


def test_apply_stage_returns_a_copy_with_the_move_in_its_history():
    before = _referral(stage=S.REFERRED)
    after = apply_stage(before, S.SCHEDULED, system="epic", at=AT, rules=OWNER)
    assert after.stage is S.SCHEDULED
    assert [(e.stage, e.entered_at, e.system) for e in after.stage_history] == [
        (S.SCHEDULED, AT, "epic")
    ]
    assert before.stage is S.REFERRED and before.stage_history == []


def test_apply_stage_with_the_same_stage_adds_no_history():
    first = apply_stage(_referral(stage=S.REFERRED), S.SCHEDULED, system="epic", at=AT, rules=OWNER)
    again = apply_stage(first, S.SCHEDULED, system="salesforce", at=AT, rules=OWNER)
    assert again == first and again is not first


def test_apply_stage_records_the_current_stage_of_a_referral_without_history():
    recorded = apply_stage(_referral(stage=S.REFERRED), S.REFERRED, system="sf", at=AT, rules=OWNER)
    assert [(e.stage, e.system) for e in recorded.stage_history] == [(S.REFERRED, "sf")]


def test_no_show_rescheduled_by_the_owner_goes_back_to_scheduled():
    referral = _referral(stage=S.NO_SHOW)
    rescheduled = apply_stage(referral, S.SCHEDULED, system="epic", at=AT, rules=OWNER)
    assert rescheduled.stage is S.SCHEDULED


def test_refused_move_raises_a_record_error_naming_the_referral_and_field():
    with pytest.raises(StageTransitionRefused) as info:
        apply_stage(_referral(stage=S.COMPLETED), S.REFERRED, system="hubspot", at=AT, rules=OWNER)
    err = info.value
    assert isinstance(err, RecordError)
    assert (err.key, err.field, err.code) == ("ref-1", "stage", "STAGE_TRANSITION_REFUSED")
    assert "completed" in err.message and "referred" in err.message and "epic" in err.message


def test_apply_stage_refuses_a_naive_timestamp():
    with pytest.raises(ValueError, match="timezone"):
        apply_stage(_referral(), S.ACCEPTED, system="epic", at=datetime(2024, 3, 5), rules=OWNER)
