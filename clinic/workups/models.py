"""Workups (the wizard's saved answers), red-flag acknowledgements and signed care-plan snapshots.

A workup's answers live in the database, keyed by the workup's UUID in the URL, so refresh, back, two tabs and
two patients are safe. ``version`` is an optimistic lock: every save says which version it edited, and a save
against an older version is refused with a conflict instead of silently overwriting someone's work.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    AWAITING_REVIEW = "awaiting_review", "Awaiting nephrologist review"
    SIGNED = "signed", "Signed"


class ImmutableError(RuntimeError):
    pass


class WorkupQuerySet(models.QuerySet["Workup"]):
    def for_user(self, user: Any) -> WorkupQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(patient__unit_id__in=user.unit_ids())

    def for_plan_page(self) -> WorkupQuerySet:
        """One query loading only the columns the care plan page reads (the plan, the signed snapshot and the
        names in its header): Django compiles the SQL of every query on every request, and with every column of
        five joined tables that compilation was a quarter of the page's CPU. The query budget test fails if a
        field used later is missing here (it would cost a query of its own)."""
        return self.select_related("patient__unit", "created_by", "returned_by", "signed_plan__signed_by").only(
            *PLAN_PAGE_FIELDS
        )


PLAN_PAGE_FIELDS = (
    *("public_id", "status", "version", "created_at", "plan_json", "revises_id", "patient", "created_by"),
    *("return_comment", "returned_at", "returned_by"),
    *(f"returned_by__{name}" for name in ("username", "first_name", "last_name")),
    *(f"patient__{name}" for name in ("public_id", "unit", "given_name", "family_name", "mrn", "date_of_birth")),
    *(f"created_by__{name}" for name in ("username", "first_name", "last_name")),
    *(f"signed_plan__{name}" for name in ("workup", "plan_json", "signed_at", "signed_by", "decisions", "comment")),
    *(f"signed_plan__signed_by__{name}" for name in ("username", "first_name", "last_name")),
)


class Workup(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="workups")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    status = models.CharField(max_length=20, choices=Status, default=Status.DRAFT, db_index=True)
    version = models.PositiveIntegerField(default=1)
    # Per step: {"episode": {"version": 3, "editor": "<tab token>", "user": 12}}. A step save names the step
    # version its page showed and its tab's token; a save from another tab or person since then is a conflict,
    # while the tab's own earlier (auto)saves are not. Saving different steps at once never conflicts.
    step_meta = models.JSONField(default=dict, blank=True)
    # Validated answers per step: {"episode": {...}, "redflags": {...}, ...} (JSON-safe values only).
    answers = models.JSONField(default=dict, blank=True)
    # What was typed but not yet valid, per step (autosave): nothing a nurse typed is ever lost.
    drafts = models.JSONField(default=dict, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The latest plan made from the answers ("Make care plan"); signed plans are frozen in SignedPlan.
    case_json = models.JSONField(null=True, blank=True)
    plan_json = models.JSONField(null=True, blank=True)
    plan_made_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    revises = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="revisions",
        help_text="The signed workup this one changes (a new version; the old one stays as signed).",
    )
    # A nephrologist's "return to nurse" (awaiting review -> draft): what should change, by whom, when.
    return_comment = models.TextField(blank=True)
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    returned_at = models.DateTimeField(null=True, blank=True)
    # Denormalised numbers for the patient's trend chart (filled when a plan is made).
    severity = models.PositiveSmallIntegerField(null=True, blank=True)
    uf_rate_ml_kg_h = models.FloatField(null=True, blank=True)
    idwg_percent = models.FloatField(null=True, blank=True)

    objects = WorkupQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["patient", "-created_at"], name="workup_patient_created")]

    def __str__(self) -> str:
        return f"Workup {self.public_id} ({self.get_status_display()})"

    @property
    def is_signed(self) -> bool:
        return self.status == Status.SIGNED

    def step_version(self, slug: str) -> int:
        return int(self.step_meta.get(slug, {}).get("version", 0))

    @property
    def is_editable(self) -> bool:
        return self.status != Status.SIGNED

    def current_plan(self) -> tuple[dict[str, Any] | None, SignedPlan | None]:
        """The plan to show or print, and the signed snapshot it comes from: a signed workup shows exactly what
        was signed; otherwise the latest plan made from the answers (None if none was made yet)."""
        signed: SignedPlan | None = getattr(self, "signed_plan", None) if self.is_signed else None
        return (signed.plan_json if signed is not None else self.plan_json), signed


class AckReason(models.TextChoices):
    ESCALATED = "escalated_now", "I have called the physician / started the emergency protocol"
    ALREADY_MANAGED = "already_managed", "The physician already knows and is managing it"
    ENTERED_IN_ERROR = "entered_in_error", "An answer was wrong: I will correct it"


class Acknowledgement(models.Model):
    """A nurse's acknowledgement of an emergency red flag, with the coded reason she gave for continuing."""

    workup = models.ForeignKey(Workup, on_delete=models.CASCADE, related_name="acknowledgements")
    code = models.CharField(max_length=64)
    reason = models.CharField(max_length=32, choices=AckReason)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.code} acknowledged ({self.reason})"


class SignedPlanQuerySet(models.QuerySet["SignedPlan"]):
    def update(self, **kwargs: Any) -> int:
        raise ImmutableError("A signed plan cannot be changed; revise the workup to make a new version.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableError("A signed plan cannot be deleted.")


class SignedPlan(models.Model):
    """The immutable snapshot a nephrologist signed: engine input, output and knowledge version."""

    workup = models.OneToOneField(Workup, on_delete=models.PROTECT, related_name="signed_plan")
    case_json = models.JSONField()
    plan_json = models.JSONField()
    knowledge_version = models.CharField(max_length=32)
    knowledge_hash = models.CharField(max_length=80, blank=True)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Set before the row is written (not auto_now_add) so the PDFs rendered at signing print the same time.
    signed_at = models.DateTimeField(default=timezone.now, editable=False)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The nephrologist's decision per nephrologist-scope action and drug option:
    # {"<action code>": {"decision": "accepted" | "declined", "note": "..."}}. Empty for plans signed before
    # decisions existed (every recommendation then counts as accepted, as it did).
    decisions = models.JSONField(default=dict, blank=True)
    comment = models.TextField(blank=True)
    # The PDFs rendered once at signing, in the unit's default paper size (served as stored bytes; other paper
    # sizes and plans signed before this existed are rendered on demand). Immutable like the rest of the row.
    pdf_paper = models.CharField(max_length=10, blank=True)
    plan_pdf = models.BinaryField(null=True, blank=True, editable=False)
    handout_pdf = models.BinaryField(null=True, blank=True, editable=False)

    objects = SignedPlanQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Signed plan for {self.workup.public_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ImmutableError("A signed plan cannot be changed; revise the workup to make a new version.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ImmutableError("A signed plan cannot be deleted.")
