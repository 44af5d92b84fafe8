"""CRM search in the HubSpot sandbox: filters, sorts, paging, caps, via the real client."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hubspot.crm.contacts import ApiException

BASE = datetime(2026, 3, 1, tzinfo=UTC)


def _search(hs, object_type="companies", filters=(), groups=None, **extra):
    body = {
        "filterGroups": groups
        if groups is not None
        else ([{"filters": list(filters)}] if filters else []),
        "sorts": extra.pop("sorts", []),
        "properties": extra.pop("properties", ["name"]),
        "limit": extra.pop("limit", 100),
        "after": extra.pop("after", "0"),
        **extra,
    }
    return hs.make_client().crm.objects.search_api.do_search(object_type, body)


@pytest.fixture
def clinics(hs_sandbox):
    rows = [
        {"name": "Northside Family Medicine", "refsync_referrals_total": "5", "city": "Austin"},
        {"name": "Southside Cardiology", "refsync_referrals_total": "12", "city": "Dallas"},
        {"name": "Eastside Pediatrics", "refsync_referrals_total": "0"},
        {"name": "Westside Cardiology Group", "refsync_referrals_total": "30", "city": "Austin"},
    ]
    return dict(zip([r["name"] for r in rows], hs_sandbox.insert("companies", rows), strict=True))


def _names(answer) -> set[str]:
    return {r.properties["name"] for r in answer.results}


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (
            {"operator": "EQ", "value": "austin"},
            {"Northside Family Medicine", "Westside Cardiology Group"},
        ),
        ({"operator": "NEQ", "value": "Austin"}, {"Southside Cardiology", "Eastside Pediatrics"}),
        (
            {"operator": "HAS_PROPERTY"},
            {"Northside Family Medicine", "Southside Cardiology", "Westside Cardiology Group"},
        ),
        ({"operator": "NOT_HAS_PROPERTY"}, {"Eastside Pediatrics"}),
        ({"operator": "IN", "values": ["Dallas", "Houston"]}, {"Southside Cardiology"}),
        (
            {"operator": "NOT_IN", "values": ["Austin"]},
            {"Southside Cardiology", "Eastside Pediatrics"},
        ),
    ],
)
def test_text_filters_match_as_hubspot_documents(hs_sandbox, clinics, flt, expected):
    assert _names(_search(hs_sandbox, filters=[{"propertyName": "city", **flt}])) == expected


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"operator": "LT", "value": "5"}, {"Eastside Pediatrics"}),
        ({"operator": "LTE", "value": "5"}, {"Eastside Pediatrics", "Northside Family Medicine"}),
        ({"operator": "GT", "value": "12"}, {"Westside Cardiology Group"}),
        ({"operator": "GTE", "value": "12"}, {"Southside Cardiology", "Westside Cardiology Group"}),
        (
            {"operator": "BETWEEN", "value": "1", "highValue": "12"},
            {"Northside Family Medicine", "Southside Cardiology"},
        ),
    ],
)
def test_number_filters_compare_numerically(hs_sandbox, clinics, flt, expected):
    got = _search(hs_sandbox, filters=[{"propertyName": "refsync_referrals_total", **flt}])
    assert _names(got) == expected


def test_contains_token_matches_whole_words_and_wildcards(hs_sandbox, clinics):
    word = _search(
        hs_sandbox,
        filters=[{"propertyName": "name", "operator": "CONTAINS_TOKEN", "value": "cardiology"}],
    )
    assert _names(word) == {"Southside Cardiology", "Westside Cardiology Group"}
    prefix = _search(
        hs_sandbox,
        filters=[{"propertyName": "name", "operator": "CONTAINS_TOKEN", "value": "pedi*"}],
    )
    assert _names(prefix) == {"Eastside Pediatrics"}


def test_groups_are_ored_and_filters_in_a_group_anded(hs_sandbox, clinics):
    groups = [
        {
            "filters": [
                {"propertyName": "city", "operator": "EQ", "value": "Austin"},
                {"propertyName": "refsync_referrals_total", "operator": "GT", "value": "10"},
            ]
        },
        {"filters": [{"propertyName": "city", "operator": "EQ", "value": "Dallas"}]},
    ]
    assert _names(_search(hs_sandbox, groups=groups)) == {
        "Westside Cardiology Group",
        "Southside Cardiology",
    }


def test_the_first_sort_orders_results_both_ways(hs_sandbox, clinics):
    up = _search(hs_sandbox, sorts=["refsync_referrals_total"])
    # HubSpot's guide sends sort objects; the client passes a dict body through unchanged
    down = _search(
        hs_sandbox,
        sorts=[{"propertyName": "refsync_referrals_total", "direction": "DESCENDING"}],
    )
    order = [
        "Eastside Pediatrics",
        "Northside Family Medicine",
        "Southside Cardiology",
        "Westside Cardiology Group",
    ]
    assert [r.properties["name"] for r in up.results] == order
    assert [r.properties["name"] for r in down.results] == order[::-1]
    assert up.total == down.total == 4


def test_incremental_search_on_the_modified_date_finds_only_later_changes(hs_sandbox):
    hs_sandbox.set_now(BASE, frozen=True)
    old = hs_sandbox.insert("contacts", [{"email": "old@example.org"}])
    hs_sandbox.set_now(BASE + timedelta(hours=1), frozen=True)
    new = hs_sandbox.insert("contacts", [{"email": "new@example.org"}])
    since = str(int((BASE + timedelta(minutes=30)).timestamp() * 1000))
    flt = {"propertyName": "lastmodifieddate", "operator": "GTE", "value": since}
    got = _search(hs_sandbox, "contacts", [flt], properties=["email"])
    assert [r.id for r in got.results] == new
    iso = {"propertyName": "lastmodifieddate", "operator": "LT", "value": "2026-03-01T00:30:00Z"}
    assert [r.id for r in _search(hs_sandbox, "contacts", [iso]).results] == old


def test_search_pages_with_after_and_reports_the_total(hs_sandbox):
    hs_sandbox.insert("deals", [{"dealname": f"R-{i:03d}"} for i in range(450)])
    pages, after = [], "0"
    while after is not None:
        answer = _search(
            hs_sandbox, "deals", limit=200, after=after, sorts=["dealname"], properties=["dealname"]
        )
        assert answer.total == 450
        pages.append([r.properties["dealname"] for r in answer.results])
        after = answer.paging.next.after if answer.paging else None
    assert [len(p) for p in pages] == [200, 200, 50]
    assert [n for p in pages for n in p] == [f"R-{i:03d}" for i in range(450)]


def test_a_limit_above_200_answers_400(hs_sandbox):
    with pytest.raises(Exception) as info:
        _search(hs_sandbox, limit=201)
    assert info.value.status == 400


def test_paging_reaches_the_10000_result_cap_and_then_answers_400(hs_sandbox):
    hs_sandbox.insert("contacts", [{"firstname": "x"} for _ in range(10_050)])
    api = hs_sandbox.make_client().crm.contacts.search_api
    after, calls = "0", 0
    while True:
        # raw answers: decoding 10,000 records into models would only slow the test down
        raw = api.do_search(
            {"filterGroups": [], "sorts": [], "properties": [], "limit": 200, "after": after},
            _preload_content=False,
        )
        answer = json.loads(raw.data)
        calls += 1
        assert answer["total"] == 10_050
        after = answer["paging"]["next"]["after"]
        if int(after) >= 10_000:
            break
    assert (calls, after) == (50, "10000")  # HubSpot still offers the cursor past the cap
    with pytest.raises(ApiException) as info:
        api.do_search(
            {"filterGroups": [], "sorts": [], "properties": [], "limit": 200, "after": after}
        )
    assert info.value.status == 400
    assert json.loads(info.value.body)["category"] == "VALIDATION_ERROR"


def test_windowing_on_hs_object_id_gets_past_the_cap(hs_sandbox):
    ids = hs_sandbox.insert("contacts", [{"firstname": "x"} for _ in range(10_050)])
    flt = {"propertyName": "hs_object_id", "operator": "GT", "value": ids[9_999]}
    answer = _search(
        hs_sandbox, "contacts", [flt], limit=200, sorts=["hs_object_id"], properties=[]
    )
    assert [r.id for r in answer.results] == ids[10_000:]


def test_too_many_filter_groups_answer_400(hs_sandbox):
    groups = [{"filters": [{"propertyName": "name", "operator": "HAS_PROPERTY"}]}] * 6
    with pytest.raises(Exception) as info:
        _search(hs_sandbox, groups=groups)
    assert info.value.status == 400


def test_search_is_exempt_from_the_burst_window_and_sends_no_rate_limit_headers(hs_sandbox):
    hs_sandbox.limits.ten_second_limit = 0
    api = hs_sandbox.make_client().crm.companies.search_api
    answer, status, headers = api.do_search_with_http_info(
        {"filterGroups": [], "sorts": [], "properties": [], "limit": 10, "after": "0"}
    )
    assert (status, answer.total) == (200, 0)
    assert not [h for h in headers if h.lower().startswith("x-hubspot-ratelimit")]


def test_key_lookups_through_unique_properties_match_like_a_scan(hs_sandbox):
    ids = hs_sandbox.insert(
        "companies", [{"name": f"C{i}", "refsync_id": f"org-{i}"} for i in range(50)]
    )
    by_key = _search(
        hs_sandbox, filters=[{"propertyName": "refsync_id", "operator": "EQ", "value": "ORG-7"}]
    )
    assert [r.id for r in by_key.results] == [ids[7]]
    several = _search(
        hs_sandbox,
        groups=[
            {
                "filters": [
                    {
                        "propertyName": "refsync_id",
                        "operator": "IN",
                        "values": ["org-3", "org-9", "nope"],
                    }
                ]
            },
            {
                "filters": [
                    {"propertyName": "hs_object_id", "operator": "EQ", "value": ids[1]},
                    {"propertyName": "name", "operator": "EQ", "value": "C1"},
                ]
            },
        ],
    )
    assert [r.id for r in several.results] == [ids[1], ids[3], ids[9]]
