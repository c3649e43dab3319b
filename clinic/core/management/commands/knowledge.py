"""`manage.py knowledge catalogue [--out FILE]`: the reviewable catalogue of every rule, for clinical sign-off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinic.engine import load_knowledge
from clinic.engine.catalogue import render_markdown
from clinic.engine.integrity import check_integrity


class Command(BaseCommand):
    help = "Inspect the clinical knowledge base."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        catalogue = sub.add_parser("catalogue", help="Write a Markdown catalogue of every rule (stdout or --out).")
        catalogue.add_argument("--out", help="File to write instead of standard output.")
        sub.add_parser("check", help="Check the knowledge files for consistency.")

    def handle(self, *args: Any, **options: Any) -> None:
        knowledge = load_knowledge()
        if options["action"] == "check":
            problems = check_integrity(knowledge)
            if problems:
                raise CommandError("\n".join(problems))
            self.stdout.write(self.style.SUCCESS(f"Knowledge {knowledge.version}: consistent."))
            return
        text = render_markdown(knowledge)
        if options.get("out"):
            out = Path(options["out"])
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {out} ({len(text.splitlines())} lines).")
        else:
            self.stdout.write(text)
