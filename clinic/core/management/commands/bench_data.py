"""Load a large synthetic dataset for `make bench` into an EMPTY throwaway database, fast (bulk inserts).

    python manage.py bench_data --manifest /tmp/manifest.json [--units 5 --patients 2000 --workups 20000]

Refuses to run unless the database looks like the bench's throwaway PostgreSQL (started by .ci/with-postgres
on a loopback address, with no patients in it yet); ``--force`` overrides that (never on a real database: it
creates users with a known password). Workup answers are produced by the wizard's own step forms, and every
workup with a plan has ``case_json``/``plan_json`` made by the engine, exactly as "Make care plan" does.
The manifest (JSON) lists the bench users, their units' patient and workup ids and an API token.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from clinic.accounts.models import LabUnitSystem, Membership, Role, Unit, User
from clinic.api.models import ApiToken
from clinic.core.bench_answers import answer_variants, fit_weights
from clinic.core.management.commands.load_demo import (
    CONDITION_POOL,
    FAMILY,
    GIVEN,
    LAB_PLAN,
    MEDICATION_POOL,
    US_FACTOR,
)
from clinic.engine import CaseError, evaluate, load_knowledge, plan_to_dict
from clinic.engine.units import to_si
from clinic.patients.models import LabResult, LabSource, Patient
from clinic.workups.case import build_case
from clinic.workups.decisions import decision_items
from clinic.workups.lifecycle import attach_pdfs
from clinic.workups.models import SignedPlan, Status, Workup

BENCH_PASSWORD = "chairside-bench-only"
LAB_MONTHS = 6
VARIANTS = 48
NURSES_PER_UNIT = 4
SIGNED_PDFS_PER_UNIT = 4  # each is two renders at load time; the journey only reads them


def _is_throwaway() -> tuple[bool, str]:
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        return False, "the bench needs PostgreSQL"
    if db.get("HOST") not in {"127.0.0.1", "localhost", "::1"}:
        return False, f"database host {db.get('HOST')!r} is not loopback"
    if not os.environ.get("CHAIRSIDE_PG_BINDIR"):
        return False, "the database was not started by .ci/with-postgres"
    if Patient.objects.exists() or User.objects.exists():
        return False, "the database already holds users or patients"
    return True, ""


class Command(BaseCommand):
    help = "Load the large synthetic dataset for `make bench` into an empty throwaway PostgreSQL database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--units", type=int, default=5)
        parser.add_argument("--patients", type=int, default=2000)
        parser.add_argument("--workups", type=int, default=20000)
        parser.add_argument("--manifest", required=True, help="write the bench manifest (JSON) here")
        parser.add_argument("--force", action="store_true", help="load even if the database is not a throwaway")

    def handle(self, *args: Any, **options: Any) -> None:
        ok, why = _is_throwaway()
        if not ok and not options["force"]:
            raise CommandError(f"Refusing to load bench data: {why}. Use --force on a disposable database only.")
        started = time.perf_counter()
        # Server-side parameter binding: psycopg then sends the large JSON values as they are instead of quoting
        # them into the SQL text in Python (which was half the load time).
        connection.close()
        connection.settings_dict["OPTIONS"] = {**connection.settings_dict["OPTIONS"], "server_side_binding": True}
        field = Workup._meta.get_field("created_at")
        field.auto_now_add = False  # keep the spread-out creation times given below
        try:
            with transaction.atomic():
                manifest = self._load(options["units"], options["patients"], options["workups"])
        finally:
            field.auto_now_add = True
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")  # as a live database would be; autovacuum would otherwise run mid-bench
        manifest["load_seconds"] = round(time.perf_counter() - started, 1)
        Path(options["manifest"]).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        self.stdout.write(
            f"Bench data: {options['units']} units, {options['patients']} patients, {options['workups']} workups, "
            f"{manifest['labs']} lab results in {manifest['load_seconds']} s"
        )

    def _load(self, n_units: int, n_patients: int, n_workups: int) -> dict[str, Any]:
        rng = random.Random(20250607)
        now = timezone.now()
        today = timezone.localdate()
        units = Unit.objects.bulk_create(
            Unit(
                code=f"bench{i}",
                name=f"Bench unit {i}",
                lab_unit_system=LabUnitSystem.US if i % 2 else LabUnitSystem.SI,
            )
            for i in range(n_units)
        )
        password = make_password(BENCH_PASSWORD)
        users = User.objects.bulk_create(
            User(username=f"bench.{role}.{u}.{k}", password=password, first_name="Bench", last_name=f"{role} {k}")
            for u in range(n_units)
            for role, k in [*[("nurse", k) for k in range(NURSES_PER_UNIT)], ("nephro", 0)]
        )
        Membership.objects.bulk_create(
            Membership(
                user=user,
                unit=units[int(user.username.split(".")[2])],
                role=Role.NURSE if ".nurse." in user.username else Role.NEPHROLOGIST,
            )
            for user in users
        )
        patients = Patient.objects.bulk_create(
            [self._patient(rng, units[i % n_units], i, today) for i in range(n_patients)], batch_size=2000
        )
        labs = self._labs(rng, patients, now)
        variants = {system: answer_variants(VARIANTS, system, seed) for seed, system in enumerate(LabUnitSystem.values)}
        nurse_of = {
            unit.pk: [u for u in users if u.username.startswith(f"bench.nurse.{i}.")] for i, unit in enumerate(units)
        }
        nephro_of = {
            unit.pk: next(u for u in users if u.username == f"bench.nephro.{i}.0") for i, unit in enumerate(units)
        }
        per_patient = max(1, n_workups // n_patients)
        workups: list[Workup] = []
        signed: list[tuple[int, Workup]] = []
        for index, patient in enumerate(patients):
            system = patient.unit.lab_unit_system
            count = per_patient + (1 if index < n_workups - per_patient * n_patients else 0)
            for k in range(count):
                created = now - dt.timedelta(days=14 * (count - 1 - k) + rng.randint(0, 3), hours=rng.randint(0, 8))
                nurse = rng.choice(nurse_of[patient.unit_id])
                answers = fit_weights(rng.choice(variants[system]), patient.dry_weight_kg)
                latest = k == count - 1
                workup = Workup(
                    patient=patient,
                    created_by=nurse,
                    updated_by=nurse,
                    created_at=created,
                    answers=answers if not latest else {s: answers[s] for s in ("episode", "redflags")},
                )
                if not latest:  # every earlier workup has its care plan made; 1 in 3 is signed
                    case = build_case(patient, answers, created.date())
                    try:
                        plan = evaluate(case)
                    except CaseError as exc:
                        raise CommandError(f"bench case invalid: {exc.errors}") from exc
                    workup.case_json = case
                    workup.plan_json = plan_to_dict(plan)
                    workup.plan_made_at = created
                    workup.severity = answers["episode"].get("severity_0_10")
                    workup.uf_rate_ml_kg_h = plan.derived.uf_rate_ml_kg_h
                    workup.idwg_percent = plan.derived.idwg_percent
                    workup.status = [Status.DRAFT, Status.AWAITING_REVIEW, Status.SIGNED][k % 3]
                    if workup.status != Status.DRAFT:
                        workup.submitted_by, workup.submitted_at = nurse, created
                    if workup.status == Status.SIGNED:
                        signed.append((len(workups), workup))
                workups.append(workup)
        Workup.objects.bulk_create(workups, batch_size=1000)
        knowledge = load_knowledge()
        snapshots = [
            SignedPlan(
                workup=w,
                case_json=w.case_json,
                plan_json=w.plan_json,
                knowledge_version=knowledge.version,
                knowledge_hash=knowledge.content_hash,
                signed_by=nephro_of[w.patient.unit_id],
                submitted_by=w.submitted_by,
                decisions={item.code: {"decision": "accepted", "note": ""} for item in decision_items(w.plan_json)},
            )
            for _, w in signed
        ]
        # Signing renders the PDFs once and stores them (lifecycle.sign); do it for the first signed plans of
        # each unit, for the signed-PDF journey (rendering all of them would take minutes).
        stored_pdfs: dict[int, list[str]] = {u.pk: [] for u in units}
        for snapshot in snapshots:
            unit_pdfs = stored_pdfs[snapshot.workup.patient.unit_id]
            if len(unit_pdfs) < SIGNED_PDFS_PER_UNIT:
                attach_pdfs(snapshot.workup, snapshot)
                unit_pdfs.append(str(snapshot.workup.public_id))
        SignedPlan.objects.bulk_create(snapshots, batch_size=200)
        token_user = users[0]
        _, token = ApiToken.issue(token_user, name="bench")
        by_unit: dict[int, dict[str, list[str]]] = {u.pk: {"patients": [], "plans": [], "drafts": []} for u in units}
        for patient in patients:
            by_unit[patient.unit_id]["patients"].append(str(patient.public_id))
        for workup in workups:
            key = "plans" if workup.plan_json is not None else "drafts"
            by_unit[workup.patient.unit_id][key].append(str(workup.public_id))
        return {
            "password": BENCH_PASSWORD,
            "api_token": token,
            "labs": labs,
            "units": [
                {
                    "code": unit.code,
                    "nurses": [u.username for u in nurse_of[unit.pk]],
                    "nephrologist": nephro_of[unit.pk].username,
                    **by_unit[unit.pk],
                    "signed_pdfs": stored_pdfs[unit.pk],
                }
                for unit in units
            ],
            "counts": {
                "units": len(units),
                "users": len(users),
                "patients": len(patients),
                "workups": len(workups),
                "signed": len(signed),
                "labs": labs,
            },
        }

    def _patient(self, rng: random.Random, unit: Unit, i: int, today: dt.date) -> Patient:
        given, sex = GIVEN[i % len(GIVEN)]
        vintage = rng.uniform(1.0, 15)  # years; >= 1 so the sessions fit the time on dialysis at every workup date
        return Patient(
            unit=unit,
            mrn=f"B{i:06d}",
            family_name=f"{FAMILY[i % len(FAMILY)]}{i // len(FAMILY):03d}",
            given_name=given,
            sex=sex,
            date_of_birth=today - dt.timedelta(days=int(rng.uniform(30, 88) * 365.25)),
            dialysis_started=today - dt.timedelta(days=int(vintage * 365.25)),
            sessions_completed=max(1, int(vintage * 156)),
            dry_weight_kg=Decimal(str(round(rng.uniform(48, 105), 1))),
            diabetes=rng.random() < 0.45,
            hepatic_impairment="none",
            access=rng.choice(["fistula", "fistula", "graft", "catheter"]),
            residual_urine_ml_per_day=rng.choice([0, 0, 100, None]),
            conditions=sorted(rng.sample(CONDITION_POOL, rng.choice([0, 1, 2]))),
            medications=sorted(rng.sample(MEDICATION_POOL, rng.randint(1, 4))),
        )

    def _labs(self, rng: random.Random, patients: list[Patient], now: dt.datetime) -> int:
        batch: list[LabResult] = []
        total = 0
        for patient in patients:
            use_us = patient.unit.lab_unit_system == LabUnitSystem.US
            for month in range(LAB_MONTHS):
                taken_at = now - dt.timedelta(days=30 * month + rng.randint(0, 4))
                for analyte, si_unit, us_unit, mean, spread in LAB_PLAN:
                    value_si = max(rng.gauss(mean, spread), mean / 3)
                    value = value_si / US_FACTOR[analyte] if use_us else value_si
                    unit = us_unit if use_us else si_unit
                    rounded = Decimal(str(round(value, 1 if value >= 20 else 2)))
                    batch.append(
                        LabResult(
                            patient=patient,
                            analyte=analyte,
                            value=rounded,
                            unit=unit,
                            value_si=to_si(analyte, float(rounded), unit),
                            taken_at=taken_at,
                            source=LabSource.DEMO,
                        )
                    )
            if len(batch) >= 10000:
                LabResult.objects.bulk_create(batch)
                total += len(batch)
                batch = []
        LabResult.objects.bulk_create(batch)
        return total + len(batch)
