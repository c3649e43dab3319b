"""On PostgreSQL, make signed plans immutable in the database itself (not only in the ORM)."""

from __future__ import annotations

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION chairside_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'chairside: % on % is not allowed (append-only / immutable table)', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS signed_plan_immutable ON workups_signedplan;
CREATE TRIGGER signed_plan_immutable BEFORE UPDATE OR DELETE ON workups_signedplan
    FOR EACH ROW EXECUTE FUNCTION chairside_refuse_change();
"""
DROP = "DROP TRIGGER IF EXISTS signed_plan_immutable ON workups_signedplan;"


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("workups", "0002_step_meta")]
    operations = [migrations.RunPython(forwards, backwards)]
