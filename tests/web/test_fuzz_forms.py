"""Property-based tests: every form, through the real views, with valid and invalid input (issue 6: bad input).

For each form, CHAIRSIDE_FUZZ_EXAMPLES (default 500) generated submissions. Properties: never a server error;
a rejected submission (400) names the field(s) at fault; nothing already saved is changed by a rejection; an
accepted submission stores exactly what the form cleaned. Each example runs in a savepoint that is rolled back,
so every example starts from the same saved state.
"""

from __future__ import annotations

from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import SESSION_KEY
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse
from django.utils.datastructures import MultiValueDict
from hypothesis import given
from hypothesis import strategies as st

from clinic.accounts.forms import SignInForm
from clinic.accounts.models import Unit, User
from clinic.patients.forms import LabResultForm, PatientForm
from clinic.patients.models import LabResult, Patient
from clinic.workups import services
from clinic.workups.forms import AcknowledgeForm
from clinic.workups.models import Acknowledgement, AckReason, Workup
from clinic.workups.steps import BY_SLUG
from tests.web.conftest import PASSWORD
from tests.web.fuzz import (
    FUZZ,
    NASTY_NUMBERS,
    assert_named_errors,
    context_form,
    encodings,
    form_data,
    nasty,
    nasty_date,
    no_server_error,
    post_form,
    rolled_back,
)
from tests.web.test_workups import DIALYSIS, EPISODE

pytestmark = pytest.mark.django_db

GOOD_STEPS: dict[str, dict[str, Any]] = {
    "episode": EPISODE,
    "redflags": {"chest_pain": "no", "speech_disturbance": "no", "fever": "no"},
    "vitals": {"sbp_pre_mmhg": "150", "sbp_nadir_mmhg": "120", "heart_rate_bpm": "80"},
    "labs": {
        "magnesium__value": "0.6",
        "magnesium__unit": "mmol/L",
        "magnesium__when": "pre_dialysis",
        "potassium__value": "5.1",
        "potassium__unit": "mmol/L",
    },
    "dialysis": DIALYSIS,
    "medications": {
        "medications": ["sevelamer", "baclofen"],
        "conditions": ["heart_block"],
        "diabetes": "yes",
        "hepatic_impairment": "none",
        "other_medications": "zolpidem",
    },
}
SLUGS = list(GOOD_STEPS)
GOOD_PATIENT = {
    "mrn": "FZ-1",
    "given_name": "Ada",
    "family_name": "Example",
    "date_of_birth": "1955-02-03",
    "sex": "female",
    "dialysis_started": "2016-01-01",
    "sessions_completed": "900",
    "dry_weight_kg": "71.5",
    "diabetes": "yes",
    "hepatic_impairment": "none",
    "access": "fistula",
    "residual_urine_ml_per_day": "200",
    "conditions": ["heart_block"],
    "medications": ["sevelamer"],
    "lab_unit_system": "",
}
GOOD_LAB = {"analyte": "potassium", "value": "5.1", "unit": "mmol/L", "taken_at": "2024-06-01T10:00"}


def step_form(slug: str, workup: Workup, data: Any = None) -> Any:
    kwargs = {"unit_system": workup.patient.effective_lab_units()} if slug == "labs" else {}
    return BY_SLUG[slug].form_class(data, **kwargs)


def as_querydict(data: dict[str, Any]) -> MultiValueDict[str, str]:
    return MultiValueDict({k: v if isinstance(v, list) else [v] for k, v in data.items()})


def versions(current: int) -> st.SearchStrategy[str]:
    """Mostly the version the page was opened at; sometimes stale, from the future, or not a number."""
    right = st.just(str(current))
    return right | right | right | st.sampled_from([str(current - 1), str(current + 1), "", "-1"]) | nasty


@pytest.fixture
def patient(unit_a: Unit, make_patient: Callable[..., Patient]) -> Patient:
    return make_patient(unit_a, medications=["sevelamer", "baclofen"], conditions=["heart_block"])


@pytest.fixture
def nurse(nurse_a: User, client_for: Callable[[User], Client]) -> Client:
    return client_for(nurse_a)


@pytest.fixture
def workup(nurse: Client, patient: Patient) -> Workup:
    """A workup with every step saved once (so there is something a rejected submission could damage)."""
    nurse.post(reverse("workups:start", args=[patient.public_id]))
    workup = Workup.objects.get(patient=patient)
    for slug, data in GOOD_STEPS.items():
        workup.refresh_from_db()
        response = nurse.post(step_url(workup, slug), {**data, "step_version": workup.step_version(slug)})
        assert response.status_code == 302, (slug, response.context and response.context["form"].errors)
    workup.refresh_from_db()
    assert set(SLUGS) <= set(workup.answers)
    return workup


def step_url(workup: Workup, slug: str, autosave: bool = False) -> str:
    name = "workups:autosave" if autosave else "workups:step"
    return reverse(name, kwargs={"public_id": workup.public_id, "slug": slug})


# --- sign in ------------------------------------------------------------------------------------------------


def test_fuzz_login(nurse_a: User) -> None:
    url = reverse("login")
    form = SignInForm()
    targets = st.sampled_from(["/patients/", "https://evil.example/", "//evil.example/x", "/\\evil.example", ""])
    # One client for every example: a new Client builds the middleware again, and WhiteNoise rescans the static
    # files each time (~0.1 s). Each example starts signed out with no cookies.
    client = Client()

    @FUZZ
    @given(
        data=form_data(form, {"username": "nurse.a", "password": PASSWORD}),
        next_url=st.none() | targets | nasty,
        encoding=encodings(),
    )
    def run(data: dict[str, Any], next_url: str | None, encoding: str) -> None:
        if next_url is not None:
            data = {**data, "next": next_url}
        client.cookies = SimpleCookie()
        with rolled_back():
            response = post_form(client, url, data, encoding)
            no_server_error(response)
            if response.status_code == 302:
                assert client.session.get(SESSION_KEY) == str(nurse_a.pk)
                target = urlsplit(response["Location"])
                assert not target.netloc and not target.scheme, f"open redirect to {response['Location']}"
            elif response.status_code == 200:
                assert SESSION_KEY not in client.session
                assert_named_errors(context_form(response))
            else:
                assert response.status_code in {400, 403, 429}, response.status_code
                assert SESSION_KEY not in client.session

    run()


# --- patients -----------------------------------------------------------------------------------------------


def test_fuzz_patient_create(nurse_a: User, unit_a: Unit, unit_b: Unit, nurse: Client) -> None:
    url = reverse("patients:create")
    form = PatientForm(user=nurse_a)
    units = st.sampled_from([str(unit_a.pk), str(unit_a.pk), str(unit_b.pk), "0", "99999999999999999999"])
    before = Patient.objects.count()

    @FUZZ
    @given(
        data=form_data(form, {**GOOD_PATIENT, "unit": str(unit_a.pk)}),
        unit=st.none() | st.none() | units | nasty,
        encoding=encodings(),
    )
    def run(data: dict[str, Any], unit: str | None, encoding: str) -> None:
        if unit is not None:
            data = {**data, "unit": unit}
        with rolled_back():
            response = post_form(nurse, url, data, encoding)
            no_server_error(response)
            if response.status_code == 302:
                created = Patient.objects.order_by("-pk").first()
                assert created is not None and created.unit_id == unit_a.pk, "a patient only in the user's units"
                assert Patient.objects.count() == before + 1
            else:
                assert response.status_code == 400, response.status_code
                assert_named_errors(context_form(response))
                assert Patient.objects.count() == before

    run()


def test_fuzz_patient_edit(nurse_a: User, nurse: Client, patient: Patient) -> None:
    url = reverse("patients:edit", args=[patient.public_id])
    form = PatientForm(instance=patient, user=nurse_a)
    saved = {**model_to_dict(Patient.objects.get(pk=patient.pk)), "updated_at": patient.updated_at}

    @FUZZ
    @given(data=form_data(form, {**GOOD_PATIENT, "mrn": patient.mrn}), encoding=encodings())
    def run(data: dict[str, Any], encoding: str) -> None:
        with rolled_back():
            response = post_form(nurse, url, data, encoding)
            no_server_error(response)
            fresh = Patient.objects.get(pk=patient.pk)
            if response.status_code == 302:
                assert fresh.unit_id == patient.unit_id, "the unit cannot be changed by the edit form"
            else:
                assert response.status_code == 400, response.status_code
                assert_named_errors(context_form(response))
                assert {**model_to_dict(fresh), "updated_at": fresh.updated_at} == saved, "a rejected edit changed"

    run()


def test_fuzz_lab_create(nurse: Client, patient: Patient) -> None:
    url = reverse("patients:lab-create", args=[patient.public_id])
    form = LabResultForm(patient=patient)
    before = LabResult.objects.filter(patient=patient).count()

    @FUZZ
    @given(data=form_data(form, GOOD_LAB), encoding=encodings())
    def run(data: dict[str, Any], encoding: str) -> None:
        with rolled_back():
            response = post_form(nurse, url, data, encoding)
            no_server_error(response)
            count = LabResult.objects.filter(patient=patient).count()
            if response.status_code == 302:
                assert count == before + 1
            else:
                assert response.status_code == 400, response.status_code
                assert_named_errors(context_form(response, "lab_form"))
                assert count == before, "a rejected lab was stored"

    run()


def test_fuzz_patient_search(nurse: Client, patient: Patient) -> None:
    """Searches are POSTed (terms never reach URLs); a page number may also come in the query string. NUL cannot
    reach PostgreSQL: a search holding one is a 400 with a message (200 for htmx, which swaps only 2xx)."""
    url = reverse("patients:list")

    @FUZZ
    @given(
        q=nasty | st.sampled_from(["\x00", "Ex\x00ample", "Example"]),
        page=st.none() | st.sampled_from(NASTY_NUMBERS) | nasty,
        htmx=st.booleans(),
        method=st.sampled_from(["post", "get"]),
    )
    def run(q: str, page: str | None, htmx: bool, method: str) -> None:
        params = {"q": q[:3000], **({"page": page[:3000]} if page is not None else {})}
        with rolled_back():
            response = getattr(nurse, method)(url, params, headers={"HX-Request": "true"} if htmx else None)
            no_server_error(response)
            refused = method == "post" and "\x00" in q[:3000].strip()[:100]
            assert response.status_code == (400 if refused and not htmx else 200), response.status_code
            if refused:
                assert "cannot contain control characters" in response.content.decode()

    run()


def test_fuzz_audit_filters(nurse_a: User, unit_a: Unit) -> None:
    """The unit admin's audit filters: any text, NUL, impossible and extreme dates (9999-12-31), bad ids."""
    from clinic.accounts.models import Role

    nurse_a.memberships.update(role=Role.UNIT_ADMIN)
    client = Client()
    client.force_login(nurse_a)
    url = reverse("audit")
    days = st.sampled_from(["9999-12-31", "0001-01-01", "1900-01-01", "9998-12-31", "2024-02-29", "\x00"])
    patients = st.sampled_from(["\x00", "00000000-0000-4000-8000-000000000000", "not-a-uuid"])

    @FUZZ
    @given(
        action=st.none() | nasty | st.sampled_from(["login", "patient_list"]),
        user=st.none() | nasty | st.just("nurse.a"),
        patient=st.none() | nasty | patients,
        day=st.none() | nasty_date | days | nasty,
        page=st.none() | st.sampled_from(NASTY_NUMBERS) | nasty,
    )
    def run(action: str | None, user: str | None, patient: str | None, day: str | None, page: str | None) -> None:
        raw = {"action": action, "user": user, "patient": patient, "day": day, "page": page}
        params = {key: value[:2000] for key, value in raw.items() if value is not None}
        with rolled_back():
            response = client.get(url, params)
            no_server_error(response)
            assert response.status_code == 200, response.status_code

    run()


# --- the workup wizard --------------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", SLUGS)
def test_fuzz_wizard_step(slug: str, nurse: Client, workup: Workup) -> None:
    url = step_url(workup, slug)
    saved = workup.answers[slug]
    current = workup.step_version(slug)

    @FUZZ
    @given(
        data=form_data(step_form(slug, workup), GOOD_STEPS[slug]),
        version=versions(current),
        editor=st.sampled_from(["", "tab1", "a" * 33, "../x"]) | nasty,
        encoding=encodings(),
    )
    def run(data: dict[str, Any], version: str, editor: str, encoding: str) -> None:
        with rolled_back():
            response = post_form(nurse, url, {**data, "step_version": version, "editor": editor}, encoding)
            no_server_error(response)
            fresh = Workup.objects.get(pk=workup.pk)
            if response.status_code == 302:
                if encoding != "broken-utf8":
                    form = step_form(slug, workup, as_querydict(data))
                    assert form.is_valid(), form.errors
                    assert fresh.answers[slug] == form.to_answers()
                assert slug not in fresh.drafts
            elif response.status_code == 400:
                assert_named_errors(context_form(response))
                assert fresh.answers[slug] == saved, "a rejected submission changed the saved answers"
            else:
                assert response.status_code == 409, response.status_code
                assert fresh.answers[slug] == saved, "a conflicting submission overwrote the saved answers"

    run()


@pytest.mark.parametrize("slug", SLUGS)
def test_fuzz_wizard_autosave(slug: str, nurse: Client, workup: Workup) -> None:
    url = step_url(workup, slug, autosave=True)
    saved = workup.answers[slug]
    current = workup.step_version(slug)

    @FUZZ
    @given(
        data=form_data(step_form(slug, workup), GOOD_STEPS[slug]),
        version=versions(current),
        editor=st.sampled_from(["", "tab1"]) | nasty,
        encoding=encodings(),
    )
    def run(data: dict[str, Any], version: str, editor: str, encoding: str) -> None:
        with rolled_back():
            response = post_form(
                nurse, url, {**data, "step_version": version, "editor": editor}, encoding, HX_Request="true"
            )
            no_server_error(response)
            assert response.status_code in {200, 409}, response.status_code
            fresh = Workup.objects.get(pk=workup.pk)
            state = response.context["state"]
            if state == "saved":
                if encoding != "broken-utf8":
                    form = step_form(slug, workup, as_querydict(data))
                    assert form.is_valid(), form.errors
                    assert fresh.answers[slug] == form.to_answers()
            else:
                assert state in {"draft", "conflict"}, state
                assert fresh.answers[slug] == saved, f"an autosaved {state} changed the saved answers"
                if state == "draft":
                    assert slug in fresh.drafts, "what was typed is kept as a draft"

    run()


def test_fuzz_red_flag_acknowledgement(nurse: Client, workup: Workup) -> None:
    response = nurse.post(
        step_url(workup, "redflags"),
        {"chest_pain": "yes", "seizure": "yes", "syncope": "yes", "step_version": workup.step_version("redflags")},
    )
    assert response.status_code == 302
    workup.refresh_from_db()
    pending = {flag.code for flag in services.unacknowledged_emergencies(workup, services.preview(workup))}
    assert pending, "the fixture must raise at least one emergency"
    url = reverse("workups:acknowledge", args=[workup.public_id])
    codes = st.sampled_from(sorted(pending)) | st.sampled_from(["redflag.no_such_flag", "redflag.", "x" * 65])
    reasons = st.sampled_from(AckReason.values) | nasty
    steps = st.sampled_from([*BY_SLUG, "../admin", "review/../../x"]) | nasty

    @FUZZ
    @given(code=codes | nasty, reason=reasons, step=steps, drop=st.sets(st.sampled_from(["code", "reason", "step"])))
    def run(code: str, reason: str, step: str, drop: set[str]) -> None:
        data = {key: value for key, value in {"code": code, "reason": reason, "step": step}.items() if key not in drop}
        with rolled_back():
            response = nurse.post(url, data)
            no_server_error(response)
            assert response.status_code == 302, response.status_code
            target = urlsplit(response["Location"])
            assert not target.netloc and target.path.startswith(f"/workups/{workup.public_id}/steps/")
            form = AcknowledgeForm(data)
            expected = form.is_valid() and form.cleaned_data["code"] in pending
            assert Acknowledgement.objects.filter(workup=workup).count() == int(expected)

    run()


def test_nul_bytes_in_a_draft_are_dropped_not_a_server_error(nurse: Client, workup: Workup) -> None:
    """Found by fuzzing on PostgreSQL: jsonb cannot hold \\u0000, so autosaving typed NULs was a 500."""
    version = str(workup.step_version("vitals"))
    response = nurse.post(step_url(workup, "vitals"), {"sbp_pre_mmhg": "1\x005", "step_version": version})
    assert response.status_code == 400 and "sbp_pre_mmhg" in context_form(response).errors
    workup.refresh_from_db()
    assert workup.drafts["vitals"]["sbp_pre_mmhg"] == ["15"]
    assert workup.answers["vitals"] == {"sbp_pre_mmhg": 150, "sbp_nadir_mmhg": 120, "heart_rate_bpm": 80}
    response = nurse.post(
        step_url(workup, "labs", autosave=True),
        {"magnesium__value": "\x00", "x\x00": "\x00", "step_version": str(workup.step_version("labs"))},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and response.context["state"] == "draft"
