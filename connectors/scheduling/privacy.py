"""What the native fields of a scheduling export hold, whatever a mapping reads them into.

The scheduling connector declares this table (``native_field_classes``): the loader follows
each field through the mappings and refuses a destination whose privacy tier may not hold
its class (``mrn`` read into ``reason`` and sent to a deidentified CRM, for instance).
"""

from __future__ import annotations

from mapping.privacy import ANY_ENTITY, DataClass, FieldClass, NativeClasses, canonical_class

__all__ = ["NATIVE_FIELD_CLASSES"]

_DI = DataClass.DIRECT_IDENTIFIER
_QI = DataClass.QUASI_IDENTIFIER
_TX = DataClass.CLINICAL_TEXT
# The export's care dates and free text are classed as the canonical fields they feed.
_CARE_DATE = canonical_class("referral", "appointment_at")
_FREE_TEXT = canonical_class("referral", "cancel_reason")

NATIVE_FIELD_CLASSES: NativeClasses = {
    ANY_ENTITY: {
        "mrn": FieldClass(_DI, "medical record number"),
        "patient_name": FieldClass(_DI, "the patient's name"),
        "birth_date": FieldClass(_QI, "the patient's birth date"),
        "patient_key": FieldClass(_DI, "keyed hash of the MRN"),
        "authorization_number": FieldClass(_DI, "payer authorization number (account number)"),
        "appointment_id": FieldClass(_DI, "the scheduling system's appointment number"),
        "event_at": _CARE_DATE,
        "appointment_at": _CARE_DATE,
        "completed_at": _CARE_DATE,
        "cancel_reason": _FREE_TEXT,
        "visit_type": FieldClass(_TX, "visit type text names the care given"),
        "status_raw": FieldClass(_TX, "status text as exported"),
    },
}
"""Native fields whose class the scheduling system fixes (every object, every entity)."""
