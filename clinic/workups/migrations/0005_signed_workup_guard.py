"""On PostgreSQL, a signed workup keeps its status, answers and plan in the database itself (not only in the ORM):
the trigger refuses to move it out of 'signed', to change what was signed, or to delete it. Revising makes a new
workup; the signed one stays as it was."""

from __future__ import annotations

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION chairside_signed_workup_guard() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'signed' THEN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'chairside: a signed workup cannot be deleted (immutable once signed)';
        END IF;
        IF NEW.status IS DISTINCT FROM OLD.status
           OR NEW.answers IS DISTINCT FROM OLD.answers
           OR NEW.case_json IS DISTINCT FROM OLD.case_json
           OR NEW.plan_json IS DISTINCT FROM OLD.plan_json
           OR NEW.patient_id IS DISTINCT FROM OLD.patient_id THEN
            RAISE EXCEPTION 'chairside: a signed workup''s status, answers and plan are immutable (revise it instead)';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS signed_workup_guard ON workups_workup;
CREATE TRIGGER signed_workup_guard BEFORE UPDATE OR DELETE ON workups_workup
    FOR EACH ROW EXECUTE FUNCTION chairside_signed_workup_guard();
"""
DROP = """
DROP TRIGGER IF EXISTS signed_workup_guard ON workups_workup;
DROP FUNCTION IF EXISTS chairside_signed_workup_guard();
"""


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("workups", "0004_return_to_nurse")]
    operations = [migrations.RunPython(forwards, backwards)]
