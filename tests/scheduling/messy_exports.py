"""A seeded corpus of messy scheduling exports and a digest of what the connector reads.

Every preset's header aliases in shuffled orders with unmapped columns, the delimiters,
quoting styles, BOMs, CRLF/LF, cp1252 and UTF-16 text, banners, repeated headers, totals,
blank/odd/DST dates in several zones, Excel-damaged ids and MRNs, duplicate rows, referral
histories (booked, cancelled, rebooked with a parent, completed) and bad rows that must be
rejected with their line. :func:`read_digest` is the SHA-256 of everything a read yields
(records, rejects, bookmarks, page cuts, stats), so a faster reader must be byte-identical.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from scheduling_support import read_all

from connectors.scheduling.presets import PRESETS

__all__ = ["CASES", "Case", "read_digest", "write_case"]

MTIME_NS = 1_733_300_000_123_456_789  # fixed, so the bookmarks and snapshot times are too
_START = datetime(2024, 1, 2, 7, 0)
_DST_DAYS = (datetime(2024, 3, 10, 2, 30), datetime(2024, 11, 3, 1, 30),
             datetime(2024, 3, 31, 1, 30), datetime(2024, 10, 27, 1, 30))  # fmt: skip
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_NULLS = ("", "", "", "NULL", "n/a", " ", "-", "#N/A", "None")
_NPIS = ("1234567893", "1558598797", "1993999998", "1234567898", "123456789", "", "N/A")
_REASONS = ("Patient Request", "No Show", "no-show", "NOSHOW - pt did not arrive",
            "Provider unavailable", "", "Weather")  # fmt: skip
_DEPARTMENTS = ("CARDIOLOGY CLINIC", "Ortho Spine Center", "SLEEP LAB", "", "GI  ENDO")
_NAMES = ("DOE, JANE", 'Zoë "Zee" Ångström', "O'BRIEN,  PAT", "smith\njohn", "Ng")


@dataclass(frozen=True)
class Case:
    """One export folder and the connection settings that read it."""

    name: str
    preset: str
    seed: int
    rows: int = 60
    files: int = 1
    delimiter: str = ","
    encoding: str = "utf-8"
    bom: bool = False
    crlf: bool = True
    quoting: int = csv.QUOTE_MINIMAL
    zone: str = "America/Chicago"
    settings: dict[str, Any] = field(default_factory=dict)
    nul: bool = False  # NUL bytes in some rows (the reader drops them)


def _case(name: str, preset: str, seed: int, **kw: Any) -> Case:
    return Case(name, preset, seed, **kw)


CASES = [
    _case("epic-crlf-bom", "epic_cadence", 1, bom=True, files=2),
    _case("epic-quote-all-lf", "epic_cadence", 2, crlf=False, quoting=csv.QUOTE_ALL),
    _case("epic-phi", "epic_cadence", 3, settings={"phi_passthrough": True}),
    _case("epic-snapshot-utc", "epic_cadence", 4, zone="UTC", settings={"snapshot": True}),
    _case("epic-kolkata-semicolon", "epic_cadence", 5, delimiter=";", zone="Asia/Kolkata"),
    _case("epic-cp1252", "epic_cadence", 6, encoding="cp1252", rows=40),
    _case("epic-small-pages", "epic_cadence", 7, rows=120, settings={"page_size": 7}),
    _case("epic-big-cell", "epic_cadence", 8, settings={"max_cell_bytes": 1024}),
    _case(
        "epic-clock-override",
        "epic_cadence",
        9,
        settings={
            "event_time_columns": {"scheduled": ["appointment_at"], "cancelled": ["made_at"]},
            "service_line_by_department": {"CARDIOLOGY CLINIC": "Cardiology"},
            "default_service_line": "General",
        },
    ),
    _case("athena-tab", "athenahealth", 11, delimiter="\t", files=2),
    _case("athena-pipe-phi", "athenahealth", 12, delimiter="|", settings={"phi_passthrough": True}),
    _case("athena-utf16", "athenahealth", 13, encoding="utf-16", rows=40),
    _case("athena-london", "athenahealth", 14, zone="Europe/London", crlf=False),
    _case(
        "athena-status-map",
        "athenahealth",
        15,
        settings={
            "status_map": {"bumped": "cancelled", "walk in": "completed", "held": None},
            "no_show_reasons": ["did not arrive"],
        },
    ),
    _case("nextgen-tab", "nextgen", 21, delimiter="\t", bom=True),
    _case("nextgen-newyork", "nextgen", 22, zone="America/New_York", quoting=csv.QUOTE_ALL),
    _case(
        "nextgen-snapshot-lordhowe",
        "nextgen",
        23,
        zone="Australia/Lord_Howe",
        settings={"snapshot": True, "phi_passthrough": True},
    ),
    _case("generic-comma", "generic", 31, files=3),
    _case(
        "generic-semicolon-phi", "generic", 32, delimiter=";", settings={"phi_passthrough": True}
    ),
    _case("generic-forced-delimiter", "generic", 33, delimiter="|", settings={"delimiter": "|"}),
    _case(
        "generic-latin1-forced", "generic", 34, encoding="cp1252", settings={"encoding": "cp1252"}
    ),
    _case("epic-nul-bytes", "epic_cadence", 51, nul=True, bom=True),
    _case("nextgen-nul-cp1252", "nextgen", 52, nul=True, encoding="cp1252", delimiter="\t"),
    _case(
        "custom-columns",
        "custom",
        41,
        settings={
            "columns": {
                "status": ["State"],
                "appointment_at": ["When"],
                "mrn": ["Chart"],
                "appointment_id": ["Visit"],
                "referral_number": ["Ref"],
                "made_at": ["Booked"],
                "cancel_reason": ["Why"],
            },
            "status_map": {
                "booked": "scheduled",
                "done": "completed",
                "cxl": "cancelled",
                "dns": "no_show",
                "moved": None,
            },
        },
    ),
]

_CUSTOM_STATUSES = ("booked", "done", "cxl", "dns", "moved", "Done ", "CXL")
_EXTRA_STATUSES = ("bumped", "walk in", "held", "Bumped")


def _statuses(case: Case) -> list[str]:
    if case.preset == "custom":
        return list(_CUSTOM_STATUSES)
    keys = list(PRESETS[case.preset].status_map)
    spelled = keys + [k.upper() for k in keys] + [f"  {k.title()} " for k in keys]
    if case.preset == "epic_cadence":
        spelled += ["3 - Canceled", "2 - Completed", "9 - Completed"]
    if "status_map" in case.settings:
        spelled += list(_EXTRA_STATUSES)
    return spelled


def _columns(case: Case, rng: random.Random) -> list[tuple[str, str]]:
    """(native field or "", header text) per column, shuffled, with unmapped columns."""
    if case.preset == "custom":
        mapped = [(f, names[0]) for f, names in case.settings["columns"].items()]
    else:
        preset = PRESETS[case.preset]
        mapped = []
        for native, aliases in preset.columns.items():
            if (
                native in ("status", "appointment_at", "appointment_date", "mrn")
                or rng.random() < 0.8
            ):
                mapped.append((native, rng.choice(aliases)))
    mapped += [("", "Notes"), ("", "SSN (do not read)"), ("", "Room #")]
    rng.shuffle(mapped)
    seen: set[str] = set()
    unique = []
    for native, header in mapped:  # one header text per column (aliases can collide)
        if header.casefold() not in seen:
            seen.add(header.casefold())
            unique.append((native, header))
    return unique


def _stamp(rng: random.Random, when: datetime) -> str:
    shapes = (
        lambda: when.strftime("%m/%d/%Y %I:%M %p"),
        lambda: when.strftime("%m/%d/%Y %I:%M %p"),
        lambda: f"{when.month}/{when.day}/{when:%Y} {when:%H:%M}",
        lambda: when.strftime("%m/%d/%y %I:%M %p"),
        lambda: when.strftime("%m/%d/%Y %I:%M%p").lower(),
        lambda: when.strftime("%Y-%m-%d %H:%M:%S"),
        lambda: when.strftime("%Y-%m-%dT%H:%M:%S-05:00"),
        lambda: f"{(when - datetime(1899, 12, 30)).total_seconds() / 86400:.6f}",
        lambda: f"{when.day:02d}-{_MONTHS[when.month - 1]}-{when:%Y %H:%M}",
        lambda: when.strftime("%m/%d/%Y"),
        lambda: when.strftime("%m/%d/%Y  %I:%M %p"),
    )
    return rng.choice(shapes)()


def _odd_stamp(rng: random.Random, when: datetime) -> str:
    roll = rng.random()
    if roll < 0.7:
        return _stamp(rng, when)
    if roll < 0.9:
        return rng.choice(_NULLS)
    if roll < 0.975:
        return _stamp(rng, rng.choice(_DST_DAYS))
    return rng.choice(("02/30/2024 10:00 AM", "13/05/2024 9:00 AM", "later", "01/01/2024 13:00 PM",
                       "12/31/9999 11:00 PM", "45356", "20240305"))  # fmt: skip


def _date_part(rng: random.Random, when: datetime) -> str:
    return rng.choice((when.strftime("%m/%d/%Y"), when.strftime("%Y-%m-%d"), when.strftime("%Y%m%d"),
                       f"{when.day:02d}-{_MONTHS[when.month - 1]}-{when:%Y}",
                       when.strftime("%m/%d/%y")))  # fmt: skip


def _time_part(rng: random.Random, when: datetime) -> str:
    return rng.choice((when.strftime("%I:%M %p"), when.strftime("%H%M"), when.strftime("%H:%M"),
                       when.strftime("%I:%M%p"), f"{(when.hour * 60 + when.minute) / 1440:.6f}"[1:],
                       when.strftime("%m/%d/%Y %H:%M"), "", "NULL", "25:99"))  # fmt: skip


def _ident(rng: random.Random, number: int) -> str:
    roll = rng.random()
    if roll < 0.08:
        return f"{number}.0"
    if roll < 0.11:
        return f"{number / 10**6:.4f}E+6"
    if roll < 0.16:
        return rng.choice(_NULLS)
    return str(number)


def _mrn(rng: random.Random, number: int) -> str:
    return rng.choice((f"{number:08d}", str(number), f"{number}.0", f"{number / 10**4:.4f}E+4",
                       f"ab-{number}", f" {number:09d} ", "", "NULL", "00000000"))  # fmt: skip


def _values(case: Case, rng: random.Random, i: int, history: dict[str, Any]) -> dict[str, str]:
    """The cells of one row by native field (a referral's history runs over several rows)."""
    referral = history.setdefault("referral", 5000 + i)
    if rng.random() < 0.3:
        history.clear()
        referral = history.setdefault("referral", 5000 + i)
    parent = history.get("last_id", "")
    appt_id = 700_000 + i
    history["last_id"] = str(appt_id)
    when = _START + timedelta(minutes=15 * rng.randrange(0, 30_000))
    if rng.random() < 0.04:
        when = rng.choice(_DST_DAYS)
    made = when - timedelta(days=rng.randrange(1, 40), minutes=rng.randrange(0, 600))
    status = rng.choice(_statuses(case))
    if rng.random() < 0.03:
        status = rng.choice(("", "NULL", "Bumped to next week", "??"))
    mrn = rng.randrange(1, 3000)
    v = {
        "appointment_id": _ident(rng, appt_id), "parent_appointment_id": parent,
        "referral_number": rng.choice((f"R-{referral}", f"R-{referral}", str(referral), "")),
        "authorization_number": rng.choice((f"A{referral}", "", f"{referral}.0")),
        "mrn": _mrn(rng, mrn), "patient_name": rng.choice(_NAMES),
        "birth_date": rng.choice(("04/02/1961", "1961-04-02", "", "31/31/1961", "22739")),
        "status": status, "appointment_at": _odd_stamp(rng, when),
        "appointment_date": rng.choice((_date_part(rng, when),) * 6 + ("", "NULL", "99/99/2024")),
        "appointment_time": _time_part(rng, when),
        "made_at": _odd_stamp(rng, made), "cancelled_at": _odd_stamp(rng, made + timedelta(days=1)),
        "checkin_at": _odd_stamp(rng, when), "checkout_at": _odd_stamp(rng, when + timedelta(hours=1)),
        "status_changed_at": _odd_stamp(rng, when - timedelta(hours=3)),
        "cancel_reason": rng.choice(_REASONS), "referring_npi": rng.choice(_NPIS),
        "referring_name": rng.choice(("Dr. Who", "", "x" * 300)),
        "referring_practice": rng.choice(("Main St Clinic", "", "NA")),
        "department": rng.choice(_DEPARTMENTS), "service_line": rng.choice(("Cardiology", "", "")),
        "visit_type": rng.choice(("NEW PATIENT", "Follow-up", "", "x" * 260)),
    }  # fmt: skip
    if rng.random() < 0.05:  # neither a referral, an authorization nor an MRN
        v["referral_number"] = v["authorization_number"] = v["mrn"] = ""
    return v


def _body(case: Case, rng: random.Random, part: int) -> str:
    out = io.StringIO()
    end = "\r\n" if case.crlf else "\n"
    writer = csv.writer(out, delimiter=case.delimiter, quoting=case.quoting, lineterminator=end)
    columns = _columns(case, rng)
    headers = [h for _, h in columns]
    if rng.random() < 0.7:
        out.write(f"Appointments Report part {part}{end}Run: 03/12/2024 06:00 AM{end}{end}")
    writer.writerow(headers)
    history: dict[str, Any] = {}
    previous: list[str] = []
    for i in range(case.rows):
        roll = rng.random()
        if roll < 0.03 and previous:
            writer.writerow(previous)  # an exact duplicate row
            continue
        if roll < 0.05:
            out.write(end if rng.random() < 0.5 else case.delimiter * 3 + end)
            continue
        if roll < 0.06:
            writer.writerow(headers)  # the header repeated (a page break of the report)
            continue
        if i == case.rows * 3 // 4:  # an unbalanced quote swallows a pasted note
            note = end.join(f"pasted note line {n}" for n in range(25))
            out.write(f'{part}{case.delimiter}"unbalanced {note}"{case.delimiter}x{end}')
            continue
        v = _values(case, rng, part * 10_000 + i, history)
        notes = rng.choice(
            ("", "call back", 'said "ok", will come', "line one\nline two", "y" * 1100)
        )
        row = [v[native] if native else notes for native, _ in columns]
        if case.nul and rng.random() < 0.3:
            row = [f"{c[:2]}\x00{c[2:]}" if c else c for c in row]
        writer.writerow(row)
        previous = row
    if rng.random() < 0.7:
        out.write(rng.choice(("Total,", "Grand Totals: ", "Page 3 of 3")) + f"{case.rows}{end}")
    return out.getvalue()


def write_case(case: Case, folder: Path) -> Path:
    """Write ``case``'s export files under ``folder`` (fixed content and mtimes)."""
    rng = random.Random(case.seed)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".tsv" if case.delimiter == "\t" else ".csv"
    for part in range(case.files):
        text = _body(case, rng, part)
        if case.encoding == "utf-16":
            data = text.encode("utf-16")
        else:
            data = text.encode(case.encoding, errors="replace")
            if case.bom:
                data = b"\xef\xbb\xbf" + data
        sub = folder / ("archive" if part == 2 else "")
        sub.mkdir(exist_ok=True)
        path = sub / f"{case.name}-{part}{suffix}"
        path.write_bytes(data)
        os.utime(path, ns=(MTIME_NS, MTIME_NS))
    if case.files >= 3:  # a file without a header row, and one that cannot be read
        (folder / "notes.csv").write_text("just,some\nnotes,here\n")
        os.utime(folder / "notes.csv", ns=(MTIME_NS, MTIME_NS))
        (folder / "gone.csv").symlink_to(folder / "missing-target.csv")
    return folder


def _plain(value: Any) -> Any:
    """A JSON-able value that tells apart everything equality would (types, zones, folds)."""
    if isinstance(value, datetime):
        zone = None if value.tzinfo is None else str(value.tzinfo)
        return ["dt", value.isoformat(), value.fold, zone, str(value.utcoffset())]
    if isinstance(value, date):
        return ["date", value.isoformat()]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}  # insertion order kept
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return ["int", value]
    return [type(value).__name__, repr(value)]


def _page(page: Any) -> dict[str, Any]:
    records = [[r.id, r.deleted, r.modified_at, r.fields, None if r.event is None else [
        r.event.at, r.event.appointment_id, r.event.parent_appointment_id, r.event.status,
        r.event.source]] for r in page.records]  # fmt: skip
    rejects = [[type(e).__name__, str(e), e.key, e.field, e.code, e.source_file, e.source_line,
                e.pointer, e.reason] for e in page.rejects]  # fmt: skip
    return {"records": records, "rejects": rejects, "bookmark": _without_read_times(page.bookmark)}


def _without_read_times(bookmark: dict[str, Any]) -> dict[str, Any]:
    """The bookmark less when each file was hashed (the time of the read, not the export's)."""
    files = {name: {k: v for k, v in entry.items() if k != "checked_ns"}
             for name, entry in (bookmark.get("files") or {}).items()}  # fmt: skip
    return {**bookmark, "files": files} if "files" in bookmark else bookmark


def read_digest(case: Case, folder: Path) -> str:
    """SHA-256 of two reads of ``folder``: from scratch, then from the first's bookmark."""
    settings = {"timezone": case.zone, **case.settings}
    first = read_all(folder, preset=case.preset, **settings)
    again = read_all(folder, since=first.bookmark, preset=case.preset, **settings)
    stats = vars(first.connector.stats)
    trail = [[_page(p) for p in first.pages], stats, [_page(p) for p in again.pages]]
    text = json.dumps(_plain(trail), ensure_ascii=False, sort_keys=False)
    return hashlib.sha256(text.encode()).hexdigest()
