"""Picklist values of the default Salesforce schema (docs/contracts.md): what `refsync
provision salesforce` creates and the sandbox preloads."""

from __future__ import annotations

__all__ = ["CLINICIAN_ROLES", "OUTREACH_KINDS", "PARTNER_KINDS", "RELATIONSHIP_STATUSES", "STAGES"]

PARTNER_KINDS = (
    "PCP Practice",
    "Specialty Practice",
    "Hospital",
    "Health System",
    "Community Organization",
    "Employer",
    "Payer",
)
RELATIONSHIP_STATUSES = ("Prospect", "Contacted", "Engaged", "Active", "Dormant")
CLINICIAN_ROLES = (
    "Physician",
    "Nurse Practitioner",
    "Physician Assistant",
    "Care Coordinator",
    "Case Manager",
    "Community Health Worker",
)
OUTREACH_KINDS = (
    "Visit",
    "Call",
    "Email",
    "Seminar",
    "Training",
    "Lunch and Learn",
    "Newsletter",
    "Event",
)
STAGES = (
    "Contacted",
    "Referred",
    "Intake Received",
    "Accepted",
    "Scheduled",
    "Completed",
    "Declined",
    "Cancelled",
    "No Show",
)
