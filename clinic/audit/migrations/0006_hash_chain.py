"""Link every audit event into a hash chain (clinic/audit/chain.py): existing events are chained in id order."""

from __future__ import annotations

import django.utils.timezone
from django.db import migrations, models

from clinic.audit import chain

PG_GUARD_HEAD = """
CREATE OR REPLACE FUNCTION chairside_chain_head_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'chairside: DELETE on % is not allowed (audit chain head)', TG_TABLE_NAME;
    END IF;
    IF NEW.id <> OLD.id OR NEW.seq <> OLD.seq + 1 THEN
        RAISE EXCEPTION 'chairside: the audit chain head only moves forward one event at a time';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_chain_head_guard ON audit_auditchainhead;
CREATE TRIGGER audit_chain_head_guard BEFORE UPDATE OR DELETE ON audit_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION chairside_chain_head_guard();
"""
PG_UNGUARD_HEAD = "DROP TRIGGER IF EXISTS audit_chain_head_guard ON audit_auditchainhead;"


def chain_existing(apps, schema_editor):  # type: ignore[no-untyped-def]
    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditChainHead = apps.get_model("audit", "AuditChainHead")
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:  # the append-only trigger refuses UPDATE; this one-off backfill runs as the table's owner
        schema_editor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_append_only", params=None)
    previous, seq = chain.GENESIS, 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        seq += 1
        previous = chain.link(
            previous,
            chain.digest(
                at=event.at,
                user_id=event.user_id,
                username=event.username,
                unit_id=event.unit_id,
                patient_public_id=event.patient_public_id,
                action=event.action,
                client_ip=event.client_ip,
                detail=event.detail,
            ),
        )
        AuditEvent.objects.filter(pk=event.pk).update(seq=seq, hash=previous)
    AuditChainHead.objects.create(id=chain.HEAD_ID, seq=seq, hash=previous)
    if postgres:
        schema_editor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_append_only", params=None)
        schema_editor.execute(PG_GUARD_HEAD, params=None)


def unchain(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_UNGUARD_HEAD, params=None)
    apps.get_model("audit", "AuditChainHead").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_append_only_trigger")]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(editable=False, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.CreateModel(
            name="AuditChainHead",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seq", models.BigIntegerField(default=0)),
                ("hash", models.CharField(default=chain.GENESIS, max_length=64)),
            ],
        ),
        migrations.RunPython(chain_existing, unchain),
    ]
