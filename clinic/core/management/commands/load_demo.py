"""Load demonstration units, staff and patients. Safe to run again: nothing is duplicated."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from clinic.accounts.models import LabUnitSystem, Membership, Role, Unit, User
from clinic.engine.units import to_si
from clinic.patients.models import LabResult, LabSource, Patient

DEMO_PASSWORD = "chairside-demo"
UNITS = [("north", "Unit A (North)", LabUnitSystem.SI), ("south", "Unit B (South)", LabUnitSystem.US)]
USERS = [
    ("nurse.a", "Amara", "Okafor", [("north", Role.NURSE)]),
    ("nephro.a", "Lukas", "Brandt", [("north", Role.NEPHROLOGIST)]),
    ("nurse.b", "Mei", "Tanaka", [("south", Role.NURSE)]),
    ("admin", "Priya", "Raman", [("north", Role.UNIT_ADMIN), ("south", Role.UNIT_ADMIN)]),
]
GIVEN = [  # (given name, sex)
    ("Margaret", "female"),
    ("Joseph", "male"),
    ("Aisha", "female"),
    ("Tomasz", "male"),
    ("Grace", "female"),
    ("Samuel", "male"),
    ("Fatima", "female"),
    ("Henry", "male"),
    ("Rosa", "female"),
    ("Kwame", "male"),
    ("Elena", "female"),
    ("David", "male"),
    ("Nadia", "female"),
    ("Arthur", "male"),
    ("Sunita", "female"),
    ("Patrick", "male"),
    ("Ingrid", "female"),
    ("Omar", "male"),
    ("Beatriz", "female"),
    ("Walter", "male"),
    ("Yuki", "female"),
    ("Luis", "male"),
    ("Florence", "female"),
    ("Ibrahim", "male"),
    ("Dorothy", "female"),
    ("Chen", "male"),
    ("Mary", "female"),
    ("Emeka", "male"),
    ("Agnes", "female"),
    ("Rajesh", "male"),
    ("Olga", "female"),
    ("Alex", "other"),
]
FAMILY = [
    "Adeyemi",
    "Kowalski",
    "Hughes",
    "Nguyen",
    "Fernandes",
    "O'Brien",
    "Haddad",
    "Lindqvist",
    "Mensah",
    "Patel",
    "Rossi",
    "Schmidt",
    "Murray",
    "Khan",
    "Dubois",
    "Evans",
    "Moreno",
    "Takahashi",
    "Clarke",
    "Ivanova",
    "Abubakar",
    "Walsh",
    "Jensen",
    "Gordon",
    "Silva",
    "Baker",
    "Novak",
    "Reid",
    "Costa",
    "Ward",
    "Bose",
    "Fischer",
]
CONDITION_POOL = [
    "heart_failure",
    "heart_block",
    "arrhythmia",
    "recent_myocardial_infarction",
    "glaucoma",
    "supine_hypertension",
    "parathyroidectomy_recent",
    "stroke",
    "urinary_retention",
]
MEDICATION_POOL = [
    "sevelamer",
    "calcium_acetate",
    "lanthanum",
    "cinacalcet",
    "statin",
    "warfarin",
    "antiplatelet",
    "insulin",
    "sulfonylurea",
    "ssri_or_snri",
    "opioid",
    "midodrine",
    "vitamin_e",
    "levocarnitine",
    "metoclopramide",
    "diuretic",
]
# (analyte, SI unit, US unit, SI mean, SI spread)
LAB_PLAN = [
    ("magnesium", "mmol/L", "mg/dL", 0.85, 0.18),
    ("potassium", "mmol/L", "mEq/L", 5.0, 0.6),
    ("calcium_ionised", "mmol/L", "mg/dL", 1.15, 0.08),
    ("calcium_total", "mmol/L", "mg/dL", 2.25, 0.15),
    ("albumin", "g/L", "g/dL", 37.0, 3.5),
    ("sodium", "mmol/L", "mEq/L", 138.0, 3.0),
    ("phosphate", "mmol/L", "mg/dL", 1.6, 0.35),
    ("bicarbonate", "mmol/L", "mEq/L", 23.0, 2.0),
]
# Inverse of the SI factor for the US units used above (value_us = value_si / factor).
US_FACTOR = {
    "magnesium": 0.41144,
    "calcium_ionised": 0.24951,
    "calcium_total": 0.24951,
    "albumin": 10.0,
    "phosphate": 0.32285,
    "potassium": 1.0,
    "sodium": 1.0,
    "bicarbonate": 1.0,
}
PATIENTS_PER_UNIT = 24
LAB_MONTHS = 4


class Command(BaseCommand):
    help = "Load demo units, users (password 'chairside-demo') and patients with lab history. Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Allow loading demo data with DEBUG off.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "Refusing to load demo users with known passwords while DEBUG is off. "
                "Use --force on a test system only."
            )
        with transaction.atomic():
            units = self._units()
            self._users(units)
            created_patients, created_labs = 0, 0
            for index, unit in enumerate(units.values()):
                for n in range(PATIENTS_PER_UNIT):
                    patient, created = self._patient(unit, index, n)
                    created_patients += created
                    created_labs += self._labs(patient, unit, n)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {len(units)} units, {len(USERS)} users, "
                f"{created_patients} new patients, {created_labs} new lab results."
            )
        )

    def _units(self) -> dict[str, Unit]:
        units = {}
        for code, name, system in UNITS:
            unit, _ = Unit.objects.get_or_create(code=code, defaults={"name": name, "lab_unit_system": system})
            units[code] = unit
        return units

    def _users(self, units: dict[str, Unit]) -> None:
        for username, first, last, roles in USERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last}
            )
            if created or not user.has_usable_password():
                user.set_password(DEMO_PASSWORD)
                user.is_staff = username == "admin"
                user.is_superuser = username == "admin"
                user.save()
            for unit_code, role in roles:
                Membership.objects.update_or_create(user=user, unit=units[unit_code], defaults={"role": role})

    def _patient(self, unit: Unit, unit_index: int, n: int) -> tuple[Patient, bool]:
        rng = random.Random(f"{unit.code}-{n}")
        today = timezone.localdate()
        mrn = f"{'AN' if unit_index == 0 else 'BS'}{100200 + n * 7}"
        vintage_years = [0.02, 0.5, 1, 2, 3, 4, 6, 8, 11, 13, 15, 17, 20][n % 13] + rng.random() * 0.5
        age = max(rng.randint(34, 88), int(vintage_years) + 25)
        medications = sorted(set(rng.sample(MEDICATION_POOL, rng.randint(1, 4))))
        # Cases the workup must catch: baclofen, gabapentinoids and aluminium binders in some patients.
        if n % 6 == 1:
            medications.append("baclofen")
        if n % 5 == 2:
            medications.append("gabapentin")
        if n % 8 == 3:
            medications.append("aluminium_hydroxide")
        conditions = sorted(set(rng.sample(CONDITION_POOL, rng.choice([0, 0, 1, 1, 2]))))
        given_name, sex = GIVEN[(n * 5 + unit_index * 3) % len(GIVEN)]
        defaults = {
            "given_name": given_name,
            "family_name": FAMILY[(n * 7 + unit_index * 11) % len(FAMILY)],
            "date_of_birth": today - dt.timedelta(days=int(age * 365.25) + rng.randint(0, 300)),
            "sex": sex,
            "dialysis_started": today - dt.timedelta(days=int(vintage_years * 365.25)),
            "sessions_completed": max(1, int(vintage_years * 156)),
            "dry_weight_kg": Decimal(str(round(rng.uniform(48, 105), 1))),
            "diabetes": rng.random() < 0.45,
            "hepatic_impairment": rng.choice(["none", "none", "none", "mild", ""]),
            "access": rng.choice(["fistula", "fistula", "graft", "catheter"]),
            "residual_urine_ml_per_day": rng.choice([0, 0, 0, 100, 300, None]),
            "conditions": conditions,
            "medications": sorted(set(medications)),
        }
        return Patient.objects.get_or_create(unit=unit, mrn=mrn, defaults=defaults)

    def _labs(self, patient: Patient, unit: Unit, n: int) -> int:
        if patient.lab_results.filter(source=LabSource.DEMO).exists():
            return 0
        rng = random.Random(f"labs-{patient.mrn}")
        now = timezone.now().replace(hour=7, minute=30, second=0, microsecond=0)
        results = []
        for month in range(LAB_MONTHS):
            taken_at = now - dt.timedelta(days=30 * month + rng.randint(0, 4))
            for analyte, si_unit, us_unit, mean, spread in LAB_PLAN:
                if rng.random() < 0.1:
                    continue  # not every test every month
                value_si = rng.gauss(mean, spread)
                if analyte == "magnesium" and n % 4 == 0:
                    value_si = rng.uniform(0.5, 0.68)  # a few low-magnesium crampers
                # Mixed units: the unit's own system, with occasional results reported the other way.
                use_us = (unit.lab_unit_system == LabUnitSystem.US) != (rng.random() < 0.15)
                unit_name = us_unit if use_us else si_unit
                value = value_si / US_FACTOR[analyte] if use_us else value_si
                results.append(self._lab(patient, analyte, value, unit_name, taken_at, month))
            if "aluminium_hydroxide" in patient.medications and month in (0, 3):
                results.append(self._lab(patient, "aluminium", rng.uniform(15, 80), "µg/L", taken_at, month))
        LabResult.objects.bulk_create(results, ignore_conflicts=True)
        return len(results)

    def _lab(
        self, patient: Patient, analyte: str, value: float, unit: str, taken_at: dt.datetime, month: int
    ) -> LabResult:
        rounded = Decimal(str(round(value, 1 if value >= 20 else 2)))
        return LabResult(
            patient=patient,
            analyte=analyte,
            value=rounded,
            unit=unit,
            value_si=to_si(analyte, float(rounded), unit),
            taken_at=taken_at,
            source=LabSource.DEMO,
            source_ref=f"demo-{analyte}-{month}",
        )
