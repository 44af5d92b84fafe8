"""The run: lock, read, translate, merge, derive, diff, write, commit bookmarks, report.

``Engine.plan`` walks the same path inside a transaction that is rolled back and stops
before any destination write. ``Engine.run`` commits each merged page as it goes, writes
every destination, and commits the sources' bookmarks only after every destination
acknowledged its writes, so a run killed at any point is finished by the next one without
loss (bookmarks not advanced -> sources re-read) or duplicates (deterministic canonical ids,
upserts by external id, and the write ledger).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from config.loader import Program
from config.models import JobConfig
from connectors.base import utc_now
from mapping.errors import ConfigurationError, RefsyncError
from mapping.model import QualifiedReferralDefinition
from mapping.spec import EntityMapping
from mapping.transforms import TransformContext
from sync.engine.crashpoint import crash_point_from_env
from sync.engine.derive_pass import derive_referrals
from sync.engine.derived import store_definitions
from sync.engine.gcfreeze import start_up_objects_frozen
from sync.engine.lease import DEFAULT_LEASE_SECONDS, LeaseKeeper
from sync.engine.matching import PatientMatcher
from sync.engine.outputs import write_outputs
from sync.engine.page_derive import PageDeriver, derives_on_page
from sync.engine.prospects import create_prospects
from sync.engine.reader import SourceReader
from sync.engine.referrers import ref_resolver, unlinked_referral_ids
from sync.engine.report import RunReport
from sync.engine.rollups import update_rollups
from sync.engine.runtime import Runtime, ownership_of
from sync.engine.writer import DestinationWriter
from sync.state import StateStore

__all__ = ["ENTITY_ORDER", "Engine"]

log = logging.getLogger(__name__)

ENTITY_ORDER = ("definition", "partner", "clinician", "referral", "outreach")
"""Write order: what others refer to goes first (lookups resolve through external ids)."""


class Engine:
    """Runs and plans the jobs of one program against one state store."""

    # Referrals are derived on the page that merged them where that gives the same result
    # (sync.engine.page_derive); False leaves every one to the pass after the read phase.
    derive_on_page = True

    def __init__(
        self,
        runtime: Runtime,
        store: StateStore,
        *,
        clock: Callable[[], datetime] = utc_now,
        lock_ttl_seconds: int = 600,
        lock_lease_seconds: int | None = None,
        progress: Callable[[str, int], None] | None = None,
        progress_total: Callable[[str, int], None] | None = None,
    ) -> None:
        self.runtime = runtime
        self.program: Program = runtime.program
        self.store = store
        self.clock = clock
        self.lock_ttl = lock_ttl_seconds
        self.lock_lease = lock_lease_seconds or self._default_lease(store, lock_ttl_seconds)
        self._keeper: LeaseKeeper | None = None
        self._crash = crash_point_from_env()  # a test hook; None outside crash tests
        self.progress = progress or (lambda _phase, _n: None)
        # the size of a phase, where it is known before it runs (writes: the entity's records)
        self.progress_total = progress_total or (lambda _phase, _n: None)
        self.host = socket.gethostname()
        self.pid = os.getpid()

    def plan(self, job: str) -> RunReport:
        """What ``run(job)`` would do, without writing anything anywhere."""
        report = RunReport(job=job, dry_run=True)
        self._warn()
        with self.store.rollback_only(), start_up_objects_frozen():
            self._execute(job, report, run_id=None)
        report.status = "planned"
        return report

    def run(self, job: str) -> RunReport:
        """Run ``job`` once. Raises LockHeld (exit 4) if a live run of it holds the lock."""
        self._job(job)
        self._warn()
        report = RunReport(job=job)
        run_id = self.store.start_run(job, host=self.host, pid=self.pid)
        report.run_id = run_id
        try:
            self.store.acquire_lock(
                job, run_id=run_id, ttl_seconds=self.lock_lease, host=self.host, pid=self.pid
            )
        except RefsyncError as exc:
            self.store.finish_run(run_id, "locked", {"message": exc.message})
            raise
        self._keeper = self._lease_keeper(job, run_id)
        event = {"job": job, "run_id": run_id, "host": self.host, "pid": self.pid}
        log.info(
            "run %s of %s started",
            run_id,
            job,
            extra={"refsync": {"event": "run_started", **event}},
        )
        try:
            self._mark_interrupted(job, run_id)
            with start_up_objects_frozen():
                self._execute(job, report, run_id=run_id)
        except RefsyncError as exc:
            report.status, report.message = "failed", exc.message
            raise
        except BaseException:
            report.status = "failed"
            raise
        finally:
            if self._keeper is not None:
                self._keeper.stop()
                self._keeper = None
            self.store.finish_run(
                run_id, report.status, {**report.counts(), "message": report.message}
            )
            self.store.release_lock(job, run_id)
            _log_finished(report, event)
        return report

    def _boundary(self, phase: str) -> None:
        if self._crash is not None:
            self._crash.boundary(phase)

    @staticmethod
    def _default_lease(store: StateStore, ttl: int) -> int:
        """A short lease renewed by a thread on a shared PostgreSQL state; else the TTL."""
        return min(DEFAULT_LEASE_SECONDS, ttl) if store.dialect == "postgresql" else ttl

    def _lease_keeper(self, job: str, run_id: int) -> LeaseKeeper | None:
        if self.lock_lease >= self.lock_ttl:
            return None
        keeper = LeaseKeeper(
            lambda: self.store.heartbeat(job, run_id),
            lease_seconds=self.lock_lease,
            progress_ttl_seconds=self.lock_ttl,
        )
        keeper.start()
        return keeper

    def _mark_interrupted(self, job: str, run_id: int) -> None:
        # We hold the lock: any older run still `running` lost its process.
        for dead in self.store.interrupt_runs(job, before=run_id):
            log.warning(
                "run %d of %s was left running by a process that died; marked interrupted",
                dead,
                job,
            )

    def _warn(self) -> None:
        # Repeated on every run, not once at load: a scheduler or worker runs for months.
        for warning in self.program.warnings:
            log.warning("%s", warning)

    def _job(self, name: str) -> JobConfig:
        try:
            return self.program.config.jobs[name]
        except KeyError:
            known = ", ".join(sorted(self.program.config.jobs)) or "none"
            raise ConfigurationError(
                f"no job named {name!r} in refsync.yaml; jobs: {known}"
            ) from None

    def _execute(self, name: str, report: RunReport, *, run_id: int | None) -> None:
        job = self._job(name)
        dry = run_id is None
        unit: Callable[[], AbstractContextManager[Any]] = nullcontext if dry else self.store.session
        started = self.clock()
        ctx = TransformContext(timezone=self.program.config.timezone)
        heartbeat = self._heartbeat(name, run_id)
        with unit():
            definitions_changed = bool(
                store_definitions(self.store, self.program.definitions.values())
            )
        self._matcher = PatientMatcher(self.store)
        self._boundary("read")
        bookmarks = self._read(job, report, unit, ctx, run_id, started, heartbeat)
        self._boundary("derive")
        with unit():
            self._derive(job, started, definitions_changed, report)
        referrals_changed = any(entity == "referral" for entity, _ in self._touched)
        self._forget_read()
        self._boundary("write")
        self._write(job, report, unit, ctx, run_id, heartbeat)
        if report.rejected > job.max_rejected:
            report.status = "failed"
            report.message = (
                f"{report.rejected} records were rejected, more than max_rejected "
                f"({job.max_rejected}); bookmarks were not advanced. See `refsync errors {name}`."
            )
            return
        if not dry:
            self._boundary("bookmarks")
            with unit():
                for (conn, obj), bookmark in bookmarks.items():
                    self.store.set_bookmark(conn, obj, bookmark)
            self._boundary("outputs")
            used = {n: self.runtime.connector(n) for n in (*job.sources, *job.destinations)}
            for path in write_outputs(
                used,
                self.store,
                self._matcher,
                self._definitions(),
                changed=referrals_changed,
                today=started.date(),
            ):
                report.outputs.append(str(path))
        report.status = "finished with rejected records" if report.rejected else "ok"

    def _read(
        self,
        job: JobConfig,
        report: RunReport,
        unit: Callable[[], AbstractContextManager[object]],
        ctx: TransformContext,
        run_id: int | None,
        started: datetime,
        heartbeat: Callable[[], None],
    ) -> dict[tuple[str, str], dict[str, Any]]:
        bookmarks: dict[tuple[str, str], dict[str, Any]] = {}
        ownership = ownership_of(self.program)
        steps = [(s, e, em) for s in job.sources for e, em in self._entities(s, job, reading=True)]
        entities = [entity for _, entity, _ in steps]
        tz = ZoneInfo(self.program.config.timezone)
        self._deriver = PageDeriver(self.store, self._definitions(), started, tz)
        readers: dict[str, SourceReader] = {}
        for index, (source, entity, em) in enumerate(steps):
            if source not in readers:
                resolving = replace(ctx, resolve_ref=ref_resolver(self.store, source))
                readers[source] = SourceReader(
                    self.store, report, ownership, resolving, unit, run_id, started,
                    matcher=self._matcher, dry_run=run_id is None,
                )  # fmt: skip
            reader = readers[source]
            on_page = self.derive_on_page and derives_on_page(entities, index)
            reader.deriver = self._deriver if on_page else None
            phase = f"read {entity} from {source}"
            self.progress(phase, 0)
            connector = self.runtime.connector(source)
            bookmark = reader.read(source, entity, em, connector, self._ticker(phase, heartbeat))
            if bookmark is not None:
                bookmarks[(source, em.object)] = bookmark
        self._touched = {key for reader in readers.values() for key in reader.touched}
        return bookmarks

    def _forget_read(self) -> None:
        """Drop what the read phase kept for derivation (the ids it touched and what each
        referral's page derived): one entry per record read, ~0.4 KB each, that the write
        phase would otherwise hold on top of its own pages."""
        self._touched = set()
        self._deriver.derived.clear()

    def _definitions(self) -> list[QualifiedReferralDefinition]:
        return list(self.program.definitions.values())

    def _derive(
        self, job: JobConfig, started: datetime, definitions_changed: bool, report: RunReport
    ) -> None:
        tz = ZoneInfo(self.program.config.timezone)
        touched = [cid for entity, cid in self._touched if entity == "referral"]
        if "referral" in job.entities and definitions_changed:
            touched = self.store.record_ids("referral")
        definitions = self._definitions() if "referral" in job.entities else []
        done = derive_referrals(
            self.store, touched, definitions, now=started, tz=tz, prederived=self._deriver.derived
        )
        clinicians = [cid for entity, cid in self._touched if entity == "clinician"]
        if clinicians:  # clinicians arrived or got a practice: re-resolve who waits for them
            waiting = unlinked_referral_ids(self.store, clinicians)
            done.absorb(derive_referrals(self.store, waiting, definitions, now=started, tz=tz))
        linked, unresolved = done.linked, done.unresolved
        report.count_read("hub", "referral", "linked to referrer", len(linked))
        prospects = done.prospects | self._prospects(done.waiting_names(), report)
        for number, npi in sorted(unresolved.items()):
            held = " (a prospect clinician holds it)" if npi in prospects else ""
            report.add(
                "unresolved", f"{number}: referring NPI {npi} matches no clinician yet{held}"
            )
        changed: dict[str, list[str]] = {}
        for entity, cid in self._touched:
            changed.setdefault(entity, []).append(cid)
        changed.setdefault("referral", []).extend(linked)
        rollups = update_rollups(
            self.store,
            changed,
            self._definitions(),
            now=started,
            settings=self.program.config.measures,
            tz=tz,
        )
        report.count_read("hub", "partner", "rollups recomputed", rollups.recomputed)
        report.count_read("hub", "partner", "rollups changed", len(rollups.changed))

    def _prospects(self, seen: Mapping[str, list[str | None]], report: RunReport) -> set[str]:
        """Create the prospect clinicians the waiting NPIs call for (opt-in); their NPIs."""
        settings = self.program.config.referrers
        if not settings.create_prospects or not seen:
            return set()
        made = create_prospects(self.store, seen, min_referrals=settings.prospect_min_referrals)
        for what, n in (
            ("prospects created", len(made.created)),
            ("prospects waiting: below prospect_min_referrals", len(made.below_threshold)),
            ("prospects refused: invalid NPI", len(made.invalid)),
        ):
            report.count_read("hub", "clinician", what, n)
        return set(made.created)

    def _write(
        self,
        job: JobConfig,
        report: RunReport,
        unit: Callable[[], AbstractContextManager[object]],
        ctx: TransformContext,
        run_id: int | None,
        heartbeat: Callable[[], None],
    ) -> None:
        dests = list(job.destinations)
        # Counted once for every destination: the write phase changes no record, and a
        # count reads an index entry per record (70 ms at a million).
        entities = {e for d in dests for e, _ in self._entities(d, job, reading=False)}
        live = {entity: self.store.count_records(entity) for entity in sorted(entities)}
        args = (job, report, unit, ctx, run_id, heartbeat, live)
        if run_id is None or len(dests) < 2:  # a plan is one transaction: one thread
            for dest in dests:
                self._write_destination(dest, *args)
            return
        # One thread per destination, each with its own connector and state connection, so
        # one system's rate limit (HubSpot's 10-second window) does not hold up the others.
        connectors = [self.runtime.connector(dest) for dest in dests]  # built here, not racing
        with ThreadPoolExecutor(max_workers=len(dests), thread_name_prefix="write") as pool:
            futures = [
                pool.submit(self._write_destination, d, *args)
                for d, _ in zip(dests, connectors, strict=True)
            ]
        failures = [f.exception() for f in futures if f.exception() is not None]
        if failures:
            raise failures[0]  # type: ignore[misc]

    def _write_destination(
        self,
        dest: str,
        job: JobConfig,
        report: RunReport,
        unit: Callable[[], AbstractContextManager[object]],
        ctx: TransformContext,
        run_id: int | None,
        heartbeat: Callable[[], None],
        live: Mapping[str, int],
    ) -> None:
        writer = DestinationWriter(
            self.store, report, ctx, unit, run_id, dry_run=run_id is None,
            mirror=job.mode == "mirror",
        )  # fmt: skip
        for entity, em in self._entities(dest, job, reading=False):
            phase = f"write {entity} to {dest}"
            self.progress(phase, 0)
            self.progress_total(phase, live[entity])
            tick = self._ticker(phase, heartbeat)
            writer.write(dest, entity, em, self.runtime.connector(dest), tick, live=live[entity])

    def _entities(
        self, conn: str, job: JobConfig, *, reading: bool
    ) -> Iterator[tuple[str, EntityMapping]]:
        spec = self.program.mappings.get(conn)
        if spec is None:
            return
        for entity in ENTITY_ORDER:
            em = spec.entities.get(entity)  # type: ignore[call-overload]
            if entity not in job.entities or em is None:
                continue
            if any(f.reads if reading else f.writes for f in em.fields) or em.stage is not None:
                yield entity, em

    def _ticker(self, phase: str, heartbeat: Callable[[], None]) -> Callable[[int], None]:
        """Called after each page or batch: keep the lock alive and report progress."""

        def tick(records: int) -> None:
            heartbeat()
            self.progress(phase, records)
            if self._crash is not None:
                self._crash.records(phase, records)

        return tick

    def _heartbeat(self, job: str, run_id: int | None) -> Callable[[], None]:
        if run_id is None:
            return lambda: None

        def beat() -> None:
            self.store.heartbeat(job, run_id)
            if self._keeper is not None:
                self._keeper.progressed()

        return beat


_WRITES = ("/created", "/updated", "/archived")


def _log_finished(report: RunReport, event: dict[str, Any]) -> None:
    """The run's end as one log line (counts only: no field value, no PHI)."""
    counts = report.counts()
    fields = {
        "event": "run_finished", **event, "status": report.status,
        "read": sum(n for k, n in report.read.items() if k.endswith("/read")),
        "written": sum(n for k, n in report.written.items() if k.endswith(_WRITES)),
        "transitions": counts["transitions"], "rejected": counts["rejected"],
    }  # fmt: skip
    level = (
        logging.INFO if report.status in ("ok", "finished with rejected records") else logging.ERROR
    )
    log.log(level, "%s", report.summary(), extra={"refsync": fields})
