"""`manage.py audit verify`: check the audit trail's hash chain; exit 1 naming each row that does not fit."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinic.audit import chain


class Command(BaseCommand):
    help = "Audit trail tools."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser(
            "verify", help="Recompute the hash chain; report any row changed, deleted or reordered (exit 1)."
        )
        verify.add_argument("--database", default="default", help="Database alias (default: default).")
        verify.add_argument(
            "--anchor",
            action="append",
            default=[],
            metavar="SEQ:HASH",
            help="A head printed by an earlier run and kept outside the database: that event must still hold it.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = chain.verify(using=options["database"])
        problems = [str(p) for p in report.problems]
        for anchor in options["anchor"]:
            problems.extend(self._check_anchor(anchor, options["database"]))
        if problems:
            lines = [f"Audit chain BROKEN ({report.rows} rows read):", *(f"  {p}" for p in problems)]
            raise CommandError("\n".join(lines))
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain intact: {report.rows} events, head seq {report.head_seq}, hash {report.head_hash}."
            )
        )
        if options["anchor"]:
            self.stdout.write(f"Anchors held: {', '.join(options['anchor'])}.")
        self.stdout.write("Record the head hash somewhere outside this database to detect a rewrite of the chain.")

    @staticmethod
    def _check_anchor(anchor: str, using: str) -> list[str]:
        from clinic.audit.models import AuditEvent

        seq, _, expected = anchor.partition(":")
        if not seq.isdigit() or len(expected) != 64:
            raise CommandError(f"--anchor {anchor!r}: give SEQ:HASH as printed by an earlier run.")
        row = AuditEvent.objects.using(using).filter(seq=int(seq)).values_list("id", "hash").first()
        if row is None:
            return [f"anchor seq {seq}: no event holds this place any more (deleted)"]
        if row[1] != expected.lower():
            return [f"audit event id {row[0]} (seq {seq}): its hash differs from the anchor kept outside: rewritten"]
        return []
