"""Benchmark the FHIR import: N patients (default 1,000) in one import, as `manage.py fhir_import` runs it.

Usage (PostgreSQL, as deployed):  .ci/with-postgres python bench/bench_fhir_import.py [--patients N] [--json PATH]
       (SQLite):                  DATABASE_URL=sqlite:///bench-fhir.sqlite3 python bench/bench_fhir_import.py

The patients are the eight committed carebundle patients (tests/fixtures/carebundle) repeated with a new MRN and
new urn:uuid fullUrls each, so every one is a new patient: one transaction Bundle per patient, about 45 resources
each (labs in DiagnosticReports, conditions, medicine orders, vital signs). The database is migrated first; the
bench unit and its patients are removed afterwards. Prints one JSON line: wall time of the import, resources per
second, the process's peak resident memory, and how many transactions the import committed (it must be one).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from clinic.accounts.models import Unit  # noqa: E402
from clinic.audit.models import Action, AuditEvent  # noqa: E402
from clinic.interop.fhir_import import import_fhir  # noqa: E402
from clinic.patients.models import LabResult, Patient  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "carebundle"
UUID_TAIL = re.compile(r"(urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-)[0-9a-f]{12}")


def payloads(count: int) -> list[tuple[str, bytes]]:
    templates = [f.read_text(encoding="utf-8") for f in sorted(FIXTURES.glob("*.json"))]
    files = []
    for n in range(count):
        text = UUID_TAIL.sub(lambda m, n=n: f"{m.group(1)}{n:012x}", templates[n % len(templates)])
        bundle = json.loads(text)
        for entry in bundle["entry"]:
            if entry["resource"]["resourceType"] == "Patient":
                entry["resource"]["identifier"][0]["value"] = f"BENCH-{n:05d}"
        files.append((f"patient-{n:05d}.json", json.dumps(bundle).encode()))
    return files


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--json", type=Path, help="also write the result to this file")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    unit, _ = Unit.objects.get_or_create(code="bench-fhir", defaults={"name": "FHIR import bench"})
    Patient.objects.filter(unit=unit).delete()

    last_event = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    rss_before = peak_rss_mib()
    files = payloads(args.patients)
    size = sum(len(raw) for _, raw in files)
    rss_files = peak_rss_mib()

    commits = 0
    original_commit = connection.commit

    def counting_commit() -> None:
        nonlocal commits
        commits += 1
        original_commit()

    connection.commit = counting_commit  # type: ignore[method-assign]
    started = time.perf_counter()
    report = import_fhir(files, unit=unit)
    seconds = time.perf_counter() - started
    connection.commit = original_commit  # type: ignore[method-assign]
    if not report.ok:
        raise SystemExit(report.as_text()[:2000])

    resources = sum(report.resources.values())
    result: dict[str, Any] = {
        "database": connection.vendor,
        "patients": len(report.patients),
        "resources": resources,
        "input_mib": round(size / 2**20, 1),
        "labs_stored": LabResult.objects.filter(patient__unit=unit).count(),
        "audit_events": AuditEvent.objects.filter(action=Action.FHIR_IMPORT, pk__gt=last_event).count(),
        "seconds": round(seconds, 1),
        "patients_per_s": round(len(report.patients) / seconds, 1),
        "resources_per_s": round(resources / seconds),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "rss_before_mib": round(rss_before, 1),
        "rss_with_files_mib": round(rss_files, 1),
        "commits_during_import": commits,
    }
    Patient.objects.filter(unit=unit).delete()
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
