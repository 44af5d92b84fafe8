"""``SchedulingConnector``: scheduling exports (CSV presets, FHIR R4) as a read-only source."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from connectors.base import (
    Bookmark,
    Capability,
    Clock,
    Connector,
    LocalProblem,
    NativeRecord,
    PeopleLists,
    ReadPage,
    utc_now,
)
from connectors.scheduling import preflight
from connectors.scheduling.fhirsource import referral_numbers
from connectors.scheduling.fileread import Sink, csv_file_pages, fhir_file_pages
from connectors.scheduling.files import (
    ExportFile,
    Fingerprint,
    discover,
    fingerprint,
    settled_unchanged,
    still_same,
    unchanged_since,
)
from connectors.scheduling.matching import MatchResult, ReferralCandidate, ReferralIndex
from connectors.scheduling.native import OBJECTS, PHI_FIELDS, object_schema
from connectors.scheduling.new_referrers import (
    NEW_REFERRER_COLUMNS,
    NEW_REFERRERS_FILE,
    NewReferrerTally,
)
from connectors.scheduling.paging import Pages, ReadStats
from connectors.scheduling.patient import PatientKeyer
from connectors.scheduling.presets import resolve_preset
from connectors.scheduling.privacy import NATIVE_FIELD_CLASSES
from connectors.scheduling.reage import keep_rows
from connectors.scheduling.rejects import RowRejected
from connectors.scheduling.settings import SchedulingSettings
from connectors.scheduling.writers import (
    CLOSURE_COLUMNS,
    REVIEW_COLUMNS,
    WORKLIST_COLUMNS,
    Contacts,
    SortedRows,
    people_rows,
    targets_by_service_line,
    write_closure_csv,
    write_csv_atomic,
    write_review_csv,
    write_worklist_csv,
)
from mapping.errors import ConfigurationError, SchemaMismatch
from mapping.model import QualifiedReferralDefinition, Referral
from mapping.schema import ObjectSchema

__all__ = ["ReadStats", "SchedulingConnector"]

log = logging.getLogger(__name__)


class SchedulingConnector(Connector):
    """Reads stage events (and FHIR referral sources) from export files; writes CSV lists.

    See the package docstring for objects, native fields, rejects and bookmarks.
    """

    name = "scheduling"
    settings_model = SchedulingSettings
    max_batch_size = 1000
    cursor_field = None
    capabilities = frozenset(
        {Capability.READ, Capability.PEOPLE_FILES, Capability.REFERRAL_MATCHING}
    )
    phi_native_fields = frozenset(PHI_FIELDS)
    native_field_classes = NATIVE_FIELD_CLASSES
    phi_zone = True  # the covered entity's own system: its exports are PHI to begin with
    checked_online = False  # local files: validate's local checks cover them
    people_file_columns: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "scheduling-worklist.csv": WORKLIST_COLUMNS,
        "closure.csv": CLOSURE_COLUMNS,
        "unmatched-appointments.csv": REVIEW_COLUMNS,
        NEW_REFERRERS_FILE: NEW_REFERRER_COLUMNS,
    }
    objects: ClassVar[tuple[str, ...]] = tuple(OBJECTS)

    def __init__(
        self,
        settings: SchedulingSettings,
        *,
        client: Any = None,
        clock: Clock = utc_now,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(settings, client=client, clock=clock)
        self.settings: SchedulingSettings = settings
        self._environ = environ
        self._keyer: PatientKeyer | None = None
        self._pending_rejects: list[RowRejected] = []
        self._numbers: dict[str, str] = {}  # ServiceRequest ref -> referral number, per read
        self.stats = ReadStats()
        self._preset = resolve_preset(
            settings.preset, settings.columns, settings.status_map, settings.no_show_reasons
        )

    @classmethod
    def create(
        cls, settings: BaseModel, *, environ: Mapping[str, str] | None = None
    ) -> SchedulingConnector:
        """The connector with the program's environment (the patient key may sit in .env)."""
        return cls(SchedulingSettings.model_validate(settings), environ=environ)

    @classmethod
    def local_problems(
        cls, settings: BaseModel, environ: Mapping[str, str], *, reading: bool, program_dir: Path
    ) -> list[LocalProblem]:
        """A source's export folder (missing: error; empty: warning) and patient key."""
        if not reading:
            return []
        valid = SchedulingSettings.model_validate(settings)
        return preflight.local_problems(valid, environ, program_dir)

    # -- contract -------------------------------------------------------------------------

    def check(self) -> None:
        """The export path exists, the patient key is set, local times have a zone."""
        discover(self.settings.path, self.settings.format, self.settings.file_pattern)
        self.patient_keyer()
        self._require_timezone()

    def describe(self, object_name: str) -> ObjectSchema:
        self._known(object_name)
        return object_schema(object_name, phi_passthrough=self.settings.phi_passthrough)

    def read(
        self,
        object_name: str,
        *,
        since: Bookmark | None,
        fields: Sequence[str] = (),
        until: datetime | None = None,
    ) -> Iterator[ReadPage]:
        """Pages of records from files not yet fully read (all normalised fields, always).

        Every page carries ``{"files": {...}}`` with the files completed so far (a file's
        entry appears only on the page that completes it) and the rows of the page's stretch
        of the file that could not be used (``rejects``).
        """
        self._known(object_name)
        self._fields_exist(object_name, fields)
        self._require_timezone()
        self.stats = ReadStats()
        self._pending_rejects = []
        keyer = self.patient_keyer()
        files = discover(self.settings.path, self.settings.format, self.settings.file_pattern)
        previous = dict((since or {}).get("files") or {})
        live = {f.name for f in files}
        done = {name: entry for name, entry in previous.items() if name in live}
        emitted: dict[str, Any] = {"files": previous}
        unchanged = {f.name for f in files if settled_unchanged(done.get(f.name), f.path)}
        self._numbers = self._referral_numbers(object_name, files, since, unchanged)
        for export in files:
            if export.name in unchanged:
                self.stats.files_skipped += 1  # by its times, without reading it
                continue
            print_ = self._fingerprint(export)
            if print_ is None or not self._due(export, print_, done, until):
                continue
            done.pop(export.name, None)
            pages = self._pages(object_name, export, print_, keyer, done)
            for page in self._paged(pages, export, print_, done):
                emitted = page.bookmark
                yield page
        if emitted != self._bookmark(done) or self._pending_rejects:
            yield ReadPage([], self._bookmark(done), self._take_rejects())

    def _referral_numbers(
        self,
        object_name: str,
        files: Sequence[ExportFile],
        since: Bookmark | None,
        unchanged: Collection[str],
    ) -> dict[str, str]:
        """``ServiceRequest/<id>`` -> referral number over every FHIR file seen so far.

        A bulk export writes one NDJSON file per resource type, and a later export may hold
        the Appointments of a ServiceRequest read in an earlier one: references resolve
        across every file of the folder, and across runs through the bookmark (kept in the
        state store), even after the earlier file left the folder. A file ``unchanged``
        since its bookmark entry, by its times (:func:`settled_unchanged`), is not read for
        them again: the run that bookmarked it read its references into that bookmark.
        """
        if self.settings.format != "fhir" or object_name != "stage_event":
            return {}
        numbers: dict[str, str] = dict((since or {}).get("references") or {})
        for export in files:
            if export.name not in unchanged:
                numbers.update(referral_numbers(export.path))
        return numbers

    def _bookmark(self, done: Mapping[str, Any]) -> Bookmark:
        bookmark: Bookmark = {"files": dict(done)}
        if self._numbers:
            bookmark["references"] = dict(self._numbers)
        return bookmark

    # -- rejects ---------------------------------------------------------------------------

    def _reject(self, reject: RowRejected) -> None:
        self.stats.rejected += 1
        self._pending_rejects.append(reject)

    def _take_rejects(self) -> list[RowRejected]:
        # Cleared in place: the page generators of a file hold this list.
        taken = self._pending_rejects.copy()
        self._pending_rejects.clear()
        return taken

    # -- matching and writers ----------------------------------------------------------------

    def referral_index(self, candidates: Iterable[ReferralCandidate]) -> ReferralIndex:
        """A matcher over ``candidates`` with this connection's date window."""
        return ReferralIndex(candidates, window_days=self.settings.match_window_days)

    def people_files(self) -> tuple[Path, ...]:
        """The worklist, closure and review CSVs in ``output_dir`` (none when it is unset)."""
        out = self.settings.output_dir
        return () if out is None else tuple(out / name for name in self.people_file_columns)

    def write_people_files(self, lists: PeopleLists) -> list[Path]:
        """Rewrite the worklist, closure, review and new-referrer CSVs from the canonical
        state; with ``lists.changed``, the worklist and closure list keep the rows of the
        referrals that did not change (aged again), read back from the files."""
        contacts, now = lists.contacts, self.clock()
        held = SortedRows(WORKLIST_COLUMNS), SortedRows(CLOSURE_COLUMNS)
        paths = self._output("scheduling-worklist.csv"), self._output("closure.csv")
        if lists.changed is not None:
            for path, rows in zip(paths, held, strict=True):
                read = keep_rows(path, rows, lists.changed, now)
                log.info("scheduling: %s kept from the changes, %d rows read back", path.name, read)
        referrers = NewReferrerTally()
        referrals = lists.referrals()
        if lists.referrers is None:
            referrals = referrers.counted(referrals)  # one pass over the store for all three
        targets = targets_by_service_line(lists.definitions)
        people_rows(referrals, targets, now=now, contacts=contacts, into=held)
        if lists.referrers is not None:
            referrers.add(lists.referrers())
        for path, rows in zip(paths, held, strict=True):
            rows.write(path)
        written = [*paths, self.write_review(lists.unmatched), self._output(NEW_REFERRERS_FILE)]
        write_csv_atomic(written[-1], NEW_REFERRER_COLUMNS, referrers.rows(contacts))
        return written

    def write_worklist(
        self,
        referrals: Iterable[Referral],
        definitions: Iterable[QualifiedReferralDefinition],
        path: Path | None = None,
        contacts: Contacts | None = None,
    ) -> Path:
        target = path or self._output("scheduling-worklist.csv")
        targets = targets_by_service_line(definitions)
        write_worklist_csv(target, referrals, targets, now=self.clock(), contacts=contacts)
        return target

    def write_closure(
        self,
        referrals: Iterable[Referral],
        definitions: Iterable[QualifiedReferralDefinition],
        path: Path | None = None,
        contacts: Contacts | None = None,
    ) -> Path:
        target = path or self._output("closure.csv")
        targets = targets_by_service_line(definitions)
        write_closure_csv(target, referrals, targets, now=self.clock(), contacts=contacts)
        return target

    def write_review(
        self,
        unmatched: Iterable[tuple[Mapping[str, object], MatchResult]],
        path: Path | None = None,
    ) -> Path:
        target = path or self._output("unmatched-appointments.csv")
        write_review_csv(target, unmatched)
        return target

    def _output(self, filename: str) -> Path:
        if self.settings.output_dir is None:
            raise ConfigurationError(
                "scheduling connection has no settings.output_dir; set it to the directory "
                "the worklist, closure and review CSVs are written to"
            )
        return self.settings.output_dir / filename

    # -- internals ---------------------------------------------------------------------------

    def patient_keyer(self) -> PatientKeyer:
        """The HMAC keyer from ``settings.patient_key_env`` (SecretError naming it if unset)."""
        if self._keyer is None:
            self._keyer = PatientKeyer.from_env(
                self.settings.patient_key_env,
                namespace=self.settings.patient_key_namespace,
                environ=self._environ,
            )
        return self._keyer

    def _known(self, object_name: str) -> None:
        if object_name not in OBJECTS:
            raise SchemaMismatch(
                f"scheduling connections have no object {object_name!r}; "
                f"use one of {', '.join(OBJECTS)} in the mapping's object:"
            )

    def _fields_exist(self, object_name: str, fields: Sequence[str]) -> None:
        known = self.describe(object_name).fields
        missing = [f for f in fields if f not in known]
        if not missing:
            return
        phi = [f for f in missing if f in PHI_FIELDS]
        hint = (
            f"; {', '.join(phi)} are PHI and this connection has phi_passthrough: false"
            if phi
            else ""
        )
        raise SchemaMismatch(
            f"scheduling {object_name} has no field {', '.join(repr(f) for f in missing)}"
            f"{hint}; fix the mapping (fields: {', '.join(sorted(known))})"
        )

    def _require_timezone(self) -> None:
        if self.settings.format == "csv" and self.settings.timezone is None:
            raise ConfigurationError(
                "scheduling connection has no settings.timezone; exports carry clinic-local "
                "times, so set it (or the program's timezone) to the site's IANA zone, "
                "e.g. America/Chicago"
            )

    def _due(
        self, export: ExportFile, print_: Fingerprint, done: dict[str, Any], until: datetime | None
    ) -> bool:
        """Whether to read the file now: not read before in this form, not still changing."""
        if unchanged_since(done.get(export.name), print_):
            self.stats.files_skipped += 1
            if print_.settled:  # the same bytes: its times are trusted from now on
                done[export.name] = print_.entry()
            return False
        if until is not None and print_.modified_at > until:
            log.info("scheduling: %s changed after the run started; next run", export.name)
            return False
        return True

    def _fingerprint(self, export: ExportFile) -> Fingerprint | None:
        """The file's fingerprint; an unreadable file is reported (not bookmarked: retried)."""
        try:
            return fingerprint(export.path)
        except OSError as exc:
            self._reject(RowRejected(
                f"cannot be read ({exc.strerror or type(exc).__name__}); check that the "
                "export job finished and refsync may read the file",
                source_file=export.name, code="UNREADABLE_FILE",
            ))  # fmt: skip
            return None

    def _paged(
        self, pages: Pages, export: ExportFile, print_: Fingerprint, done: dict[str, Any]
    ) -> Iterator[ReadPage]:
        """``pages``, then the file's last page: the one that completes its bookmark entry."""
        rest = yield from pages
        self.stats.files_read += 1
        if still_same(export.path, print_):
            done[export.name] = print_.entry()
        else:
            log.warning("scheduling: %s changed while being read; it is read again next run",
                        export.name)  # fmt: skip
        yield ReadPage(rest, self._bookmark(done), self._take_rejects())

    def _pages(
        self,
        object_name: str,
        export: ExportFile,
        print_: Fingerprint,
        keyer: PatientKeyer,
        done: dict[str, Any],
    ) -> Pages:
        before = (self.stats.rows, self.stats.records, self.stats.rejected)

        def emit(page: list[NativeRecord]) -> ReadPage:
            return ReadPage(page, self._bookmark(done), self._take_rejects())

        sink = Sink(emit, self._pending_rejects, self.stats, self.settings.page_size)
        rest: list[NativeRecord] = []
        if self.settings.format == "csv":
            if object_name == "stage_event":
                rest = yield from csv_file_pages(
                    export, print_, self.settings, self._preset, keyer, sink
                )
        else:
            numbers = self._numbers if object_name == "stage_event" else {}
            rest = yield from fhir_file_pages(
                object_name, export, print_, self.settings, keyer, numbers, sink
            )
        rows, records_, rejected = (
            self.stats.rows - before[0],
            self.stats.records - before[1],
            self.stats.rejected - before[2],
        )
        log.info("scheduling: read %s (%s): %d rows, %d records, %d rejected",
                 export.name, object_name, rows, records_, rejected)  # fmt: skip
        return rest
