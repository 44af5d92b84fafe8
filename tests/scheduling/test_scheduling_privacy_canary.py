"""Privacy canary: planted MRNs, names and birth dates never leave the connector.

With ``phi_passthrough`` off (the default) none of the planted strings may appear in the
native records, the reject messages/keys, or anything logged while reading - including for
rows that are rejected. With passthrough on they do appear, which proves the test can fail.
"""

from __future__ import annotations

import json
import logging
import re

import pytest
from scheduling_support import make_connector

MRNS = ["0048151623", "0042424242", "0031415926", "0027182818"]
NAMES = ["Zebulon Quillfeather", "Octavia Marchbanks", "Perpetua Snodgrass", "Ignatius Wobble"]
BIRTHS = ["1937-02-11", "02/29/1944", "1951-07-04", "11/11/1911"]
PLANTED = [*MRNS, *(m.lstrip("0") for m in MRNS), *NAMES, *BIRTHS, "Quillfeather", "1937"]

HEADER = "PAT_ENC_CSN_ID,PAT_MRN_ID,PAT_NAME,BIRTH_DATE,APPT_DTTM,APPT_STATUS_C,REFERRAL_ID\n"
ROWS = [
    f"1,{MRNS[0]},{NAMES[0]},{BIRTHS[0]},2024-03-05 09:00,2,R-1\n",  # fine
    f'2,{MRNS[1]},"{NAMES[1]}",{BIRTHS[1]},not-a-date {MRNS[1]},1,R-2\n',  # bad date
    f"3,{MRNS[2]},{NAMES[2]},{BIRTHS[2]},2024-03-05 10:00,{NAMES[2]},\n",  # bad status
    f"4,{MRNS[3]},{NAMES[3]},{BIRTHS[3]},2024-03-05 11:00,3,\n",  # matched by MRN only
]
FHIR_BUNDLE = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1", "name": [{"text": NAMES[0]}],
                      "birthDate": BIRTHS[0]}},
        {"resource": {"resourceType": "Appointment", "id": "a1", "status": "booked",
                      "start": "2024-03-05T09:00:00-06:00", "end": "2024-03-05T09:30:00-06:00",
                      "participant": [{"actor": {"reference": f"Patient/{MRNS[0]}",
                                                 "display": NAMES[0]}, "status": "accepted"}]}},
        {"resource": {"resourceType": "Appointment", "id": "a2", "status": "booked",
                      "start": f"{BIRTHS[0]}T09:00:00",  # invalid instant, carries a birth date
                      "participant": [{"actor": {"display": NAMES[1]}, "status": "accepted"}]}},
    ],
}  # fmt: skip


def _leaked(text: str) -> list[str]:
    """The planted values in ``text``. A number counts only where no hex digit runs into it:
    a bookmark's nanosecond mtime or a keyed digest holds "1937" by chance now and then, but a
    leaked birth year or MRN stands apart from its neighbours."""
    return [
        s for s in PLANTED
        if (re.search(rf"(?<![0-9a-fA-F]){s}(?![0-9a-fA-F])", text) if s.isdigit() else s in text)
    ]  # fmt: skip


def _everything(result_pages, caplog) -> str:
    parts = []
    for page in result_pages:
        for record in page.records:
            parts.append(record.id)
            parts.append(json.dumps(dict(record.fields), default=str))
        for reject in page.rejects:
            parts += [reject.message, str(reject.key), str(reject.field), reject.code, str(reject)]
        parts.append(json.dumps(page.bookmark))
    parts += [r.getMessage() for r in caplog.records]
    return "\n".join(parts)


@pytest.fixture
def exports(tmp_path):
    (tmp_path / "canary.csv").write_text(HEADER + "".join(ROWS))
    fhir = tmp_path / "fhir"
    fhir.mkdir()
    (fhir / "canary.json").write_text(json.dumps(FHIR_BUNDLE))
    return tmp_path


def _read(path, caplog, **settings):
    caplog.set_level(logging.DEBUG)
    connector = make_connector(path, **settings)
    return list(connector.read("stage_event", since=None, fields=()))


def test_planted_phi_never_appears_in_csv_records_rejects_or_logs(exports, caplog):
    pages = _read(exports / "canary.csv", caplog, preset="epic_cadence")
    assert sum(len(p.records) for p in pages) == 2 and sum(len(p.rejects) for p in pages) == 2
    text = _everything(pages, caplog)
    assert _leaked(text) == []


def test_planted_phi_never_appears_in_fhir_records_rejects_or_logs(exports, caplog):
    pages = _read(exports / "fhir", caplog, format="fhir")
    assert sum(len(p.records) for p in pages) == 1 and sum(len(p.rejects) for p in pages) == 1
    text = _everything(pages, caplog)
    assert _leaked(text) == []


def test_record_ids_carry_no_dates_of_service(exports, caplog):
    pages = _read(exports / "canary.csv", caplog, preset="epic_cadence")
    ids = [r.id for p in pages for r in p.records]
    assert ids and not any("2024" in i for i in ids)


def test_patient_keys_are_still_there_to_match_on(exports, caplog):
    pages = _read(exports / "canary.csv", caplog, preset="epic_cadence")
    keys = [r.fields["patient_key"] for p in pages for r in p.records]
    assert all(k and k.startswith("v1:") for k in keys)


def test_with_passthrough_on_the_same_values_do_appear(exports, caplog):
    pages = _read(exports / "canary.csv", caplog, preset="epic_cadence", phi_passthrough=True)
    records = [r.fields for p in pages for r in p.records]
    assert records[0]["mrn"] == MRNS[0] and records[0]["patient_name"] == NAMES[0]
    assert records[0]["birth_date"].isoformat() == BIRTHS[0]
    assert MRNS[0] in _leaked(_everything(pages, caplog))


def test_phi_fields_are_not_even_described_unless_passed_through(exports):
    connector = make_connector(exports / "canary.csv", preset="epic_cadence")
    assert not {"mrn", "patient_name", "birth_date"} & set(connector.describe("stage_event").fields)
