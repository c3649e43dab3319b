"""FHIR R4 import: a JSON Bundle, a single resource or bulk-export ndjson files -> patients, conditions,
dialysis sessions, medications and lab results.

Three stages, so that a bad file changes nothing:

1. ``fhir_parse.parse_files``: read and validate every file. Any problem -> the import is refused as a whole,
   with a readable report.
2. ``fhir_group.group``: group the resources by patient.
3. ``fhir_apply.apply``: one database transaction per import, idempotent upserts.

Every import, refused or not, is written to the audit trail with counts and codes only (``fhir_report``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from clinic.accounts.models import Unit
from clinic.audit.models import Action
from clinic.audit.services import record
from clinic.interop.fhir_apply import apply
from clinic.interop.fhir_group import PatientBundle, group
from clinic.interop.fhir_parse import CURRENT_CLINICAL, parse_fhir_datetime, parse_files, reference_keys
from clinic.interop.fhir_report import ImportRefused, ImportReport
from clinic.patients.models import Patient

__all__ = ["CURRENT_CLINICAL", "ImportReport", "import_fhir", "parse_fhir_datetime"]


def import_fhir(
    files: Sequence[tuple[str, bytes]],
    *,
    unit: Unit,
    user: Any = None,
    request: HttpRequest | None = None,
    target: Patient | None = None,
) -> ImportReport:
    """Validate, then apply in one transaction. Never raises for bad data: the report says what was wrong."""
    started = time.perf_counter()
    report = ImportReport(files=[name for name, _ in files])
    items, report.ignored, errors = parse_files(files)
    report.resources = Counter(i.type for i in items)
    bundles: list[PatientBundle] = []
    if not errors:
        bundles = group(items, unit, target, errors, report.skipped)
        if not errors and not bundles:
            errors.append("The file holds no Patient and no data for this patient; nothing to import.")
    if not errors:
        media = {key: i for i in items if i.type == "Medication" for key in reference_keys(i)}
        now = timezone.now()
        try:
            with transaction.atomic():
                for bundle in bundles:
                    report.patients.append(apply(bundle, unit, user, media, now))
                report.ok = True
                report.seconds = time.perf_counter() - started
                # One audit event per patient, written in the import's own transaction (one commit in all).
                _audit_patients(report, unit, user, request)
        except ImportRefused as exc:
            errors = exc.errors
            report.patients = []
            report.ok = False
    report.errors = errors
    report.ok = not errors
    report.seconds = time.perf_counter() - started
    if not report.ok or not report.patients:
        record(Action.FHIR_IMPORT, request=request, user=user, unit=unit, detail=report.audit_detail())
    return report


def _audit_patients(report: ImportReport, unit: Unit, user: Any, request: HttpRequest | None) -> None:
    for p in report.patients:
        detail = report.audit_detail() | {
            "created": p.created,
            "fields": p.fields_changed,
            "sessions_added": p.sessions_added,
            "conditions_added": p.conditions_added,
            "medications_added": p.medications_added,
            "medications_unmapped": len(p.unmapped_medications),
            "labs_added": p.labs_added,
            "labs_updated": p.labs_updated,
            "labs_refused": len(p.labs_refused),
            "retractions": len(p.changes),
            "not_used": len(p.not_used),
        }
        record(Action.FHIR_IMPORT, request=request, user=user, unit=unit, patient_public_id=p.public_id, detail=detail)
