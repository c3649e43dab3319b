"""`manage.py careplan evaluate FILE|-`: run the engine on a contract case. Writes nothing to the database."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinic.core.casejson import CaseJSONError, parse_case_json
from clinic.engine import CaseError, errors_to_json, evaluate, plan_to_dict, plan_to_json, validate_case

EXIT_INVALID = 2


class Command(BaseCommand):
    help = "Work with care plans from the command line (see docs/contract.md)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        evaluate_parser = sub.add_parser("evaluate", help="Evaluate a case JSON file ('-' for standard input).")
        evaluate_parser.add_argument("file")
        pdf_parser = sub.add_parser(
            "pdf", help="Render a care plan or patient handout PDF from a saved workup or straight from a case file."
        )
        pdf_parser.add_argument("workup_id", nargs="?", help="Public id (UUID) of a saved workup.")
        pdf_parser.add_argument("--case", help="A contract case file: renders a preview, saves nothing.")
        pdf_parser.add_argument("--kind", choices=["plan", "handout"], default="plan")
        pdf_parser.add_argument("--paper", choices=["a4", "letter"], default="a4")
        pdf_parser.add_argument("--out", required=True, help="Where to write the PDF.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "evaluate":
            self._evaluate(options["file"])
        elif options["action"] == "pdf":
            self._pdf(options)

    def _pdf(self, options: dict[str, Any]) -> None:
        from clinic.printing.pdf import render_case_pdf

        if bool(options["workup_id"]) == bool(options["case"]):
            raise CommandError("Give either a WORKUP_ID or --case FILE (one of them).")
        if options["case"]:
            case = self._read_case(options["case"])
            pdf = render_case_pdf(plan_to_dict(evaluate(case)), kind=options["kind"], paper=options["paper"], case=case)
        else:
            pdf = self._workup_pdf(options)
        with open(options["out"], "wb") as handle:
            handle.write(pdf)
        self.stderr.write(f"Wrote {options['out']} ({len(pdf) // 1024} KiB).")

    def _workup_pdf(self, options: dict[str, Any]) -> bytes:
        from django.core.exceptions import ValidationError

        from clinic.audit.models import Action
        from clinic.audit.services import record
        from clinic.printing.pdf import render_plan_pdf
        from clinic.workups.models import Workup

        try:
            workup = Workup.objects.select_related("patient__unit").get(public_id=options["workup_id"])
        except (Workup.DoesNotExist, ValidationError, ValueError) as exc:
            raise CommandError(f"No workup with id {options['workup_id']!r}.") from exc
        try:
            pdf = render_plan_pdf(workup, kind=options["kind"], paper=options["paper"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        record(
            Action.PLAN_PDF,
            username="manage.py careplan pdf",
            unit=workup.patient.unit,
            patient_public_id=workup.patient.public_id,
            detail={"workup": str(workup.public_id), "kind": options["kind"], "via": "command"},
        )
        return pdf

    def _read_case(self, path: str) -> Any:
        try:
            with open(path, encoding="utf-8") as handle:
                data = parse_case_json(handle.read())
            return validate_case(data)
        except (OSError, UnicodeDecodeError, CaseJSONError) as exc:
            raise CommandError(f"Cannot read a case from {path}: {exc}") from exc
        except CaseError as exc:
            raise CommandError(errors_to_json(exc.errors)) from exc

    def _evaluate(self, path: str) -> None:
        try:
            if path == "-":
                text = sys.stdin.read()
            else:
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
        except OSError as exc:
            self._fail([{"field": "", "message": f"Cannot read {path}: {exc.strerror}"}])
        except UnicodeDecodeError:
            self._fail([{"field": "", "message": f"{path} is not UTF-8 text."}])
        try:
            data = parse_case_json(text)
        except CaseJSONError as exc:
            self._fail([{"field": "", "message": str(exc)}])
        try:
            plan = evaluate(data)
        except CaseError as exc:
            self._fail(exc.errors)
        self.stdout.write(plan_to_json(plan), ending="\n")

    def _fail(self, errors: list[dict[str, str]]) -> NoReturn:
        self.stdout.write(errors_to_json(errors), ending="\n")
        sys.exit(EXIT_INVALID)
