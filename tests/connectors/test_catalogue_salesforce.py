"""Failure-catalogue cases for Salesforce (``docs/crm-sync-failure-modes.md``), through the
real simple-salesforce client against the sandbox. Each test names its case id."""

from __future__ import annotations

from sf_support import make_connector, sandbox, sf_sandbox  # noqa: F401

from connectors.sandbox import SalesforceSandbox
from mapping.errors import RecordRejected

KEY = "Refsync_Id__c"


def _clinician(key: str, email: str, last: str = "Okafor") -> dict[str, str]:
    return {KEY: key, "LastName": last, "Email": email}


def test_e5_a_duplicate_rule_rejects_only_the_matching_record_naming_the_record_it_matched(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    """E5: an active duplicate rule refuses an insert with DUPLICATES_DETECTED; refsync reports
    that record as rejected, naming the existing record, and the rest of the batch lands."""
    [existing] = sandbox.insert("Contact", [_clinician("made-by-a-user", "a.okafor@clinic.org")])
    sandbox.add_duplicate_rule("Contact", ["Email"], "Standard_Contact_Duplicate_Rule")
    records = [
        _clinician("c-1", "b.lee@clinic.org", "Lee"),
        _clinician("c-2", "A.Okafor@Clinic.ORG"),  # the same address, cased differently
        _clinician("c-3", "c.diaz@clinic.org", "Diaz"),
    ]
    results = make_connector(sandbox).upsert("Contact", records, key=KEY)
    assert [r.ok for r in results] == [True, False, True]
    error = results[1].error
    assert isinstance(error, RecordRejected) and error.exit_code == 1
    assert error.code == "DUPLICATES_DETECTED" and error.key == "c-2"
    assert existing in error.message and "duplicate rule" in error.message
    assert "okafor@" not in error.message.lower()  # the matched value is not echoed
    stored = sorted(r[KEY] for r in sandbox.records("Contact"))
    assert stored == ["c-1", "c-3", "made-by-a-user"]


def test_e5_a_record_refused_by_a_duplicate_rule_is_not_retried_in_a_loop(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    """E5: DUPLICATES_DETECTED is a data conflict, not a transient error: one call, no sleep."""
    sandbox.insert("Contact", [_clinician("made-by-a-user", "a.okafor@clinic.org")])
    sandbox.add_duplicate_rule("Contact", ["Email"], "Standard_Contact_Duplicate_Rule")
    sleeps: list[float] = []
    connector = make_connector(sandbox, sleeps.append)
    [result] = connector.upsert("Contact", [_clinician("c-2", "a.okafor@clinic.org")], key=KEY)
    assert result.error is not None and result.error.code == "DUPLICATES_DETECTED"
    assert sleeps == []
    assert sandbox.stats.calls["PATCH composite/sobjects upsert"] == 1
