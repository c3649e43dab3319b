"""python manage.py fhir_import --unit UNIT FILE... : import FHIR R4 JSON Bundles / resources or ndjson files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinic.accounts.models import Unit, User
from clinic.interop.fhir_import import import_fhir


class Command(BaseCommand):
    help = "Import FHIR R4 data (JSON Bundle or resource, or bulk-export ndjson) into a unit's patients."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--unit", required=True, help="unit code, e.g. north")
        parser.add_argument("--user", default="", help="username recorded in the audit trail (optional)")
        parser.add_argument("files", nargs="+", help="FHIR .json or .ndjson files")

    def handle(self, *args: Any, **options: Any) -> None:
        unit = Unit.objects.filter(code=options["unit"]).first()
        if unit is None:
            codes = ", ".join(Unit.objects.values_list("code", flat=True)) or "none yet"
            raise CommandError(f"There is no unit '{options['unit']}' (units: {codes}).")
        user = None
        if options["user"]:
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"There is no user '{options['user']}'.")
        payloads = []
        for name in options["files"]:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"{name}: no such file.")
            payloads.append((path.name, path.read_bytes()))
        report = import_fhir(payloads, unit=unit, user=user)
        if not report.ok:
            raise CommandError(report.as_text())
        self.stdout.write(report.as_text())
        if options["verbosity"] >= 2:
            self.stdout.write(json.dumps(report.audit_detail()))
