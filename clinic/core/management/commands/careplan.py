"""`manage.py careplan evaluate FILE|-`: run the engine on a contract case. Writes nothing to the database."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandParser

from clinic.engine import CaseError, errors_to_json, evaluate, plan_to_json

EXIT_INVALID = 2


class Command(BaseCommand):
    help = "Work with care plans from the command line (see shared contract: CLI)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        evaluate_parser = sub.add_parser("evaluate", help="Evaluate a case JSON file ('-' for standard input).")
        evaluate_parser.add_argument("file")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "evaluate":
            self._evaluate(options["file"])

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
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            self._fail(
                [{"field": "", "message": f"Not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}."}]
            )
        try:
            plan = evaluate(data)
        except CaseError as exc:
            self._fail(exc.errors)
        self.stdout.write(plan_to_json(plan), ending="\n")

    def _fail(self, errors: list[dict[str, str]]) -> NoReturn:
        self.stdout.write(errors_to_json(errors), ending="\n")
        sys.exit(EXIT_INVALID)
