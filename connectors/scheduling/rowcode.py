"""The source of one file's row converter, generated for its header (straight-line code).

Which columns a file has, where they sit and which time column each stage's event clock
reads are known once the header is found; :func:`row_source` writes the converter for
exactly that layout, so a row costs no per-field dispatch, no call per cell and no test of a
column the file lacks (it reads as blank, a constant here). Every step mirrors a named
helper of :mod:`connectors.scheduling.rows` and :mod:`connectors.scheduling.eventclock`,
in the same order, so a row is rejected for the same first problem as ever.

Time columns other than the appointment's are parsed into their cached date and time-of-day
parts; only the one the event clock picks becomes a ``datetime`` (the others are read to
reject a bad cell, and are mostly distinct). The source holds column positions, names and
stage names only: never a value of the file.
"""

from __future__ import annotations

from collections.abc import Mapping

from mapping.model import Stage

__all__ = ["Layout", "row_source"]


class Layout:
    """What the generated converter depends on: positions of the file's mapped columns, its
    other time columns (in reading order), each stage's event clock and the PHI switch."""

    def __init__(
        self,
        at: Mapping[str, int],
        times: tuple[str, ...],
        order: Mapping[Stage, tuple[str, ...]],
        phi: bool,
    ) -> None:
        self.at = {field: i for field, i in at.items() if i >= 0}
        self.times = times
        self.order = order
        self.phi = phi

    def cell(self, field: str) -> str:
        """The expression of a field's stripped cell (``""`` for a column the file lacks)."""
        i = self.at.get(field)
        return '""' if i is None else f"cells[{i}].strip()"


def _blank(var: str) -> str:
    return f"(len({var}) <= NULL_LENGTH and {var}.casefold() in NULLS)"


def _ident(target: str, layout: Layout, field: str) -> list[str]:
    """``rows._ident`` of the field's cell, assigned to ``target``."""
    if field not in layout.at:
        return [f"{target} = None"]
    return [
        f"v = {layout.cell(field)}",
        f"{target} = None if {_blank('v')} else "
        '(clean_identifier(v) if "." in v or "e" in v or "E" in v else v)',
    ]


def _text(field: str, layout: Layout) -> str:
    """``rows._text`` of the field's cell, as an expression over the temporary ``v``."""
    if field not in layout.at:
        return "None"
    return f"(None if {_blank('v')} else v[:255])"


def _head(layout: Layout) -> list[str]:
    lines = [
        "if len(cells) < WIDTH:",
        "    cells.extend(PAD[len(cells):])",
        f"status = {layout.cell('status')}",
        "stage = stages[status] if status in stages else learn_stage(status)",
        "if stage is None:",
        "    return None",
        f"reason = {layout.cell('cancel_reason')}",
    ]
    if "cancel_reason" in layout.at:
        lines += [
            "if stage is CANCELLED and reason and no_show(reason):",
            "    stage = NO_SHOW",
        ]
    return lines


def _appointment(layout: Layout) -> list[str]:
    if "appointment_date" in layout.at:
        parts = _split_appointment(layout)
    else:  # no date column: the appointment time is blank
        parts = ['    appointment = appointment_parts("", "", stage)']
    if "appointment_at" not in layout.at:
        return ["if True:", *parts]
    return [
        f"raw = {layout.cell('appointment_at')}",
        f"if not {_blank('raw')}:",
        "    appointment = at_seen.get(raw)",
        "    if appointment is None:",
        "        try:",
        "            appointment = stamp(raw)",
        "        except ValueError:",
        '            raise bad_date(cols, "appointment_at") from None',
        "        if len(at_seen) >= NEARBY_LIMIT:",
        "            at_seen.clear()",
        "        at_seen[raw] = appointment",
        "else:",
        *parts,
    ]


def _split_appointment(layout: Layout) -> list[str]:
    """The appointment time of separate date and time columns: in the dominant shape from
    the clock's cached date and time-of-day parts (as a date/time cell's), else through
    ``appointment_parts`` (any other shape, blanks, the reject of an unusable one)."""
    return [
        f"    day = {layout.cell('appointment_date')}",
        f"    clock = {layout.cell('appointment_time')}",
        "    d = days[day] if day in days else day_of(day)",
        "    t = None if d is None else clocks[clock] if clock in clocks else clock_of(clock)",
        "    if t is not None:",
        "        (year, month, mday, iso_day, offset), (hour, minute, second, iso_clock) = d, t",
        "        appointment = (datetime(year, month, mday, hour, minute, second, 0, zone), "
        'f"{iso_day}T{iso_clock}{offset}")',
        "    else:",
        "        appointment = appointment_parts(day, clock, stage)",
    ]


def _time(field: str, layout: Layout) -> list[str]:
    """One other time column: None (blank), its (date, time-of-day) parts, or its Stamp."""
    return [
        f"raw = {layout.cell(field)}",
        f"if {_blank('raw')}:",
        f"    t_{field} = None",
        "else:",
        '    day, _, clock = raw.partition(" ")',
        "    d = days[day] if day in days else day_of(day)",
        "    t = None if d is None else clocks[clock] if clock in clocks else clock_of(clock)",
        "    if t is not None:",
        f"        t_{field} = (d, t)",
        "    else:",
        "        try:",
        f"            t_{field} = other(raw)",
        "        except ValueError:",
        f'            raise bad_date(cols, "{field}") from None',
    ]


def _event(layout: Layout) -> list[str]:
    """The stage's event clock: the first of its columns with a time, else the file's time.
    (A stage without a clock failed the read before any other time column was read.)"""
    lines: list[str] = []
    for n, (stage, columns) in enumerate(layout.order.items()):
        lines.append(f"{'if' if n == 0 else 'elif'} stage is {stage.name}:")
        names = ["appointment" if c == "appointment_at" else f"t_{c}" for c in columns]
        for k, name in enumerate(names):
            lines += [f"    {'if' if k == 0 else 'elif'} {name} is not None:",
                      f"        event = {name}"]  # fmt: skip
        lines += ["    else:", "        event = FALLBACK"] if names else ["    event = FALLBACK"]
    return [
        *lines,
        "if type(event[1]) is not str:  # date and time-of-day parts: the instant is built now",
        "    (year, month, mday, iso_day, offset), (hour, minute, second, iso_clock) = event",
        "    event = (datetime(year, month, mday, hour, minute, second, 0, zone), "
        'f"{iso_day}T{iso_clock}{offset}")',
        "event_at, event_iso = event",
    ]


def _keys(layout: Layout) -> list[str]:
    lines = _ident("referral", layout, "referral_number")
    lines += _ident("authorization", layout, "authorization_number")
    if "mrn" in layout.at:
        lines += [
            f"raw = {layout.cell('mrn')}",
            "patient = patients[raw] if raw in patients else patient_of(raw)",
        ]
    else:
        lines.append("patient = None")
    lines += [
        "if not (referral or authorization or patient):",
        "    raise no_match_key()",
    ]
    lines += _ident("appointment_id", layout, "appointment_id")
    lines += _ident("parent_id", layout, "parent_appointment_id")
    return lines


def _fields(layout: Layout) -> list[str]:
    def text(field: str) -> list[str]:
        if field not in layout.at:
            return [f"{field} = None"]
        return [f"v = {layout.cell(field)}", f"{field} = {_text(field, layout)}"]

    lines = [f"npi = {layout.cell('referring_npi')}"]
    for field in ("department", "service_line", "visit_type", "referring_name",
                  "referring_practice"):  # fmt: skip
        lines += text(field)
    lines += [
        "if service_line is None and department is not None:",
        "    service_line = by_department.get(department)",
        "value = VALUES[stage]",
        "fields = {",
        '    "appointment_id": appointment_id, "parent_appointment_id": parent_id,',
        '    "referral_number": referral, "authorization_number": authorization,',
        '    "patient_key": patient, "source": SOURCE, "source_file": source_file,',
        '    "source_line": line, "status_raw": status, "stage": value, "event_at": event_at,',
        '    "appointment_at": None if appointment is None else appointment[0],',
        '    "completed_at": event_at if stage is COMPLETED else None,',
        f'    "cancel_reason": (None if {_blank("reason")} else reason[:255])'
        " if stage in LOST else None,",
        '    "visit_type": visit_type,',
        '    "referring_npi": npi if is_valid_npi(npi) else None,',
        '    "referring_name": referring_name, "referring_practice": referring_practice,',
        '    "department": department, "service_line": service_line or default_line,',
        "}",
    ]
    if layout.phi:
        lines += ['cells.append("")  # the cell of a PHI column the file lacks (ABSENT)',
                  "fields = with_phi(fields, phi(cells))"]  # fmt: skip
    return lines


_RECORD = [
    "digest = digests.get(event_iso)",
    "if digest is None:",
    "    digest = sha256(event_iso.encode()).hexdigest()[:12]",
    "    if len(digests) >= NEARBY_LIMIT:",
    "        digests.clear()",
    "    digests[event_iso] = digest",
    'where = appointment_id or f"{source_file}#{line}"',
    'meta = event_meta(event_at, appointment_id, parent_id, status, f"{source_file}:{line}")',
    'return native_record(f"csv:{where}:{value}:{digest}", fields, False, event_at, meta)',
]


def row_source(layout: Layout) -> str:
    """The source of ``convert(cells, line)`` for ``layout`` (names bound by the caller)."""
    body = _head(layout) + _appointment(layout)
    body += ["if stage not in ORDERED:", "    raise KeyError(stage)"]
    for field in layout.times:
        body += _time(field, layout)
    body += _event(layout) + _keys(layout) + _fields(layout) + _RECORD
    return "def convert(cells, line):\n" + "".join(f"    {line}\n" for line in body)
