"""Dialysis units, staff users and their role in each unit."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Prefetch, prefetch_related_objects

if TYPE_CHECKING:
    from django.db.models import QuerySet


# Where the Prefetch below puts a user's memberships (Prefetch's to_attr: a plain list on the user object).
MEMBERSHIPS_ATTR = "unit_memberships"


class Role(models.TextChoices):
    NURSE = "nurse", "Nurse"
    NEPHROLOGIST = "nephrologist", "Nephrologist"
    UNIT_ADMIN = "unit_admin", "Unit admin"


class LabUnitSystem(models.TextChoices):
    SI = "SI", "SI (mmol/L)"
    US = "US", "US conventional (mg/dL)"


class Locale(models.TextChoices):
    EN_GB = "en-GB", "English (UK): A4 paper"
    EN_US = "en-US", "English (US): US Letter paper"


class Unit(models.Model):
    """A dialysis unit. Every patient belongs to exactly one; staff see only their units' patients."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    code = models.SlugField(max_length=32, unique=True, help_text="Short code used on the command line, e.g. 'north'.")
    name = models.CharField(max_length=120)
    lab_unit_system = models.CharField(
        max_length=2, choices=LabUnitSystem, default=LabUnitSystem.SI, help_text="Default units for lab entry."
    )
    lab_fresh_days = models.PositiveSmallIntegerField(
        "lab results current for (days)",
        default=35,
        help_text="Results older than this are shown as stale in a workup and not offered with 'Use all'. "
        "Routine haemodialysis bloods are monthly.",
    )
    # Printed on every patient handout (edited by the unit's admins on the staff screen).
    phone = models.CharField("unit phone number", max_length=40, blank=True)
    hours = models.CharField("opening hours", max_length=120, blank=True, help_text="For example: Mon–Sat 7am–9pm.")
    locale = models.CharField(
        max_length=5, choices=Locale, default=Locale.EN_GB, help_text="Handout wording and default paper size."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def default_paper(self) -> str:
        return "letter" if self.locale == Locale.EN_US else "a4"


class User(AbstractUser):
    """A member of staff. Access to patients comes only through unit memberships."""

    def units(self) -> QuerySet[Unit]:
        return Unit.objects.filter(memberships__user=self)

    def role_in(self, unit: Unit | int) -> str | None:
        unit_id = unit if isinstance(unit, int) else unit.pk
        for membership in self.cached_memberships():
            if membership.unit_id == unit_id:
                return membership.role
        return None

    def cached_memberships(self) -> list[Membership]:
        """The user's memberships with their units, loaded once per user object: by the authentication backend's
        query on every request (clinic/accounts/backends.py: a revoked membership counts at the next request), or here
        on first use."""
        if not hasattr(self, MEMBERSHIPS_ATTR):
            prefetch_related_objects([self], memberships_prefetch())
        return getattr(self, MEMBERSHIPS_ATTR)

    def unit_ids(self) -> list[int]:
        return [m.unit_id for m in self.cached_memberships()]

    def primary_role(self) -> str | None:
        """The most senior role the user holds anywhere (used for wording and navigation only, never for access)."""
        order = [Role.UNIT_ADMIN, Role.NEPHROLOGIST, Role.NURSE]
        roles = {m.role for m in self.cached_memberships()}
        return next((role.value for role in order if role in roles), None)


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "unit"], name="one_role_per_unit")]
        ordering = ["unit__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} in {self.unit}"


def memberships_queryset() -> QuerySet[Membership]:
    """Memberships with their units, in the order ``User.cached_memberships`` lists them."""
    return Membership.objects.select_related("unit").order_by("unit__name")  # no join to the user for ordering


def memberships_prefetch() -> Prefetch:
    """A user's memberships with their units, for ``prefetch_related`` (see ``User.cached_memberships``)."""
    return Prefetch("memberships", queryset=memberships_queryset(), to_attr=MEMBERSHIPS_ATTR)
