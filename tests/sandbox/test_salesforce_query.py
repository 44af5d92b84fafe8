"""SOQL through the real simple-salesforce: paging, filters, ordering, relationships, queryAll."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connectors.sandbox.salesforce.errors import ApiError
from connectors.sandbox.salesforce.soql import And, Compare, In, Or, parse


@pytest.fixture
def sf(sf_sandbox):
    return sf_sandbox.make_client()


def _accounts(sb, n, **extra):
    return sb.insert(
        "Account", [{"Name": f"A{i:05d}", "Refsync_Id__c": f"p-{i}", **extra} for i in range(n)]
    )


def test_query_all_iter_pages_past_2000_rows_with_next_records_url(sf_sandbox, sf):
    _accounts(sf_sandbox, 4500)
    first = sf.query("SELECT Id FROM Account")
    assert (first["totalSize"], first["done"], len(first["records"])) == (4500, False, 2000)
    assert first["nextRecordsUrl"].startswith("/services/data/v62.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-2000")
    sf_sandbox.stats.reset()
    names = [r["Name"] for r in sf.query_all_iter("SELECT Name FROM Account ORDER BY Name")]
    assert names == [f"A{i:05d}" for i in range(4500)]
    assert sf_sandbox.stats.calls == {"GET query": 1, "GET query more": 2}


def test_batch_size_header_shrinks_pages_within_200_to_2000(sf_sandbox, sf):
    _accounts(sf_sandbox, 450)
    page = sf.query("SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=100"})
    assert len(page["records"]) == 200  # the minimum batch size
    assert page["nextRecordsUrl"].endswith("-200")


def test_where_with_and_or_in_and_datetime_literals_filters_rows(sf_sandbox, sf):
    sf_sandbox.set_now(datetime(2024, 1, 1, tzinfo=UTC))
    sf_sandbox.insert("Account", [{"Name": "old", "Type": "Partner"}])
    sf_sandbox.set_now(datetime(2024, 6, 1, tzinfo=UTC))
    sf_sandbox.insert("Account", [{"Name": "new", "Type": "Other"}, {"Name": "O'Brien Clinic"}])
    rows = sf.query_all(
        "SELECT Name FROM Account WHERE (SystemModstamp > 2024-03-01T00:00:00Z AND Type != NULL)"
        " OR Name IN ('old', 'x') ORDER BY Name DESC"
    )["records"]
    assert [r["Name"] for r in rows] == ["old", "new"]
    escaped = sf.query_all("SELECT Name FROM Account WHERE Name = 'o\\'brien clinic'")["records"]
    assert [r["Name"] for r in escaped] == ["O'Brien Clinic"]  # = on text ignores case


def test_order_by_several_fields_with_nulls_first_ascending(sf_sandbox, sf):
    sf_sandbox.insert(
        "Account",
        [
            {"Name": "b", "Tier__c": "2"},
            {"Name": "a", "Tier__c": "2"},
            {"Name": "c"},
            {"Name": "d", "Tier__c": "1"},
        ],
    )
    rows = sf.query_all("SELECT Name FROM Account ORDER BY Tier__c ASC, Name DESC")["records"]
    assert [r["Name"] for r in rows] == ["c", "d", "b", "a"]
    rows = sf.query_all("SELECT Name FROM Account ORDER BY Tier__c DESC, Name LIMIT 3")["records"]
    assert [r["Name"] for r in rows] == ["a", "b", "d"]


def test_count_query_returns_total_size_without_records(sf_sandbox, sf):
    _accounts(sf_sandbox, 5)
    result = sf.query("SELECT COUNT() FROM Account WHERE Name LIKE 'A0000%'")
    assert result == {"totalSize": 5, "done": True, "records": []}


def test_relationship_fields_nest_under_the_relationship_name(sf_sandbox, sf):
    [partner] = sf_sandbox.insert("Account", [{"Name": "P", "Refsync_Id__c": "p-1"}])
    sf_sandbox.insert(
        "Referral__c", [{"Refsync_Id__c": "r-1", "Partner__c": partner}, {"Refsync_Id__c": "r-2"}]
    )
    rows = sf.query_all(
        "SELECT Refsync_Id__c, Partner__r.Refsync_Id__c FROM Referral__c "
        "WHERE Partner__r.Refsync_Id__c = 'p-1' OR Partner__c = NULL ORDER BY Refsync_Id__c"
    )["records"]
    assert rows[0]["Partner__r"]["Refsync_Id__c"] == "p-1"
    assert rows[0]["Partner__r"]["attributes"]["type"] == "Account"
    assert rows[1]["Partner__r"] is None


def test_deleted_rows_appear_only_in_query_all_with_is_deleted(sf_sandbox, sf):
    ids = _accounts(sf_sandbox, 2)
    sf.Account.delete(ids[0])
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 1
    rows = sf.query_all("SELECT Id, IsDeleted FROM Account ORDER BY Name", include_deleted=True)[
        "records"
    ]
    assert [(r["Id"], r["IsDeleted"]) for r in rows] == [(ids[0], True), (ids[1], False)]


def test_unknown_column_answers_invalid_field_with_caret_message(sf):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Foo FROM Account")
    error = exc.value.content[0]
    assert error["errorCode"] == "INVALID_FIELD"
    assert "ERROR at Row:1:Column:8\nNo such column 'Foo' on entity 'Account'" in error["message"]


def test_unknown_object_and_bad_syntax_and_quoted_datetime_are_rejected(sf):
    for soql, code in [
        ("SELECT Id FROM Foo__c", "INVALID_TYPE"),
        ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE CreatedDate > '2024-01-01'", "INVALID_FIELD"),
    ]:
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.query(soql)
        assert exc.value.content[0]["errorCode"] == code, soql


def test_an_eleventh_open_cursor_frees_the_oldest(sf_sandbox, sf):
    _accounts(sf_sandbox, 2001)
    pages = [sf.query("SELECT Id FROM Account") for _ in range(11)]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query_more(pages[0]["nextRecordsUrl"], identifier_is_url=True)
    assert exc.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
    assert len(sf.query_more(pages[10]["nextRecordsUrl"], identifier_is_url=True)["records"]) == 1


def test_parser_builds_a_tree_for_nested_conditions():
    q = parse(
        "select Id from Account where (A = 1 or B in ('x')) and C >= 2.5 order by Id desc nulls last limit 5"
    )
    assert isinstance(q.where, And)
    assert isinstance(q.where.items[0], Or)
    assert isinstance(q.where.items[0].items[1], In)
    assert q.where.items[1] == Compare(q.where.items[1].path, ">=", 2.5)
    assert (q.order[0].descending, q.order[0].nulls_first, q.limit) == (True, False, 5)


@pytest.mark.parametrize(
    "bad",
    [
        "SELECT FROM Account",
        "SELECT Id Account",
        "SELECT Id FROM A WHERE B = ",
        "SELECT Id FROM A LIMIT x",
    ],
)
def test_parser_rejects_malformed_statements(bad):
    with pytest.raises(ApiError) as exc:
        parse(bad)
    assert exc.value.code == "MALFORMED_QUERY"
