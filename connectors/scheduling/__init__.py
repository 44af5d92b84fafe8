"""Scheduling exports (CSV presets and FHIR R4) as a connector: ``type: scheduling``.

Reading
-------
``SchedulingConnector.read(object)`` streams records from the export file(s) at
``settings.path`` (a file or a directory; files sorted by name). Objects:

``stage_event`` - one record per CSV row / FHIR Appointment, Encounter, Task or
ServiceRequest: *evidence that a referral held a stage at a time*. ``NativeRecord.id`` is
deterministic (source id + stage + a hash of the event time: no dates of service in ids),
so replaying a file yields the same records. Fields (normalised names, the same for every
preset and for FHIR):

==========================  =================================================================
``appointment_id``          the export's appointment id (Epic CSN, athena APPOINTMENTID, ...)
``referral_number``         referral id from the export / the ServiceRequest's PLAC identifier
``authorization_number``    payer/referral authorization number
``patient_key``             ``v1:`` + HMAC-SHA256 of the normalised MRN (FHIR: of the patient
                            reference); for matching only, never for a destination
``status_raw``              the status exactly as exported (``3``, ``x - Cancelled``, ``noshow``)
``stage``                   canonical stage name derived from the preset's vocabulary
``event_at``                tz-aware time the status became true (see ``rows``/``fhirmap``)
``appointment_at``          tz-aware appointment start (site timezone for local times)
``completed_at``            ``event_at`` when ``stage == "completed"``
``cancel_reason``           cancellations and no-shows only
``referring_npi``           only when it passes the NPI check digit
``department``              department / location / specialty text
``service_line``            column, else ``service_line_by_department``, else the default
``visit_type``              visit/appointment type
``source``                  ``csv:<preset>`` or ``fhir:<ResourceType>``
``source_file``             path relative to ``settings.path``
``source_line``             CSV line the row starts on / NDJSON line
``source_pointer``          FHIR Bundle entry (``entry[3]``); FHIR only
``fhir_ref``                ``Appointment/<id>`` ...; FHIR only
``service_request_ref``     ``ServiceRequest/<id>`` the event is based on; FHIR only
``mrn``, ``patient_name``,  PHI: present **only** when ``settings.phi_passthrough`` is true
``birth_date``              (default false); the mapping decides whether a destination may
                            hold them (``phi_allowed``)
==========================  =================================================================

``practitioner``, ``practitioner_role``, ``organization`` - FHIR referral sources (see
:mod:`connectors.scheduling.fhirproviders`); CSV connections yield none.

Rejected rows
-------------
Rows and resources that cannot be used never stop the file. Each becomes a
:class:`~connectors.scheduling.rejects.RowRejected` (a ``RecordRejected``, so a
``RecordError``) with ``source_file``, ``source_line``/``pointer``, ``field``, ``code`` and a
message without cell values, delivered in ``ReadPage.rejects`` of the page covering that
stretch of the file (a page closes after ``page_size`` records *or* rejects, so memory stays
flat even on a file of bad rows). ``connector.stats`` counts rows, records, skips and
rejects of the last read. Rows that are not stage events (athena open slots,
"Rescheduled", proposed appointments, banner, totals, blank and repeated-header lines) are
skipped, not rejected. An unreadable file is one reject and is retried next run.

Bookmarks
---------
``{"files": {<name>: {"sha256", "size", "mtime_ns"}}}``: unchanged files (same hash) are
skipped, changed ones re-read; a file's entry appears only on the page completing it.
Files modified after ``until`` (the run's start) wait for the next run; entries of files
that left the directory are dropped. Mappings use ``key: refsync_id``, a field exports never
carry, so the engine matches referrals by their natural key (``referral_number``).

Events and matching (pure)
--------------------------
Every stage-event record carries :class:`connectors.base.EventMeta` (its event clock,
appointment, parent appointment and file:line); the engine keeps it in the referral's event
log and folds the log with :func:`mapping.history.fold_events`.
:class:`~connectors.scheduling.matching.ReferralIndex` matches events to candidate referrals
(referral number, authorization number, then patient key + service line + date window);
unmatched events go to :func:`~connectors.scheduling.writers.write_review_csv`.

Writing
-------
The connector is read-only (``writable = False``): the worklist, closure and review CSVs are
snapshots written by explicit functions in :mod:`connectors.scheduling.writers` (or the
``write_worklist`` / ``write_closure`` / ``write_review`` methods, into
``settings.output_dir``), atomically and formula-safe.
"""

from connectors.scheduling.connector import ReadStats, SchedulingConnector
from connectors.scheduling.matching import (
    MatchResult,
    ReferralCandidate,
    ReferralIndex,
    match_event,
)
from connectors.scheduling.patient import PatientKeyer, normalise_mrn
from connectors.scheduling.rejects import RowRejected
from connectors.scheduling.settings import SchedulingSettings
from connectors.scheduling.writers import (
    write_closure_csv,
    write_review_csv,
    write_worklist_csv,
)

__all__ = [
    "MatchResult",
    "PatientKeyer",
    "ReadStats",
    "ReferralCandidate",
    "ReferralIndex",
    "RowRejected",
    "SchedulingConnector",
    "SchedulingSettings",
    "match_event",
    "normalise_mrn",
    "write_closure_csv",
    "write_review_csv",
    "write_worklist_csv",
]
