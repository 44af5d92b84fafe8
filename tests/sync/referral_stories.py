"""Referral stories with known endings, written out as real-world-shaped scheduling exports.

Each story is what happened to one referral's appointments. Its ``expected`` stage is written
by hand from the story (not computed by refsync), so the corpus tests the engine against an
independent answer. The renderers follow the vendors' documented export behaviour
(shared/reference/scheduling-fhir-hipaa.md, section 3):

- **Epic Cadence report export**: a banner above the header, the header repeated at a page
  break, a ``Total`` footer, and one row per status change of an appointment (booked, then
  completed / canceled / no show), ``APPT_MADE_DTTM`` when the booking was made; a second
  daily export repeats every earlier row and adds the new ones.
- **athenahealth**: one row per appointment with its current status (``f - Filled``,
  ``3 - Checked Out``, ``x - Cancelled``), no-shows recorded as a cancellation whose reason
  is ``PATIENT NO SHOW``, rebookings linked through ``PARENTAPPOINTMENTID``, no made-at
  column (the booking's clock falls back to its appointment time).
"""

from __future__ import annotations

import csv
import io
import os
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

CHI = ZoneInfo("America/Chicago")
DAY0 = datetime(2026, 9, 1, 8, 0, tzinfo=CHI)


@dataclass(frozen=True)
class Appt:
    id: str
    made: datetime  # when the booking was made
    at: datetime  # the appointment's date and time
    outcome: str | None = None  # completed | cancelled | no_show | None (still booked)
    parent: str | None = None  # the appointment this one replaces (athena)


@dataclass(frozen=True)
class Story:
    number: str
    appts: tuple[Appt, ...]
    expected: str  # written by hand from the story


def _d(day: int, hour: int = 9) -> datetime:
    return DAY0 + timedelta(days=day, hours=hour - 8)


def stories(prefix: str, count_per_kind: int = 4) -> list[Story]:
    """Eight kinds of story, ``count_per_kind`` referrals each, numbered ``{prefix}-NNN``."""
    out: list[Story] = []
    n = 0
    for k in range(count_per_kind):
        base = k * 3

        def num() -> str:
            nonlocal n
            n += 1
            return f"{prefix}-{100 + n}"

        def a(i: int) -> str:
            return f"{prefix}{n:03d}{i}"

        # 1. booked, then seen
        number = num()
        out.append(Story(number, (Appt(a(1), _d(base), _d(base + 5), "completed"),), "completed"))
        # 2. booked, then did not show
        number = num()
        out.append(Story(number, (Appt(a(1), _d(base), _d(base + 6), "no_show"),), "no_show"))
        # 3. booked, then cancelled for good
        number = num()
        out.append(Story(number, (Appt(a(1), _d(base), _d(base + 7), "cancelled"),), "cancelled"))
        # 4. booked, cancelled, rebooked, seen
        number = num()
        out.append(
            Story(
                number,
                (
                    Appt(a(1), _d(base), _d(base + 8), "cancelled"),
                    Appt(a(2), _d(base + 2), _d(base + 12), "completed", parent=a(1)),
                ),
                "completed",
            )
        )
        # 5. booked, no show, rebooked (still upcoming)
        number = num()
        out.append(
            Story(
                number,
                (
                    Appt(a(1), _d(base), _d(base + 4), "no_show"),
                    Appt(a(2), _d(base + 5), _d(base + 40), None, parent=a(1)),
                ),
                "scheduled",
            )
        )
        # 6. still booked
        number = num()
        out.append(Story(number, (Appt(a(1), _d(base), _d(base + 30)),), "scheduled"))
        # 7. rescheduled earlier: the new booking's visit comes before the old one's time
        number = num()
        out.append(
            Story(
                number,
                (
                    Appt(a(1), _d(base), _d(base + 20), "cancelled"),
                    Appt(a(2), _d(base + 1), _d(base + 10), "completed", parent=a(1)),
                ),
                "completed",
            )
        )
        # 8. booked, cancelled, rebooked, did not show
        number = num()
        out.append(
            Story(
                number,
                (
                    Appt(a(1), _d(base), _d(base + 9), "cancelled"),
                    Appt(a(2), _d(base + 3), _d(base + 14), "no_show", parent=a(1)),
                ),
                "no_show",
            )
        )
    return out


# -- Epic Cadence --------------------------------------------------------------------------

EPIC_HEADER = [
    "PAT_ENC_CSN_ID", "PAT_MRN_ID", "APPT_DTTM", "APPT_STATUS_C", "APPT_STATUS_NAME",
    "APPT_MADE_DTTM", "APPT_CANC_DTTM", "CHECKOUT_DTTM", "CANCEL_REASON_NAME", "REFERRAL_ID",
    "DEPARTMENT_NAME",
]  # fmt: skip


def _us(when: datetime | None) -> str:
    return "" if when is None else when.strftime("%m/%d/%Y %I:%M %p")


def epic_rows(story: Story) -> list[tuple[datetime, list[str]]]:
    """(when the row's status became true, row): a booking row, then an outcome row."""
    rows: list[tuple[datetime, list[str]]] = []
    for i, appt in enumerate(story.appts):
        mrn = f"{int(story.number.split('-')[1]):08d}"

        def row(
            code: str,
            name: str,
            canc: datetime | None = None,
            out: datetime | None = None,
            reason: str = "",
            appt: Appt = appt,
            mrn: str = mrn,
        ) -> list[str]:
            return [appt.id, mrn, _us(appt.at), code, name, _us(appt.made), _us(canc), _us(out),
                    reason, story.number, "CARDIOLOGY CLINIC"]  # fmt: skip

        rows.append((appt.made, row("1", "Scheduled")))
        if appt.outcome == "completed":
            done = appt.at + timedelta(minutes=40)
            rows.append((done, row("2", "Completed", out=done)))
        elif appt.outcome == "cancelled":
            nxt = story.appts[i + 1].made if i + 1 < len(story.appts) else appt.at
            canc = min(appt.made + timedelta(days=1, hours=2), nxt - timedelta(hours=1))
            rows.append((canc, row("3", "Canceled", canc=canc, reason="Patient Request")))
        elif appt.outcome == "no_show":
            rows.append((appt.at, row("4", "No Show")))
    return rows


def write_epic(path: Path, rows: list[list[str]], *, seed: int) -> Path:
    """An Epic report export: banner, header, rows in shuffled order, a repeated header, a
    footer. Its modification time is set in the past, so a run starting now reads it."""
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow(["Department Appointments Report"])
    out.writerow([f"Run {DAY0:%m/%d/%Y}"])
    out.writerow(EPIC_HEADER)
    half = len(shuffled) // 2
    out.writerows(shuffled[:half])
    out.writerow(EPIC_HEADER)  # page break
    out.writerows(shuffled[half:])
    out.writerow(["Total", str(len(shuffled))])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buf.getvalue(), encoding="utf-8")
    past = datetime.now().timestamp() - 5
    os.utime(path, (past, past))
    return path


# -- athenahealth ---------------------------------------------------------------------------

ATHENA_HEADER = [
    "APPOINTMENTID", "PARENTAPPOINTMENTID", "PATIENTID", "APPOINTMENTDATE",
    "APPOINTMENTSTARTTIME", "APPOINTMENTSTATUS", "APPOINTMENTCANCELLEDDATETIME",
    "APPOINTMENTCANCELREASON", "APPOINTMENTCHECKOUTDATETIME", "REFERRALAUTHID", "DEPARTMENTNAME",
]  # fmt: skip


def athena_rows(story: Story) -> list[list[str]]:
    """One row per appointment, with its current status (a snapshot of each appointment)."""
    rows = []
    for i, appt in enumerate(story.appts):
        canc, reason, out, status = "", "", "", "f - Filled"
        if appt.outcome == "completed":
            status, out = "3 - Checked Out", _us(appt.at + timedelta(minutes=40))
        elif appt.outcome == "cancelled":
            nxt = story.appts[i + 1].made if i + 1 < len(story.appts) else appt.at
            status, reason = "x - Cancelled", "PATIENT REQUEST"
            canc = _us(min(appt.made + timedelta(days=1), nxt - timedelta(hours=1)))
        elif appt.outcome == "no_show":
            status, reason = "x - Cancelled", "PATIENT NO SHOW"
            canc = _us(appt.at + timedelta(hours=2))
        rows.append([
            appt.id, appt.parent or "", str(int(story.number.split("-")[1])),
            appt.at.strftime("%m/%d/%Y"), appt.at.strftime("%H:%M"), status, canc, reason, out,
            story.number, "ORTHO WEST",
        ])  # fmt: skip
    return rows


def write_athena(path: Path, rows: list[list[str]], *, seed: int) -> Path:
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow(ATHENA_HEADER)
    out.writerows(shuffled)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buf.getvalue(), encoding="utf-8")
    past = datetime.now().timestamp() - 5
    os.utime(path, (past, past))
    return path
