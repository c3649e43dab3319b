"""On PostgreSQL, make audit events append-only in the database itself (not only in the ORM)."""

from __future__ import annotations

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION chairside_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'chairside: % on % is not allowed (append-only / immutable table)', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_append_only ON audit_auditevent;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION chairside_refuse_change();
"""
DROP = "DROP TRIGGER IF EXISTS audit_append_only ON audit_auditevent;"


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_staff_and_audit_actions")]
    operations = [migrations.RunPython(forwards, backwards)]
