"""One export file's records, in pages: CSV rows through the file's compiled converter, FHIR
resources through :class:`~connectors.scheduling.fhirmap.FhirMapper`.

The connector decides which files are due and completes their bookmarks; this module reads
one file and puts what it finds into a :class:`Sink` (records cut into pages, rejects with
their file and line or pointer, the read's counters).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.base import EventMeta, NativeRecord
from connectors.scheduling.csvsource import NoHeaderFound, detect_layout, iter_rows
from connectors.scheduling.fhirmap import BadResource, FhirMapper, FileContext
from connectors.scheduling.fhirsource import iter_resources
from connectors.scheduling.files import ExportFile, Fingerprint
from connectors.scheduling.paging import Emit, Pages, ReadStats, csv_pages, record_pages
from connectors.scheduling.patient import PatientKeyer
from connectors.scheduling.presets import Preset
from connectors.scheduling.rejects import RowRejected
from connectors.scheduling.rows import RowContext, compile_rows
from connectors.scheduling.settings import SchedulingSettings

__all__ = ["Sink", "csv_file_pages", "fhir_file_pages"]


@dataclass(frozen=True, slots=True)
class Sink:
    """Where a file's read puts what it finds: ``emit`` makes a page of records (taking the
    rejects off ``pending``), cut at ``size`` records or rejects; ``stats`` counts."""

    emit: Emit
    pending: list[RowRejected]
    stats: ReadStats
    size: int

    def reject(self, reject: RowRejected) -> None:
        self.stats.rejected += 1
        self.pending.append(reject)


def csv_file_pages(
    export: ExportFile,
    print_: Fingerprint,
    settings: SchedulingSettings,
    preset: Preset,
    keyer: PatientKeyer,
    sink: Sink,
) -> Pages:
    """The stage events of one CSV export (a file without a header is one reject)."""
    encoding = _text_encoding(settings.encoding or print_.encoding)
    max_cell = settings.max_cell_bytes
    try:
        layout = detect_layout(export.path, encoding, preset, settings.delimiter, max_cell)
    except NoHeaderFound:
        sink.reject(_no_header(export.name, preset.columns.get("status", ())))
        return []
    ctx = RowContext(export.name, print_.modified_at, layout.headers, layout.columns, layout.width)
    return (
        yield from csv_pages(
            iter_rows(export.path, encoding, layout, max_cell, print_.nul),
            compile_rows(preset, settings, keyer, ctx),
            size=sink.size,
            pending=sink.pending,
            emit=sink.emit,
            source_file=export.name,
            max_cell=max_cell,
            stats=sink.stats,
        )
    )


def fhir_file_pages(
    object_name: str,
    export: ExportFile,
    print_: Fingerprint,
    settings: SchedulingSettings,
    keyer: PatientKeyer,
    numbers: dict[str, str],
    sink: Sink,
) -> Pages:
    """The records of ``object_name`` in one FHIR file (``numbers``: ServiceRequest reference
    -> referral number, for stage events)."""
    ctx = FileContext(export.name, print_.modified_at, numbers)
    records = _fhir_records(object_name, export, FhirMapper(settings, keyer), ctx, sink)
    return (yield from record_pages(records, sink.size, sink.pending, sink.emit))


def _fhir_records(
    object_name: str, export: ExportFile, mapper: FhirMapper, ctx: FileContext, sink: Sink
) -> Iterator[NativeRecord | None]:
    stats = sink.stats
    for item in iter_resources(export.path):
        if _object_of(item.resource_type) != object_name:
            continue  # each object's read reports only its own resources' problems
        stats.rows += 1
        try:
            if item.problem is not None:
                raise BadResource(item.problem, field="resource", code="INVALID_RESOURCE")
            out = mapper.record(item, ctx)
        except BadResource as bad:
            sink.reject(RowRejected(bad.reason, source_file=export.name,
                                    source_line=item.line, pointer=item.pointer,
                                    field=bad.field, code=bad.code))  # fmt: skip
            yield None
            continue
        if out is None:
            stats.skipped += 1
            yield None
            continue
        stats.records += 1
        _, record_id, fields = out
        yield _event_record(record_id, fields)


def _event_record(record_id: str, fields: dict[str, Any]) -> NativeRecord:
    """A native record; a stage event also says where it stands in time (its event clock)."""
    at = fields.get("event_at")
    if at is None or "stage" not in fields:
        return NativeRecord(record_id, fields, modified_at=at)
    where = fields.get("source_pointer") or fields.get("source_line")
    source = fields.get("source_file")
    meta = EventMeta(
        at=at,
        appointment_id=fields.get("appointment_id"),
        parent_appointment_id=fields.get("parent_appointment_id"),
        status=fields.get("status_raw"),
        source=f"{source}:{where}" if where else source,
    )
    return NativeRecord(record_id, fields, modified_at=at, event=meta)


_OBJECT_OF_TYPE = {
    "Practitioner": "practitioner",
    "PractitionerRole": "practitioner_role",
    "Organization": "organization",
}


def _object_of(resource_type: str | None) -> str | None:
    if resource_type is None:
        return "stage_event"  # unparseable entries are reported with the stage events
    return _OBJECT_OF_TYPE.get(resource_type, "stage_event")


def _text_encoding(name: str) -> str:
    return "utf-8-sig" if name.replace("_", "-").casefold() in ("utf-8", "utf8") else name


def _no_header(source_file: str, status_aliases: Sequence[str]) -> RowRejected:
    expected = ", ".join(status_aliases[:3]) or "status"
    return RowRejected(
        "no header row found in the first 50 rows (expected a status column such as "
        f"{expected} and an appointment date); check settings.preset/columns/delimiter",
        source_file=source_file,
        code="NO_HEADER",
    )
