"""Append-only audit trail: who did what to which patient, when and from where.

Events never hold identifiable data: patients are named by their opaque public id only. Every event is a link of a
hash chain (clinic/audit/chain.py): ``manage.py audit verify`` detects a row changed, deleted or reordered.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connections, models, router, transaction
from django.utils import timezone

from clinic.audit import chain


class Action(models.TextChoices):
    LOGIN = "login", "Signed in"
    LOGOUT = "logout", "Signed out"
    LOGIN_FAILED = "login_failed", "Failed sign-in"
    PATIENT_VIEW = "patient_view", "Viewed patient"
    PATIENT_LIST = "patient_list", "Listed or searched patients"
    PATIENT_ACCESS = "patient_access", "Opened a patient or workup page"
    ACCESS_DENIED = "access_denied", "Refused access (not found in the user's units)"
    PATIENT_CREATE = "patient_create", "Created patient"
    PATIENT_EDIT = "patient_edit", "Edited patient"
    LAB_CREATE = "lab_create", "Recorded lab result"
    WORKUP_CREATE = "workup_create", "Started workup"
    STEP_SAVE = "step_save", "Saved workup step"
    RED_FLAG_ACK = "red_flag_ack", "Acknowledged emergency red flag"
    PLAN_MAKE = "plan_make", "Made care plan"
    PLAN_VIEW = "plan_view", "Viewed care plan"
    PLAN_SUBMIT = "plan_submit", "Submitted plan for review"
    PLAN_SIGN = "plan_sign", "Signed care plan"
    WORKLIST_VIEW = "worklist_view", "Viewed worklist"
    PLAN_REVISE = "plan_revise", "Revised signed plan"
    PLAN_RETURN = "plan_return", "Returned plan to the nurse"
    PLAN_PRINT = "plan_print", "Printed care plan"
    PLAN_PDF = "plan_pdf", "Downloaded care plan PDF"
    API_EVALUATE = "api_evaluate", "API evaluate"
    API_AUTH_FAILED = "api_auth_failed", "Failed API authentication"
    STAFF_CHANGE = "staff_change", "Changed unit staff"
    AUDIT_VIEW = "audit_view", "Viewed audit log"
    TOKEN_ISSUE = "token_issue", "API token issued"
    TOKEN_REVOKE = "token_revoke", "API token revoked"
    FHIR_IMPORT = "fhir_import", "Imported FHIR data"
    FHIR_IMPORT_VIEW = "fhir_import_view", "Opened FHIR import"
    FHIR_EXPORT = "fhir_export", "Exported care plan as FHIR"
    CDS_CALL = "cds_call", "CDS Hooks call"
    CDS_FEEDBACK = "cds_feedback", "CDS Hooks card feedback"
    CDS_AUTH_FAILED = "cds_auth_failed", "Failed CDS Hooks authentication"
    ADMIN_ACCESS = "admin_access", "Used the Django admin"


class AppendOnlyError(RuntimeError):
    pass


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("Audit events cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events cannot be deleted.")

    def bulk_create(self, *args: Any, **kwargs: Any) -> list[AuditEvent]:
        raise AppendOnlyError("Audit events are added one at a time, each linked into the hash chain.")


class AuditEvent(models.Model):
    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text as well so the record survives the user being removed, and records failed sign-ins.
    username = models.CharField(max_length=150, blank=True)
    unit = models.ForeignKey("accounts.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    patient_public_id = models.UUIDField(null=True, blank=True, db_index=True)
    action = models.CharField(max_length=32, choices=Action, db_index=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True, help_text="Codes and ids only; never names or free text.")
    # The hash chain: this event's place and SHA-256(previous event's hash + digest of this event's content).
    seq = models.BigIntegerField(unique=True, null=True, editable=False)
    hash = models.CharField(max_length=64, blank=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["unit", "-at"], name="audit_unit_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username or '-'} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("Audit events cannot be changed.")
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        self.at = self.at or timezone.now()
        digest = self.content_digest()
        connection = connections[using]
        if connection.vendor == "postgresql":  # one statement advances the head and inserts the event
            fields = [self._meta.get_field(name) for name in chain.INSERTED]
            values = {f.name: f.get_db_prep_save(getattr(self, f.attname), connection) for f in fields}
            self.pk, self.seq, self.hash = chain.append_postgresql(digest, values, using)
            self._state.adding, self._state.db = False, using
            return
        # Elsewhere (SQLite) one transaction holds the head's advance and the insert.
        with transaction.atomic(using=using, savepoint=False):
            self.seq, self.hash = chain.advance(digest, using)
            super().save(*args, **kwargs)

    def content_digest(self) -> str:
        return chain.digest(
            at=self.at,
            user_id=self.user_id,
            username=self.username,
            unit_id=self.unit_id,
            patient_public_id=self.patient_public_id,
            action=self.action,
            client_ip=self.client_ip,
            detail=self.detail,
        )

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events cannot be deleted.")


class AuditChainHead(models.Model):
    """One row: the chain's latest seq and hash. Appending an event advances it (clinic/audit/chain.py)."""

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=chain.GENESIS)

    def __str__(self) -> str:
        return f"audit chain head at seq {self.seq}"
