"""`manage.py grant_runtime ROLE`: give the application's runtime database role exactly the rights it needs.

PostgreSQL only. Run it as the owner role (the one that ran `migrate` and owns every table), after every
`migrate`: the runtime role owns nothing, so it cannot TRUNCATE, ALTER or DROP a table, nor disable or replace a
trigger. It may read and write the application's tables, except:

- audit_auditevent: SELECT and INSERT only (the audit trail is append-only);
- audit_auditchainhead: SELECT, INSERT and UPDATE (appending advances the hash chain's head; no DELETE);
- workups_signedplan: SELECT and INSERT only (a signed plan is immutable);
- django_migrations: SELECT only.

Every earlier grant on the schema's tables is revoked first, so running it again converges. See docs/operations.md.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections, transaction

READ_WRITE = ("SELECT", "INSERT", "UPDATE", "DELETE")
LIMITED: dict[str, tuple[str, ...]] = {
    "audit_auditevent": ("SELECT", "INSERT"),
    "audit_auditchainhead": ("SELECT", "INSERT", "UPDATE"),
    "workups_signedplan": ("SELECT", "INSERT"),
    "django_migrations": ("SELECT",),
}


def privileges_for(table: str) -> tuple[str, ...]:
    return LIMITED.get(table, READ_WRITE)


class Command(BaseCommand):
    help = "Grant the runtime database role its privileges (PostgreSQL; run as the owner after migrate)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", help="The role the application connects as at run time (it must own nothing).")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            raise CommandError("grant_runtime is for PostgreSQL (SQLite has no roles).")
        role = options["role"]
        q = connection.ops.quote_name
        with transaction.atomic(using=options["database"]), connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [role])
            found = cursor.fetchone()
            if found is None:
                raise CommandError(f"There is no database role {role!r}; create it first (docs/operations.md).")
            if found[0] or found[1]:
                raise CommandError(f"{role!r} is a superuser or bypasses row security: use an ordinary role.")
            cursor.execute("SELECT current_user, current_schema()")
            owner, schema = cursor.fetchone()
            if owner == role:
                raise CommandError("Run this as the owner role, not as the runtime role.")
            cursor.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = %s",
                [role],
            )
            owned = cursor.fetchone()[0]
            if owned:
                raise CommandError(
                    f"{role!r} owns {owned} database object(s); the runtime role must own nothing "
                    f"(REASSIGN OWNED BY {role} TO {owner}, as a superuser)."
                )
            tables = sorted(connection.introspection.table_names(cursor))
            cursor.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {q(schema)} FROM {q(role)}")
            cursor.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {q(schema)} FROM {q(role)}")
            cursor.execute(f"REVOKE CREATE ON SCHEMA {q(schema)} FROM {q(role)}")
            cursor.execute(f"GRANT USAGE ON SCHEMA {q(schema)} TO {q(role)}")
            for table in tables:
                cursor.execute(f"GRANT {', '.join(privileges_for(table))} ON {q(table)} TO {q(role)}")
            cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {q(schema)} TO {q(role)}")
        limited = ", ".join(f"{t} ({'/'.join(p)})" for t, p in LIMITED.items() if t in tables)
        self.stdout.write(
            self.style.SUCCESS(
                f"Granted {role} read and write on {sum(t not in LIMITED for t in tables)} tables of schema {schema}; "
                f"limited: {limited}. Owner: {owner}."
            )
        )
