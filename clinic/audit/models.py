"""Append-only audit trail: who did what to which patient, when and from where.

Events never hold identifiable data: patients are named by their opaque public id only.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class Action(models.TextChoices):
    LOGIN = "login", "Signed in"
    LOGOUT = "logout", "Signed out"
    LOGIN_FAILED = "login_failed", "Failed sign-in"
    PATIENT_VIEW = "patient_view", "Viewed patient"
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
    PLAN_REVISE = "plan_revise", "Revised signed plan"
    PLAN_PRINT = "plan_print", "Printed care plan"
    PLAN_PDF = "plan_pdf", "Downloaded care plan PDF"
    API_EVALUATE = "api_evaluate", "API evaluate"
    STAFF_CHANGE = "staff_change", "Changed unit staff"
    AUDIT_VIEW = "audit_view", "Viewed audit log"
    TOKEN_ISSUE = "token_issue", "API token issued"
    TOKEN_REVOKE = "token_revoke", "API token revoked"
    FHIR_IMPORT = "fhir_import", "Imported FHIR data"
    FHIR_EXPORT = "fhir_export", "Exported care plan as FHIR"
    CDS_CALL = "cds_call", "CDS Hooks call"
    CDS_FEEDBACK = "cds_feedback", "CDS Hooks card feedback"


class AppendOnlyError(RuntimeError):
    pass


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("Audit events cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    at = models.DateTimeField(auto_now_add=True, db_index=True)
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

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["unit", "-at"], name="audit_unit_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username or '-'} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events cannot be deleted.")
