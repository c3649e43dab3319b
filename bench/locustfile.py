"""Locust journeys for `make bench` (run by bench/run.py, one journey class per headless run).

Each simulated user is a logged-in member of staff (the session cookies come from real form logins done by
run.py, so PBKDF2 sign-in cost is not mixed into the page timings) working in their own unit, with no think
time: 20 users keep the two gunicorn workers saturated, so throughput is the server's limit and latency is what
a nurse would see at that load. Every answer that is not the expected status counts as an error.

Environment: CHAIRSIDE_BENCH_MANIFEST (from run.py) and CHAIRSIDE_BENCH_OUT (this run's result JSON).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from locust import FastHttpUser, constant, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import TYPICAL

MANIFEST: dict[str, Any] = json.loads(Path(os.environ["CHAIRSIDE_BENCH_MANIFEST"]).read_text(encoding="utf-8"))
SESSIONS: list[dict[str, Any]] = MANIFEST["sessions"]  # one per bench nurse: cookies and unit index
_slots = itertools.count()
STATUS: Counter[tuple[str, int]] = Counter()

EPISODE = {
    "timing": "during_dialysis",
    "ongoing": "yes",
    "minutes_into_session": "150",
    "sites": ["legs"],
    "kind": "cramp",
    "severity_0_10": "6",
    "episodes_last_4_weeks": "4",
    "duration_weeks": "3",
}
VITALS = {"sbp_pre_mmhg": "148", "sbp_nadir_mmhg": "112", "heart_rate_bpm": "78", "temperature_c": "36.7"}
REDFLAGS = {"chest_pain": "no", "speech_disturbance": "no", "seizure": "no", "confusion": "no"}
AUTOSAVES = [("episode", EPISODE), ("vitals", VITALS), ("redflags", REDFLAGS)]
STEP_SLUGS = ["episode", "redflags", "vitals", "labs", "dialysis", "medications", "review"]


@events.request.add_listener
def _count(name: str, response: Any, exception: Any, **_: Any) -> None:
    status = getattr(response, "status_code", 0) or 0
    STATUS[(name, 0 if exception and not status else status)] += 1


@events.test_stop.add_listener
def _write(environment: Any, **_: Any) -> None:
    out = os.environ.get("CHAIRSIDE_BENCH_OUT")
    if not out:
        return
    from locust.stats import StatsEntry

    # A journey may mix methods under one name (the patient list GETs pages and POSTs searches): locust keeps
    # one entry per (name, method), so merge them or the journey's throughput is under-reported.
    merged: dict[str, Any] = {}
    for entry in environment.stats.entries.values():
        if entry.name not in merged:
            merged[entry.name] = StatsEntry(environment.stats, entry.name, "ALL", use_response_times_cache=False)
        merged[entry.name].extend(entry)
    result = {}
    for entry in merged.values():
        statuses = {str(code): n for (name, code), n in STATUS.items() if name == entry.name}
        errors = sum(n for (name, code), n in STATUS.items() if name == entry.name and not 200 <= code < 400)
        result[entry.name] = {
            "requests": entry.num_requests,
            "rps": round(entry.total_rps, 1),
            "p50_ms": entry.get_response_time_percentile(0.50),
            "p95_ms": entry.get_response_time_percentile(0.95),
            "p99_ms": entry.get_response_time_percentile(0.99),
            "mean_ms": round(entry.avg_response_time, 1),
            "errors": errors,
            "failures": entry.num_failures,
            "statuses": statuses,
        }
    Path(out).write_text(json.dumps(result, indent=1), encoding="utf-8")


class Staff(FastHttpUser):
    """A logged-in nurse of one bench unit (sessions are handed out round robin)."""

    abstract = True
    wait_time = constant(0)

    def on_start(self) -> None:
        slot = next(_slots)
        session = SESSIONS[slot % len(SESSIONS)]
        self.unit = MANIFEST["units"][session["unit"]]
        self.cookie = "; ".join(f"{k}={v}" for k, v in session["cookies"].items())
        self.csrf = session["cookies"].get("csrftoken", "")
        self.rng = random.Random(slot)
        self.slot = slot

    def get(self, url: str, name: str, expect: int = 200) -> None:
        with self.client.get(
            url, name=name, headers={"Cookie": self.cookie}, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != expect:
                response.failure(f"status {response.status_code}")

    def post(self, url: str, name: str, data: dict[str, Any], headers: dict[str, str], expect: int = 200) -> None:
        from urllib.parse import urlencode

        body = urlencode(data, doseq=True)
        all_headers = {
            "Cookie": self.cookie,
            "X-CSRFToken": self.csrf,
            "Referer": self.host + url,
            "Content-Type": "application/x-www-form-urlencoded",
            **headers,
        }
        with self.client.post(
            url, name=name, data=body, headers=all_headers, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != expect:
                response.failure(f"status {response.status_code}: {response.text[:200] if response.text else ''}")


class Healthz(FastHttpUser):
    """Baseline: a bare request with one database round trip."""

    wait_time = constant(0)

    @task
    def healthz(self) -> None:
        with self.client.get("/healthz", name="healthz", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")


class SignedInHealthz(Staff):
    """The floor of any signed-in request: /healthz with a nurse's session, so the session is read, the user is
    loaded with the memberships and every middleware runs, but no page is built. The signed PDF is compared
    with it (docs/performance.md)."""

    @task
    def signed_in_healthz(self) -> None:
        self.get("/healthz", "signed_in_healthz")


class PatientList(Staff):
    @task
    def patient_list(self) -> None:
        pages = len(self.unit["patients"]) // 25
        choice = self.rng.random()
        if choice < 0.5:
            url = "/patients/"
        elif choice < 0.8:
            url = f"/patients/?page={self.rng.randint(2, pages)}"
        else:  # searches are POSTed so names never reach URLs
            query = self.rng.choice(["Adeyemi", "Patel", "Rossi0", "B0001", "Mary"])
            self.post("/patients/", "patient_list", {"q": query}, {})
            return
        self.get(url, "patient_list")


class PatientPage(Staff):
    @task
    def patient_page(self) -> None:
        self.get(f"/patients/{self.rng.choice(self.unit['patients'])}/", "patient_page")


class WizardStepGet(Staff):
    @task
    def wizard_step_get(self) -> None:
        workup = self.rng.choice(self.unit["drafts"])
        self.get(f"/workups/{workup}/steps/{self.rng.choice(STEP_SLUGS)}/", "wizard_step_get")


class WizardStepPost(Staff):
    """htmx autosave of valid answers, each user on its own draft workups (as one nurse per chair)."""

    def on_start(self) -> None:
        super().on_start()
        drafts = self.unit["drafts"]
        per_user = 8
        session = SESSIONS[self.slot % len(SESSIONS)]
        # Users never share a workup: the n-th nurse of a unit takes the n-th slice of its draft workups.
        start = (session["index"] + session["per_unit"] * (self.slot // len(SESSIONS))) * per_user
        self.workups = drafts[start : start + per_user]
        self.editor = uuid.uuid4().hex

    @task
    def wizard_step_post(self) -> None:
        slug, data = self.rng.choice(AUTOSAVES)
        workup = self.rng.choice(self.workups)
        self.post(
            f"/workups/{workup}/steps/{slug}/autosave/",
            "wizard_step_post",
            {**data, "step_version": "0", "editor": self.editor},
            {"HX-Request": "true"},
        )


class CarePlan(Staff):
    @task
    def care_plan(self) -> None:
        self.get(f"/workups/{self.rng.choice(self.unit['plans'])}/plan/", "care_plan")


class PlanPdf(Staff):
    @task
    def plan_pdf(self) -> None:
        self.get(f"/workups/{self.rng.choice(self.unit['plans'])}/plan.pdf", "plan_pdf")


class SignedPdf(Staff):
    """A signed plan's PDF (plan or handout, the unit's paper): stored at signing, so serving it is a read."""

    @task
    def signed_pdf(self) -> None:
        workup = self.rng.choice(self.unit["signed_pdfs"])
        self.get(f"/workups/{workup}/plan.pdf?kind={self.rng.choice(['plan', 'handout'])}", "signed_pdf")


class ApiEvaluate(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.body = json.dumps(TYPICAL)
        self.headers = {"Authorization": f"Bearer {MANIFEST['api_token']}", "Content-Type": "application/json"}

    @task
    def api_evaluate(self) -> None:
        with self.client.post(
            "/api/v1/evaluate", name="api_evaluate", data=self.body, headers=self.headers, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
