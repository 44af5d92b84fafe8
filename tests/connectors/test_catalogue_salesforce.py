"""Failure-catalogue cases for Salesforce (``docs/crm-sync-failure-modes.md``), through the
real simple-salesforce client against the sandbox. Each test names its case id."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sf_support import make_connector, referral, sandbox, sf_sandbox  # noqa: F401

from connectors.sandbox import SalesforceSandbox
from connectors.sandbox.salesforce.schema import DEFAULT_SCHEMA, FieldDef, with_fields
from mapping.errors import RecordRejected
from mapping.schema_check import check_against_schema
from mapping.spec import EntityMapping

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


def _with_formula(sandbox: SalesforceSandbox) -> None:  # noqa: F811
    formula = FieldDef(
        "Partner_Name__c",
        "string",
        label="Partner Name",
        length=255,
        custom=True,
        createable=False,
        updateable=False,
        calculated=True,
        formula="Partner__r.Name",
    )
    sandbox.define_object(with_fields(DEFAULT_SCHEMA["Referral__c"], formula))


def test_d5_a_formula_field_is_described_as_calculated_and_refused_as_a_write_target(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    """D5: validate --online refuses mapping a formula field outbound, naming it a formula."""
    _with_formula(sandbox)
    schema = make_connector(sandbox).describe("Referral__c")
    assert schema.fields["Partner_Name__c"].calculated is True
    assert schema.fields["Reason__c"].calculated is False
    em = EntityMapping.model_validate(
        {
            "object": "Referral__c",
            "key": KEY,
            "fields": [{"canonical": "reason", "native": "Partner_Name__c"}],
        }
    ).for_entity("referral")
    (problem,) = check_against_schema(em, schema, direction="out")
    assert "Partner_Name__c" in problem and "formula" in problem and "direction: in" in problem
    assert check_against_schema(em, schema, direction="in") == []


def test_d5_a_write_to_a_formula_field_is_one_rejected_record_as_salesforce_refuses_it(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    """D5: Salesforce answers INVALID_FIELD_FOR_INSERT_UPDATE per record; the others land."""
    _with_formula(sandbox)
    records = [referral("r-1"), referral("r-2", Partner_Name__c="Typed over"), referral("r-3")]
    results = make_connector(sandbox).upsert("Referral__c", records, key=KEY)
    assert [r.ok for r in results] == [True, False, True]
    error = results[1].error
    assert isinstance(error, RecordRejected)
    assert (error.code, error.field, error.key) == (
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "Partner_Name__c",
        "r-2",
    )
    assert sorted(r[KEY] for r in sandbox.records("Referral__c")) == ["r-1", "r-3"]


def test_d5_a_formula_value_changes_with_its_parent_while_systemmodstamp_stays(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    """D5 as the API documents it: the formula is computed at read time, so renaming the
    partner changes the referral's value but not its SystemModstamp (why refsync never maps
    a formula field as a change signal: an incremental read does not see it)."""
    _with_formula(sandbox)
    [account] = sandbox.insert("Account", [{"Name": "North Clinic", KEY: "p-1"}])
    sandbox.insert("Referral__c", [referral("r-1", Partner__c=account)])
    sandbox.advance(60)
    client = sandbox.make_client()
    query = "SELECT Partner_Name__c, SystemModstamp FROM Referral__c"
    [before] = client.query(query)["records"]
    client.Account.update(account, {"Name": "North Clinic Group"})
    [after] = client.query(query)["records"]
    assert (before["Partner_Name__c"], after["Partner_Name__c"]) == (
        "North Clinic",
        "North Clinic Group",
    )
    assert after["SystemModstamp"] == before["SystemModstamp"]


def test_h6_an_inactive_owner_rejects_only_the_contacts_it_would_own(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    """H6: a mapping that writes OwnerId meets a deactivated user. Salesforce refuses it for
    contacts (INACTIVE_OWNER_OR_USER) but lets it own accounts; refsync reports the refused
    contact as one rejected record naming OwnerId, and the rest land."""
    user = {"Username": "gone@example.org", "LastName": "Gone", "Email": "gone@example.org"}
    [inactive] = sandbox.insert("User", [{**user, "IsActive": False}])
    connector = make_connector(sandbox)
    contacts = [
        {**_clinician("c-1", "a@clinic.org"), "OwnerId": sandbox.user_id},
        {**_clinician("c-2", "b@clinic.org"), "OwnerId": inactive},
    ]
    results = connector.upsert("Contact", contacts, key=KEY)
    assert [r.ok for r in results] == [True, False]
    error = results[1].error
    assert isinstance(error, RecordRejected)
    assert (error.code, error.field, error.key) == ("INACTIVE_OWNER_OR_USER", "OwnerId", "c-2")
    [account] = connector.upsert("Account", [{KEY: "p-1", "Name": "North", "OwnerId": inactive}],
                                 key=KEY)  # fmt: skip
    assert account.ok


def test_h1_a_value_outside_a_restricted_picklist_is_one_rejected_record_naming_the_field(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    """H1: Salesforce refuses a value a restricted picklist lacks (the stage picklist of
    Referral__c) per record; refsync reports that record, names the field, and the others
    land. (validate --online catches the same before any write: tests/mapping/
    test_schema_check.py.)"""
    records = [referral("r-1"), referral("r-2", Stage__c="Seen by clinic"), referral("r-3")]
    results = make_connector(sandbox).upsert("Referral__c", records, key=KEY)
    assert [r.ok for r in results] == [True, False, True]
    error = results[1].error
    assert isinstance(error, RecordRejected) and error.exit_code == 1
    assert (error.code, error.field) == ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Stage__c")
    assert "Seen by clinic" not in error.message


def test_e3_two_runs_creating_the_same_new_records_at_once_make_each_record_once(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    """E3: two writers create the same 300 new referrals at the same moment; upserts keyed by
    the external id make one Salesforce record each, both writers see the same ids."""
    records = [referral(f"r-{i:04d}") for i in range(300)]
    barrier = threading.Barrier(2)

    def write() -> list:
        connector = make_connector(sandbox)
        connector.describe("Referral__c")
        barrier.wait()
        return connector.upsert("Referral__c", records, key=KEY)

    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = [f.result() for f in [pool.submit(write), pool.submit(write)]]
    assert all(r.ok for r in first + second)
    assert [r.id for r in first] == [r.id for r in second]
    assert len(sandbox.records("Referral__c")) == 300
