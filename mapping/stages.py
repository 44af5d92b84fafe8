"""The referral stage machine: stages and transitions as data, plus one pure decision.

Main path (forward moves may skip stages: a scheduling export can show a referral that is
already scheduled)::

    contacted -> referred -> intake_received -> accepted -> scheduled -> completed

Lost stages and where they can be reached from (a forward move):

- ``declined``  - before scheduling: from contacted, referred, intake_received or accepted;
- ``cancelled`` - from any open stage (contacted .. scheduled);
- ``no_show``   - only from scheduled.

Every other move is either **backward** (to an earlier main-path stage, or out of a terminal
stage: completed, declined, cancelled, no_show) or **unreachable** (a lost stage from a stage
it cannot follow, e.g. scheduled -> declined). A backward move is accepted only when the
proposing system owns the stage *and* the pair is in ``StageRules.allowed_backward`` (by
default ``no_show -> scheduled`` and ``cancelled -> scheduled``: the patient was rebooked).
An unreachable move is always refused. Moving to the current stage is an accepted no-op.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from mapping.errors import StageTransitionRefused
from mapping.model import Referral, Stage, StageEvent

__all__ = [
    "DEFAULT_ALLOWED_BACKWARD",
    "FORWARD_MOVES",
    "LOST_FROM",
    "LOST_STAGES",
    "MAIN_PATH",
    "OPEN_STAGES",
    "TERMINAL_STAGES",
    "Move",
    "StageDecision",
    "StageRules",
    "apply_stage",
    "classify",
    "decide",
]

MAIN_PATH: tuple[Stage, ...] = (
    Stage.CONTACTED,
    Stage.REFERRED,
    Stage.INTAKE_RECEIVED,
    Stage.ACCEPTED,
    Stage.SCHEDULED,
    Stage.COMPLETED,
)
OPEN_STAGES: frozenset[Stage] = frozenset(MAIN_PATH[:-1])
LOST_STAGES: frozenset[Stage] = frozenset({Stage.DECLINED, Stage.CANCELLED, Stage.NO_SHOW})
TERMINAL_STAGES: frozenset[Stage] = LOST_STAGES | {Stage.COMPLETED}

LOST_FROM: Mapping[Stage, frozenset[Stage]] = {
    Stage.DECLINED: frozenset(
        {Stage.CONTACTED, Stage.REFERRED, Stage.INTAKE_RECEIVED, Stage.ACCEPTED}
    ),
    Stage.CANCELLED: OPEN_STAGES,
    Stage.NO_SHOW: frozenset({Stage.SCHEDULED}),
}
"""For each lost stage, the stages it may be entered from (a forward move)."""

FORWARD_MOVES: frozenset[tuple[Stage, Stage]] = frozenset(
    {(a, b) for i, a in enumerate(MAIN_PATH) for b in MAIN_PATH[i + 1 :]}
    | {(src, lost) for lost, sources in LOST_FROM.items() for src in sources}
)
"""Every move any system may make."""

DEFAULT_ALLOWED_BACKWARD: frozenset[tuple[Stage, Stage]] = frozenset(
    {(Stage.NO_SHOW, Stage.SCHEDULED), (Stage.CANCELLED, Stage.SCHEDULED)}
)


class Move(StrEnum):
    FIRST = "first"  # no current stage yet
    SAME = "same"
    FORWARD = "forward"
    BACKWARD = "backward"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class StageRules:
    """Who owns which stage of a referral and which backward moves an owner may make.

    ``owners`` maps a stage to the one system that owns it (the CRM the intake stages, the
    scheduling system the appointment outcomes); ``owner`` owns every stage not listed
    there. A stage nobody owns may be entered by any system moving forward; backward moves
    into it are refused.
    """

    owner: str | None = None
    allowed_backward: frozenset[tuple[Stage, Stage]] = field(
        default_factory=lambda: DEFAULT_ALLOWED_BACKWARD
    )
    owners: Mapping[Stage, str] = field(default_factory=dict)

    def owner_of(self, stage: Stage) -> str | None:
        """The system that owns ``stage``, or None."""
        return self.owners.get(stage, self.owner)


@dataclass(frozen=True)
class StageDecision:
    accepted: bool
    reason: str
    backward: bool
    move: Move = Move.FORWARD


def classify(current: Stage | None, proposed: Stage) -> Move:
    """What kind of move ``current -> proposed`` is, whoever proposes it."""
    if current is None:
        return Move.FIRST
    if current == proposed:
        return Move.SAME
    if (current, proposed) in FORWARD_MOVES:
        return Move.FORWARD
    if current in TERMINAL_STAGES or proposed in MAIN_PATH:
        return Move.BACKWARD
    return Move.UNREACHABLE


def _skipped(current: Stage, proposed: Stage) -> str:
    if current in MAIN_PATH and proposed in MAIN_PATH:
        between = MAIN_PATH[MAIN_PATH.index(current) + 1 : MAIN_PATH.index(proposed)]
        if between:
            return f" (skipping {', '.join(s.value for s in between)})"
    return ""


def _unreachable_reason(current: Stage, proposed: Stage, system: str) -> str:
    sources = ", ".join(s.value for s in MAIN_PATH if s in LOST_FROM[proposed])
    return (
        f"{system} proposed moving the referral from {current.value} to {proposed.value}, "
        f"but {proposed.value} can only be reached from {sources}; the move was refused"
    )


def _backward(current: Stage, proposed: Stage, system: str, rules: StageRules) -> StageDecision:
    move = f"{system} proposed moving the referral back from {current.value} to {proposed.value}"
    owner = rules.owner_of(proposed)
    if owner is None:
        reason = f"{move}, but no system owns {proposed.value}, so backward moves are refused"
        return StageDecision(False, reason, True, Move.BACKWARD)
    if system != owner:
        reason = (
            f"{move}, but only the owner of {proposed.value} ({owner}) may move a referral back"
        )
        return StageDecision(False, reason, True, Move.BACKWARD)
    if (current, proposed) not in rules.allowed_backward:
        allowed = ", ".join(sorted(f"{a.value}->{b.value}" for a, b in rules.allowed_backward))
        reason = (
            f"{move}; {system} owns the stage, but no rule allows this backward move "
            f"(allowed: {allowed or 'none'})"
        )
        return StageDecision(False, reason, True, Move.BACKWARD)
    reason = f"{move}; accepted because {system} owns the stage and a rule allows this move"
    return StageDecision(True, reason, True, Move.BACKWARD)


def decide(
    current: Stage | None, proposed: Stage, *, system: str, rules: StageRules
) -> StageDecision:
    """Accept or refuse ``current -> proposed`` proposed by ``system``, with a reason."""
    move = classify(current, proposed)
    if current is None:
        reason = f"{system} set the first stage of the referral: {proposed.value}"
        return StageDecision(True, reason, False, move)
    if move is Move.SAME:
        reason = f"{system} reported the current stage {proposed.value} again; nothing changes"
        return StageDecision(True, reason, False, move)
    if move is Move.FORWARD:
        reason = (
            f"{system} moved the referral forward from {current.value} to {proposed.value}"
            f"{_skipped(current, proposed)}"
        )
        return StageDecision(True, reason, False, move)
    if move is Move.UNREACHABLE:
        return StageDecision(False, _unreachable_reason(current, proposed, system), False, move)
    return _backward(current, proposed, system, rules)


def apply_stage(
    referral: Referral, proposed: Stage, *, system: str, at: datetime, rules: StageRules
) -> Referral:
    """A copy of ``referral`` in ``proposed`` with the move appended to its stage history.

    Raises :class:`StageTransitionRefused` (a record-level error) when :func:`decide` refuses.
    Reporting the current stage again changes nothing, except that a referral with an empty
    history gets its current stage recorded as the first event.
    """
    decision = decide(referral.stage, proposed, system=system, rules=rules)
    if not decision.accepted:
        raise StageTransitionRefused(
            f"referral {referral.id!r}: {decision.reason}",
            key=referral.id,
            field="stage",
            code="STAGE_TRANSITION_REFUSED",
        )
    if decision.move is Move.SAME and referral.stage_history:
        return referral.model_copy()
    event = StageEvent(stage=proposed, entered_at=at, system=system)
    return referral.model_copy(
        update={"stage": proposed, "stage_history": [*referral.stage_history, event]}
    )
