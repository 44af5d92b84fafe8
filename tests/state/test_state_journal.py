"""Bookmarks, runs, per-record errors and conflicts."""

from __future__ import annotations

import pytest

from mapping.errors import StateError, TransformError
from sync.state import ConflictRow, RecordErrorRow


def test_a_bookmark_round_trips_and_is_overwritten(store):
    assert store.get_bookmark("epic", "appointments") is None
    first = {"since": "2026-03-01T12:00:00+00:00", "seen_ids": ["a", "b"], "page": None}
    store.set_bookmark("epic", "appointments", first)
    assert store.get_bookmark("epic", "appointments") == first
    store.set_bookmark("epic", "appointments", {"since": "2026-03-02T00:00:00+00:00"})
    assert store.get_bookmark("epic", "appointments") == {"since": "2026-03-02T00:00:00+00:00"}
    assert store.get_bookmark("epic", "tasks") is None


def test_a_cleared_bookmark_makes_the_next_read_start_over(store):
    store.set_bookmark("epic", "appointments", {"since": "2026-03-01T12:00:00+00:00"})
    store.set_bookmark("epic", "tasks", {"since": "2026-03-01T12:00:00+00:00"})
    assert store.clear_bookmark("epic", "appointments") is True
    assert store.clear_bookmark("epic", "appointments") is False
    assert store.get_bookmark("epic", "appointments") is None
    assert store.get_bookmark("epic", "tasks") is not None


def test_a_bookmark_that_is_not_plain_json_is_refused_with_the_fix(store, clock):
    with pytest.raises(StateError, match="ISO-8601"):
        store.set_bookmark("salesforce", "Account", {"since": clock.now})


def test_runs_are_started_finished_and_listed_newest_first(store, clock):
    first = store.start_run("scheduling-to-crm", host="worker-1", pid=111)
    clock.advance(60)
    store.finish_run(first, "succeeded", {"written": 12, "rejected": 1})
    clock.advance(60)
    second = store.start_run("scheduling-to-crm", host="worker-2", pid=222)
    other = store.start_run("crm-to-crm", host="worker-1", pid=333)
    runs = store.last_runs("scheduling-to-crm")
    assert [r.id for r in runs] == [second, first]
    assert runs[0].status == "running" and runs[0].finished_at is None
    assert runs[1].status == "succeeded"
    assert runs[1].counts == {"written": 12, "rejected": 1}
    assert (runs[1].host, runs[1].pid) == ("worker-1", 111)
    assert runs[1].finished_at == runs[1].started_at.replace(minute=1)
    assert [r.id for r in store.last_runs(limit=2)] == [other, second]


def test_finishing_an_unknown_run_is_a_state_error(store):
    with pytest.raises(StateError, match="run 999 does not exist"):
        store.finish_run(999, "failed", {})


def test_runs_commit_on_their_own_and_are_refused_inside_a_session(store):
    with store.session(), pytest.raises(StateError, match="before or after the session"):
        store.start_run("job", host="h", pid=1)


def _error(key: str, field: str = "stage", code: str = "INVALID") -> RecordErrorRow:
    return RecordErrorRow(
        system="salesforce",
        object="Referral__c",
        key=key,
        field=field,
        code=code,
        message="Stage__c: value not in the restricted picklist; add it or fix the stage map",
    )


def test_a_repeated_record_error_counts_attempts_and_moves_last_seen(store, clock):
    store.record_errors("job", [_error("R1"), _error("R2")])
    first_seen = clock.now
    clock.advance(900)
    store.record_errors("job", [_error("R1", code="INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")])
    errors = {e.key: e for e in store.open_errors("job")}
    assert errors["R1"].attempts == 2
    assert errors["R1"].first_seen == first_seen
    assert errors["R1"].last_seen == clock.now
    assert errors["R1"].code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert errors["R2"].attempts == 1
    # Most recently seen first.
    assert [e.key for e in store.open_errors("job")] == ["R1", "R2"]


def test_the_same_record_failing_on_two_fields_is_two_errors(store):
    store.record_errors("job", [_error("R1", field="stage"), _error("R1", field="urgency")])
    assert sorted(e.field for e in store.open_errors()) == ["stage", "urgency"]


def test_errors_without_a_field_upsert_too(store):
    store.record_errors("job", [_error("R1", field="")])
    store.record_errors("job", [_error("R1", field="")])
    [error] = store.open_errors("job")
    assert (error.field, error.attempts) == ("", 2)


def test_resolved_errors_leave_the_open_list_and_reopen_if_they_fail_again(store):
    store.record_errors("job", [_error("R1"), _error("R2")])
    store.resolve_errors("job", "salesforce", "Referral__c", ["R1"])
    assert [e.key for e in store.open_errors("job")] == ["R2"]
    store.record_errors("job", [_error("R1")])
    reopened = {e.key: e for e in store.open_errors("job")}["R1"]
    assert reopened.attempts == 2 and reopened.resolved is False


def test_open_errors_are_per_job(store):
    store.record_errors("job-a", [_error("R1")])
    store.record_errors("job-b", [_error("R1")])
    assert [e.job for e in store.open_errors("job-a")] == ["job-a"]
    assert len(store.open_errors()) == 2


def test_a_record_error_row_is_built_from_a_record_error_without_values():
    exc = TransformError(
        "date: not an ISO-8601 date", key="R7", field="received_at", code="BAD_DATE"
    )
    row = RecordErrorRow.from_error("epic", "appointments", exc)
    assert (row.key, row.field, row.code) == ("R7", "received_at", "BAD_DATE")
    assert row.message == "date: not an ISO-8601 date"


def test_thousands_of_errors_are_upserted_in_a_few_statements(store, statements):
    rows = [_error(f"R{n}") for n in range(5000)]
    with statements:
        store.record_errors("job", rows)
        store.record_errors("job", rows)
    assert statements.count("INSERT") <= 4
    assert {e.attempts for e in store.open_errors("job")} == {2}


def test_conflicts_are_recorded_with_a_hash_never_the_value_and_listed(store, clock):
    run_id = store.start_run("job", host="h", pid=1)
    proposed = store.keyed_hash("1961-07-04")
    store.record_conflicts(
        [
            ConflictRow(
                entity="referral",
                canonical_id="ref-1",
                field="patient.birth_date",
                proposing_system="hubspot",
                owner="epic",
                proposed_hash=proposed,
                summary="birth date changed (PHI, redacted)",
                run_id=run_id,
            ),
            ConflictRow(
                "referral",
                "ref-2",
                "stage",
                "hubspot",
                "salesforce",
                summary="completed -> referred",
            ),
        ]
    )
    [first] = store.list_conflicts(canonical_id="ref-1")
    assert first.proposed_hash == proposed and "1961" not in first.proposed_hash
    assert (first.owner, first.proposing_system, first.run_id) == ("epic", "hubspot", run_id)
    assert first.recorded_at == clock.now
    assert [c.canonical_id for c in store.list_conflicts(entity="referral")] == ["ref-2", "ref-1"]
    assert [c.canonical_id for c in store.list_conflicts(run_id=run_id)] == ["ref-1"]
