"""Salesforce write payloads built without copying each record are the payloads the
field-by-field flattening builds: the same columns in the same order, the same CSV rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.salesforce.bulk import _csv_parts, csv_value
from connectors.salesforce.writes import field_names, flat_items

_NAMES = st.sampled_from(["Name", "Stage__c", "Partner__r", "What", "Count__c", "attributes"])
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=6)
    | st.dates()
    | st.datetimes(timezones=st.just(dt.UTC))
    | st.lists(st.text(max_size=3), max_size=2)
)
_RELATION = st.dictionaries(st.sampled_from(["Refsync_Id__c", "attributes", "Ext__c"]), _SCALARS)
_RECORDS = st.lists(st.dictionaries(_NAMES, _SCALARS | _RELATION, max_size=5), max_size=6)


def _flattened_rows(records: list[dict[str, Any]], columns: list[str]) -> list[list[str]]:
    """The rows as first built: each record flattened into a new dict, cell by cell."""
    rows = []
    for record in records:
        row = dict(flat_items(record))
        rows.append([csv_value(row[c]) if c in row else "" for c in columns])
    return rows


@settings(max_examples=300, deadline=None)
@given(records=_RECORDS)
def test_field_names_are_the_flattened_names_in_first_seen_order(
    records: list[dict[str, Any]],
) -> None:
    expected = list(dict.fromkeys(n for r in records for n, _ in flat_items(r)))
    assert field_names(records) == expected


@settings(max_examples=300, deadline=None)
@given(records=_RECORDS)
def test_bulk_csv_rows_are_the_rows_of_the_flattened_records(
    records: list[dict[str, Any]],
) -> None:
    columns = field_names(records)
    expected = io.StringIO()
    writer = csv.writer(expected, lineterminator="\n")
    writer.writerows([columns, *_flattened_rows(records, columns)])
    assert "".join(_csv_parts(records, columns, columns)) == (
        expected.getvalue() if records else ""
    )


def test_a_text_cell_is_written_as_it_is_and_other_cells_as_before() -> None:
    class Label(str):
        pass

    cells: list[tuple[Any, str]] = [
        ("Lakeside", "Lakeside"),
        (Label("x"), "x"),
        (None, "#N/A"),
        (True, "true"),
        (3, "3"),
        (["a", "b"], "a;b"),
        (dt.date(2024, 5, 1), "2024-05-01"),
    ]
    assert [csv_value(value) for value, _ in cells] == [text for _, text in cells]


def test_a_mapping_that_is_not_a_dict_is_flattened_the_same_way() -> None:
    class Record(Mapping[str, Any]):
        def __init__(self, data: dict[str, Any]) -> None:
            self._data = data

        def __getitem__(self, key: str) -> Any:
            return self._data[key]

        def __iter__(self) -> Any:
            return iter(self._data)

        def __len__(self) -> int:
            return len(self._data)

    records = [Record({"Name": "A", "Partner__r": {"Refsync_Id__c": "p-1"}}), Record({"Name": "B"})]
    assert field_names(records) == ["Name", "Partner__r.Refsync_Id__c"]
