"""Interoperability records: which FHIR resources were imported (for idempotent re-import) and the CDS Hooks
cards Chairside returned, with the feedback an EHR sent about them (the override log).

Nothing here holds names or free text about a patient except the clinician's optional override comment, which
stays in ``CdsFeedback`` and never reaches the audit trail.
"""

from __future__ import annotations

from django.db import models


class LinkRole(models.TextChoices):
    PATIENT = "patient", "Patient identity"
    DIALYSIS = "dialysis", "Dialysis session"
    MEDICATION = "medication", "Medicine order or statement"
    CONDITION = "condition", "Condition"


class FhirLink(models.Model):
    """One FHIR resource that an import has already applied to a patient (so a re-import adds nothing twice)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="fhir_links")
    resource_type = models.CharField(max_length=40)
    resource_id = models.CharField(max_length=200)
    role = models.CharField(max_length=20, choices=LinkRole)
    # For dialysis sessions: when it was performed (earliest one = dialysis start).
    performed_on = models.DateField(null=True, blank=True)
    # For medicines and conditions: the Chairside code the resource gave, and whether it was current (active) at
    # the last import, so a later "stopped" or "resolved" version of the same resource can be applied.
    code = models.CharField(max_length=64, blank=True)
    current = models.BooleanField(default=True)
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "resource_type", "resource_id"], name="fhir_link_unique")
        ]
        indexes = [models.Index(fields=["resource_type", "resource_id"], name="fhir_link_lookup")]

    def __str__(self) -> str:
        return f"{self.resource_type}/{self.resource_id} ({self.role})"


class CdsCard(models.Model):
    """A card Chairside returned to a CDS client. ``patient_key`` is a hash of issuer + EHR patient id."""

    uuid = models.UUIDField(unique=True)
    service_id = models.CharField(max_length=64)
    hook_instance = models.CharField(max_length=100)
    issuer = models.CharField(max_length=300)
    patient_key = models.CharField(max_length=64, db_index=True)
    # A hash of issuer + the EHR user (context.userId): repeats are held back per user, never across users.
    user_key = models.CharField(max_length=64, blank=True)
    # When the response carrying the card was written to the EHR's connection; until then it does not count as
    # shown, so an answer the EHR never received does not hold the card back from the next call.
    delivered_at = models.DateTimeField(null=True, blank=True)
    card_key = models.CharField(max_length=120, help_text="What the card is about, e.g. drug.baclofen.")
    indicator = models.CharField(max_length=10)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["patient_key", "card_key", "-created_at"], name="cds_card_dedup")]

    def __str__(self) -> str:
        return f"{self.service_id} {self.card_key} ({self.indicator})"


class Outcome(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    OVERRIDDEN = "overridden", "Overridden"


class CdsFeedback(models.Model):
    card = models.ForeignKey(CdsCard, null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback")
    card_uuid = models.CharField(max_length=100)
    service_id = models.CharField(max_length=64)
    issuer = models.CharField(max_length=300)
    outcome = models.CharField(max_length=12, choices=Outcome)
    accepted_suggestions = models.JSONField(default=list, blank=True)
    override_system = models.CharField(max_length=300, blank=True)
    override_code = models.CharField(max_length=100, blank=True)
    user_comment = models.CharField(max_length=500, blank=True)
    outcome_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.card_uuid} {self.outcome}"


class SeenJwt(models.Model):
    """JWT ids already used by a CDS client, kept until they expire: a replayed token is refused."""

    issuer = models.CharField(max_length=300)
    jti = models.CharField(max_length=200)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "jti"], name="seen_jwt_unique")]

    def __str__(self) -> str:
        return f"{self.issuer} {self.jti}"
