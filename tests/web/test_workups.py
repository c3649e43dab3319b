"""The workup wizard through Django's test client: saving, skipping, autosave, conflicts, red flags,
acknowledgement, make plan, submit, sign, revise; and wizard == API for the same facts."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from clinic.accounts.models import Unit, User
from clinic.audit.models import Action, AuditEvent
from clinic.engine import evaluate, plan_to_dict
from clinic.patients.models import Patient
from clinic.workups.decisions import decision_items
from clinic.workups.models import Acknowledgement, ImmutableError, SignedPlan, Status, Workup

pytestmark = pytest.mark.django_db

EPISODE = {
    "timing": "during_dialysis",
    "ongoing": "yes",
    "minutes_into_session": "180",
    "sites": ["legs"],
    "kind": "cramp",
    "severity_0_10": "7",
    "episodes_last_4_weeks": "6",
    "duration_weeks": "3",
}
DIALYSIS = {
    "pre_weight_kg": "74",
    "previous_post_weight_kg": "70.4",
    "target_weight_kg": "70",
    "session_minutes": "240",
    "sessions_per_week": "3",
    "dialysate_sodium_mmol_l": "138",
    "sodium_profiling": "no",
    "dialysate_potassium_mmol_l": "2",
    "dialysate_calcium_mmol_l": "1.25",
    "dialysate_magnesium_mmol_l": "0.5",
    "dialysate_bicarbonate_mmol_l": "35",
    "buffer": "bicarbonate",
    "dialysate_temperature_c": "36.5",
    "blood_flow_ml_min": "350",
    "dialyser_flux": "high",
    "missed_or_shortened_sessions_last_month": "0",
    "dry_weight_kg": "70",
    "access": "fistula",
}


def step_url(workup: Workup, slug: str) -> str:
    return reverse("workups:step", kwargs={"public_id": workup.public_id, "slug": slug})


def post_step(client: Client, workup: Workup, slug: str, data: dict[str, Any]) -> Any:
    workup.refresh_from_db()
    return client.post(step_url(workup, slug), {**data, "step_version": workup.step_version(slug)})


@pytest.fixture
def patient(unit_a: Unit, make_patient: Callable[..., Patient]) -> Patient:
    return make_patient(unit_a, medications=["sevelamer", "baclofen"], conditions=["heart_block"])


@pytest.fixture
def nurse(nurse_a: User, client_for: Callable[[User], Client]) -> Client:
    return client_for(nurse_a)


@pytest.fixture
def workup(patient: Patient, nurse: Client) -> Workup:
    response = nurse.post(reverse("workups:start", args=[patient.public_id]))
    workup = Workup.objects.get()
    assert response["Location"] == step_url(workup, "episode")
    return workup


def complete(
    client: Client, workup: Workup, labs: dict[str, str] | None = None, findings: dict[str, str] | None = None
) -> None:
    assert post_step(client, workup, "episode", EPISODE).status_code == 302
    assert (
        post_step(client, workup, "redflags", findings or {"chest_pain": "no", "speech_disturbance": "no"}).status_code
        == 302
    )
    assert post_step(client, workup, "vitals", {"sbp_pre_mmhg": "150", "sbp_nadir_mmhg": "120"}).status_code == 302
    lab_data = (
        labs
        if labs is not None
        else {"magnesium__value": "1.2", "magnesium__unit": "mg/dL", "magnesium__when": "pre_dialysis"}
    )
    assert post_step(client, workup, "labs", lab_data).status_code == 302
    assert post_step(client, workup, "dialysis", DIALYSIS).status_code == 302
    meds = {
        "medications": ["sevelamer", "baclofen"],
        "conditions": ["heart_block"],
        "diabetes": "yes",
        "hepatic_impairment": "none",
        "other_medications": "zolpidem",
    }
    assert post_step(client, workup, "medications", meds).status_code == 302
    acknowledge_all(client, workup)  # baclofen raises an emergency: make-plan refuses until acknowledged


def acknowledge_all(client: Client, workup: Workup) -> None:
    for flag in client.get(step_url(workup, "review")).context["emergencies"]:
        client.post(
            reverse("workups:acknowledge", args=[workup.public_id]),
            {"code": flag.code, "reason": "already_managed", "step": "review"},
        )
    assert not client.get(step_url(workup, "review")).context["emergencies"]


def test_steps_save_in_order_and_skip_vitals_between_sessions(nurse: Client, workup: Workup) -> None:
    response = post_step(
        nurse, workup, "episode", {**EPISODE, "timing": "between_sessions", "ongoing": "", "minutes_into_session": ""}
    )
    assert response["Location"] == step_url(workup, "redflags")
    response = post_step(nurse, workup, "redflags", {"chest_pain": "no"})
    assert response["Location"] == step_url(workup, "labs"), "vitals do not apply between sessions"
    assert nurse.get(step_url(workup, "vitals"))["Location"] == step_url(workup, "labs")
    workup.refresh_from_db()
    assert workup.answers["redflags"] == {"chest_pain": False}  # not assessed is absent, never False


def test_every_step_page_renders(nurse: Client, workup: Workup) -> None:
    complete(nurse, workup)
    acknowledge_all(nurse, workup)
    for slug in ("episode", "redflags", "vitals", "labs", "dialysis", "medications", "review"):
        response = nurse.get(step_url(workup, slug))
        assert response.status_code == 200, slug
        assert response.content.decode().count("<h1") == 1, slug


def test_every_form_field_is_rendered(nurse: Client, workup: Workup) -> None:
    """crispy silently drops a field missing from a layout; make sure every field reaches the page."""
    from clinic.workups.steps import STEPS

    complete(nurse, workup)
    acknowledge_all(nurse, workup)
    for step in STEPS:
        html = nurse.get(step_url(workup, step.slug)).content.decode()
        form = step.form_class(**({"unit_system": "SI"} if step.slug == "labs" else {}))
        for name in form.fields:
            assert f'name="{name}"' in html, (step.slug, name)


def test_bad_input_keeps_what_was_typed(nurse: Client, workup: Workup) -> None:
    assert post_step(nurse, workup, "episode", EPISODE).status_code == 302
    response = post_step(nurse, workup, "episode", {**EPISODE, "severity_0_10": "99", "duration_weeks": "lots"})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "severity_0_10" in errors and "duration_weeks" in errors
    assert "Enter a number" in " ".join(errors["duration_weeks"])
    workup.refresh_from_db()
    assert workup.answers["episode"]["severity_0_10"] == 7, "the saved answers are untouched"
    assert workup.drafts["episode"]["duration_weeks"] == ["lots"], "what was typed is kept"
    page = nurse.get(step_url(workup, "episode")).content.decode()
    assert 'value="lots"' in page and "unsaved typing" in page


def test_lab_in_wrong_unit_is_refused_on_the_field(nurse: Client, workup: Workup) -> None:
    response = post_step(nurse, workup, "labs", {"potassium__value": "5", "potassium__unit": "mg/dL"})
    assert response.status_code == 400
    assert "not a unit for potassium" in " ".join(response.context["form"].errors["potassium__unit"])
    response = post_step(nurse, workup, "labs", {"magnesium__value": "50", "magnesium__unit": "mmol/L"})
    assert "not possible in a living patient" in " ".join(response.context["form"].errors["magnesium__value"])


def test_autosave_stores_valid_answers_and_raises_live_banner(nurse: Client, workup: Workup) -> None:
    post_step(nurse, workup, "episode", EPISODE)
    workup.refresh_from_db()
    url = reverse("workups:autosave", kwargs={"public_id": workup.public_id, "slug": "redflags"})
    response = nurse.post(url, {"step_version": 0, "seizure": "yes"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Saved" in html and 'id="step-version-field"' in html and 'hx-swap-oob="true"' in html
    assert "Seizure" in html, "the red-flag banner is swapped in as soon as the answer raises it"
    assert len(html) < 15_000
    workup.refresh_from_db()
    assert workup.answers["redflags"] == {"seizure": True}


def test_autosave_with_stale_version_is_a_conflict(nurse: Client, workup: Workup) -> None:
    url = reverse("workups:autosave", kwargs={"public_id": workup.public_id, "slug": "episode"})
    response = nurse.post(url, {"step_version": 999, **EPISODE}, headers={"HX-Request": "true"})
    assert response.status_code == 409
    workup.refresh_from_db()
    assert "episode" not in workup.answers


def test_two_editors_conflict_shows_what_changed_and_overwrites_nothing(
    workup: Workup, nephro_a: User, client_for: Callable[[User], Client], nurse: Client
) -> None:
    other = client_for(nephro_a)
    workup.refresh_from_db()
    opened_at = workup.step_version("episode")
    assert (
        other.post(
            step_url(workup, "episode"), {**EPISODE, "severity_0_10": "9", "step_version": opened_at}
        ).status_code
        == 302
    )
    response = nurse.post(step_url(workup, "episode"), {**EPISODE, "severity_0_10": "4", "step_version": opened_at})
    assert response.status_code == 409
    html = response.content.decode()
    panel = html[html.index('class="alert alert-warning conflict-panel') :]
    panel = panel[: panel.index("</section>")]
    assert "Not saved: this answer was saved differently" in panel and "by nephro.a" in panel
    assert 'Severity (0 to 10):</span> <span class="conflict-theirs">9</span> saved by nephro.a' in panel
    assert '<span class="conflict-mine">4</span> on this page' in panel and "severity_0_10" not in panel
    workup.refresh_from_db()
    assert workup.answers["episode"]["severity_0_10"] == 9


def test_emergency_flag_blocks_until_acknowledged_with_a_reason(nurse: Client, workup: Workup, nurse_a: User) -> None:
    post_step(nurse, workup, "episode", EPISODE)
    post_step(nurse, workup, "redflags", {"chest_pain": "yes"})
    page = nurse.get(step_url(workup, "vitals")).content.decode()
    assert "Emergency: act before you continue" in page and 'name="sbp_pre_mmhg"' not in page
    ack_url = reverse("workups:acknowledge", args=[workup.public_id])
    response = nurse.post(ack_url, {"code": "redflag.acute_coronary", "step": "vitals"})
    assert response.status_code == 302
    assert not Acknowledgement.objects.exists(), "a reason is required"
    nurse.post(ack_url, {"code": "redflag.acute_coronary", "reason": "escalated_now", "step": "vitals"})
    ack = Acknowledgement.objects.get()
    assert ack.user == nurse_a and ack.reason == "escalated_now"
    assert AuditEvent.objects.filter(action=Action.RED_FLAG_ACK).exists()
    page = nurse.get(step_url(workup, "vitals")).content.decode()
    assert 'name="sbp_pre_mmhg"' in page and "coronary" in page  # the form is back; the banner still shows it


def test_autosave_emergency_card_follows_the_acknowledgements(nurse: Client, workup: Workup) -> None:
    """The autosave's live emergency card (read against the acknowledgements only when the answers raise an
    emergency) shows an emergency nobody has acknowledged, and no longer once it is acknowledged."""
    post_step(nurse, workup, "episode", EPISODE)
    url = reverse("workups:autosave", kwargs={"public_id": workup.public_id, "slug": "redflags"})

    def card(version: int) -> bool:
        response = nurse.post(url, {"step_version": version, "chest_pain": "yes"}, headers={"HX-Request": "true"})
        assert response.status_code == 200 and "Saved" in response.content.decode()
        return "emergency-live-redflagacute_coronary" in response.content.decode()

    assert card(0), "an unacknowledged emergency is shown in the action bar"
    ack_url = reverse("workups:acknowledge", args=[workup.public_id])
    nurse.post(ack_url, {"code": "redflag.acute_coronary", "reason": "escalated_now", "step": "redflags"})
    assert not card(1), "an acknowledged emergency is not shown again"


def test_non_emergency_flags_stay_passive(nurse: Client, workup: Workup) -> None:
    post_step(nurse, workup, "episode", EPISODE)
    post_step(nurse, workup, "redflags", {"access_hand_ischaemia": "yes"})
    page = nurse.get(step_url(workup, "vitals")).content.decode()
    assert "Emergency: act before you continue" not in page
    assert 'name="sbp_pre_mmhg"' in page and "Red flags raised so far" in page


def test_make_plan_revalidates_every_step(nurse: Client, workup: Workup) -> None:
    post_step(nurse, workup, "episode", EPISODE)
    workup.refresh_from_db()
    response = nurse.post(reverse("workups:make-plan", args=[workup.public_id]), {"version": workup.version})
    assert response["Location"] == step_url(workup, "redflags")
    workup.refresh_from_db()
    assert workup.plan_json is None


def test_full_flow_submit_sign_revise(
    nurse: Client, workup: Workup, nephro_a: User, client_for: Callable[[User], Client]
) -> None:
    complete(nurse, workup)
    workup.refresh_from_db()
    assert (
        nurse.post(reverse("workups:make-plan", args=[workup.public_id]), {"version": workup.version}).status_code
        == 302
    )
    workup.refresh_from_db()
    plan = workup.plan_json
    assert {d["drug"]: d["verdict"] for d in plan["drugs"]}["baclofen"] == "avoid"
    assert "unrecognised medication: zolpidem" in " ".join(plan["warnings"])
    page = nurse.get(reverse("workups:plan", args=[workup.public_id])).content.decode()
    assert "What you can do now" in page and "Sign care plan" not in page
    # A nurse cannot sign.
    nurse.post(reverse("workups:sign", args=[workup.public_id]), {"version": workup.version})
    assert not SignedPlan.objects.exists()
    nurse.post(reverse("workups:submit", args=[workup.public_id]), {"version": workup.version})
    workup.refresh_from_db()
    assert workup.status == Status.AWAITING_REVIEW
    nephro = client_for(nephro_a)
    page = nephro.get(reverse("workups:plan", args=[workup.public_id])).content.decode()
    assert "Awaiting nephrologist review" in page and "Prescription and drug decisions" in page
    # One click is not enough: every nephrologist-scope recommendation needs a decision.
    assert nephro.post(reverse("workups:sign", args=[workup.public_id]), {"version": workup.version}).status_code == 400
    assert not SignedPlan.objects.exists()
    decisions = {f"decision__{item.code}": "accepted" for item in decision_items(plan)}
    nephro.post(reverse("workups:sign", args=[workup.public_id]), {"version": workup.version, **decisions})
    workup.refresh_from_db()
    signed = SignedPlan.objects.get()
    assert set(signed.decisions) == {item.code for item in decision_items(plan)}
    assert workup.status == Status.SIGNED and signed.signed_by == nephro_a
    assert signed.plan_json == plan and signed.knowledge_version == plan["knowledge_version"]
    # Nobody edits a signed plan: steps redirect to the plan, posts change nothing.
    assert nurse.get(step_url(workup, "episode"))["Location"] == reverse("workups:plan", args=[workup.public_id])
    nurse.post(step_url(workup, "episode"), {**EPISODE, "severity_0_10": "1", "step_version": 1})
    workup.refresh_from_db()
    assert workup.answers["episode"]["severity_0_10"] == 7
    with pytest.raises(ImmutableError):
        signed.save()
    with pytest.raises(ImmutableError):
        SignedPlan.objects.filter(pk=signed.pk).update(plan_json={})
    # Revising makes a new draft; the signed version stays readable exactly as signed.
    response = nurse.post(reverse("workups:revise", args=[workup.public_id]))
    new = Workup.objects.exclude(pk=workup.pk).get()
    assert new.revises == workup and new.status == Status.DRAFT and new.answers == workup.answers
    assert response["Location"] == step_url(new, "review")
    assert nurse.get(reverse("workups:plan", args=[workup.public_id])).status_code == 200
    assert SignedPlan.objects.get().plan_json == plan


def test_wizard_and_api_give_the_same_plan(nurse: Client, workup: Workup, nurse_a: User) -> None:
    from clinic.api.models import ApiToken

    complete(nurse, workup)
    workup.refresh_from_db()
    nurse.post(reverse("workups:make-plan", args=[workup.public_id]), {"version": workup.version})
    workup.refresh_from_db()
    token = ApiToken.issue(nurse_a)[1]
    response = Client().post(
        reverse("api-evaluate"),
        data=json.dumps(workup.case_json),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.json() == workup.plan_json
    assert plan_to_dict(evaluate(workup.case_json)) == workup.plan_json


def test_prescription_is_prefilled_from_the_last_workup(nurse: Client, workup: Workup, patient: Patient) -> None:
    complete(nurse, workup)
    nurse.post(reverse("workups:start", args=[patient.public_id]), {"instead_of": str(workup.public_id)})
    second = Workup.objects.exclude(pk=workup.pk).get()
    form = nurse.get(step_url(second, "dialysis")).context["form"]
    assert form.initial["dialysate_magnesium_mmol_l"] == 0.5
    assert "pre_weight_kg" not in form.initial, "today's weight is never carried over"
    meds = nurse.get(step_url(second, "medications")).context["form"]
    assert sorted(meds.initial["medications"]) == ["baclofen", "sevelamer"]


def test_other_units_workups_are_404(workup: Workup, nurse_b: User, client_for: Callable[[User], Client]) -> None:
    outsider = client_for(nurse_b)
    for name in ("workups:plan",):
        assert outsider.get(reverse(name, args=[workup.public_id])).status_code == 404
    assert outsider.get(step_url(workup, "episode")).status_code == 404
    assert outsider.post(step_url(workup, "episode"), {**EPISODE, "step_version": 0}).status_code == 404
    workup.refresh_from_db()
    assert workup.answers == {}


def test_lab_preview_fragment(nurse: Client, workup: Workup) -> None:
    url = reverse("workups:lab-preview", args=[workup.public_id])
    html = nurse.post(
        url,
        {"analyte": "magnesium", "magnesium__value": "1.2", "magnesium__unit": "mg/dL"},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "0.49 mmol/L" in html and "low" in html and len(html) < 2000
    html = nurse.post(
        url, {"analyte": "potassium", "potassium__value": "5", "potassium__unit": "mg/dL"}
    ).content.decode()
    assert "not a unit for potassium" in html


def test_dialysis_preview_shows_threshold_crossed(nurse: Client, workup: Workup) -> None:
    url = reverse("workups:dialysis-preview", args=[workup.public_id])
    html = nurse.post(url, DIALYSIS).content.decode()
    assert "14.3" in html and "13" in html
    html = nurse.post(url, {**DIALYSIS, "pre_weight_kg": "71"}).content.decode()
    assert "Below the thresholds" in html


def test_patient_page_lists_workups_and_trends(nurse: Client, workup: Workup, patient: Patient) -> None:
    complete(nurse, workup)
    workup.refresh_from_db()
    nurse.post(reverse("workups:make-plan", args=[workup.public_id]), {"version": workup.version})
    html = nurse.get(reverse("patients:detail", args=[patient.public_id])).content.decode()
    assert "Workups and care plans" in html and "Care plan" in html
    assert "<svg" in html and "UF rate" in html


def test_a_tabs_own_autosave_never_conflicts_with_its_submit(nurse: Client, workup: Workup) -> None:
    workup.refresh_from_db()
    opened = workup.step_version("episode")
    autosave = reverse("workups:autosave", kwargs={"public_id": workup.public_id, "slug": "episode"})
    assert nurse.post(autosave, {**EPISODE, "step_version": opened, "editor": "tabA"}).status_code == 200
    # The submit still carries the version the page was opened with: same tab, so it is not a conflict.
    response = nurse.post(
        step_url(workup, "episode"), {**EPISODE, "severity_0_10": "5", "step_version": opened, "editor": "tabA"}
    )
    assert response.status_code == 302
    # A second tab opened at the same version is refused: tab A saved since.
    response = nurse.post(
        step_url(workup, "episode"), {**EPISODE, "severity_0_10": "2", "step_version": opened, "editor": "tabB"}
    )
    assert response.status_code == 409
    workup.refresh_from_db()
    assert workup.answers["episode"]["severity_0_10"] == 5


def test_two_people_saving_different_steps_both_keep_their_answers(
    workup: Workup, nephro_a: User, client_for: Callable[[User], Client], nurse: Client
) -> None:
    other = client_for(nephro_a)
    assert other.post(step_url(workup, "episode"), {**EPISODE, "step_version": 0, "editor": "b"}).status_code == 302
    data = {"sbp_pre_mmhg": "140", "step_version": 0, "editor": "a"}
    assert nurse.post(step_url(workup, "vitals"), data).status_code == 302
    workup.refresh_from_db()
    assert workup.answers["episode"]["severity_0_10"] == 7 and workup.answers["vitals"] == {"sbp_pre_mmhg": 140.0}


def test_resume_goes_to_the_first_step_not_saved(nurse: Client, workup: Workup) -> None:
    post_step(nurse, workup, "episode", EPISODE)
    post_step(nurse, workup, "redflags", {"chest_pain": "no"})
    assert nurse.get(reverse("workups:resume", args=[workup.public_id]))["Location"] == step_url(workup, "vitals")


def test_plan_body_follows_role_and_every_change(
    nurse: Client, workup: Workup, nephro_a: User, client_for: Callable[[User], Client]
) -> None:
    complete(nurse, workup)
    workup.refresh_from_db()
    nurse.post(reverse("workups:make-plan", args=[workup.public_id]), {"version": workup.version})
    plan_url = reverse("workups:plan", args=[workup.public_id])
    first = nurse.get(plan_url).content.decode()
    assert "What you can do now" in first
    # The nephrologist sees the other ordering.
    assert "Prescription and drug decisions" in client_for(nephro_a).get(plan_url).content.decode()
    # A changed answer and a new plan give a new body.
    post_step(nurse, workup, "labs", {"magnesium__value": "0.9", "magnesium__unit": "mmol/L"})
    workup.refresh_from_db()
    nurse.post(reverse("workups:make-plan", args=[workup.public_id]), {"version": workup.version})
    assert "0.90 mmol/L" in nurse.get(plan_url).content.decode()
    assert "0.49 mmol/L" in first


def test_current_plan_is_the_signed_snapshot_once_signed(patient: Patient, nurse_a: User, nephro_a: User) -> None:
    from tests.web.conftest import create_signed_workup

    draft = Workup.objects.create(patient=patient, created_by=nurse_a, plan_json={"knowledge_version": "draft"})
    assert draft.current_plan() == ({"knowledge_version": "draft"}, None)
    assert Workup.objects.create(patient=patient, created_by=nurse_a).current_plan() == (None, None)
    signed = create_signed_workup(patient, nurse_a, nephro_a)
    try:
        with transaction.atomic():
            Workup.objects.filter(pk=signed.pk).update(plan_json={"knowledge_version": "changed after signing"})
    except DatabaseError:  # PostgreSQL refuses to change a signed workup's plan (trigger); SQLite lets it through
        assert connection.vendor == "postgresql"
    signed = Workup.objects.select_related("signed_plan").get(pk=signed.pk)
    plan, snapshot = signed.current_plan()
    assert snapshot == signed.signed_plan and plan == snapshot.plan_json
    assert plan["knowledge_version"] != "changed after signing"


def test_step_form_bound_to_saved_answers_revalidates_them(patient: Patient, nurse_a: User) -> None:
    from clinic.workups.forms import DialysisForm, LabsForm

    form = DialysisForm.bound_to({"pre_weight_kg": 74.0, "sodium_profiling": False, "dry_weight_kg": None})
    assert form.data.getlist("sodium_profiling") == ["no"] and "dry_weight_kg" not in form.data
    saved = {"labs": [{"analyte": "magnesium", "value": 1.2, "unit": "mg/dL", "when": "pre_dialysis"}]}
    labs = LabsForm.from_answers(saved, unit_system="conventional")
    assert labs.is_valid(), labs.errors
    assert labs.to_answers() == saved
    assert not DialysisForm.from_answers({"pre_weight_kg": -5}).is_valid()


def test_plan_page_keeps_nothing_in_a_per_process_cache(
    nurse: Client, workup: Workup, nephro_a: User, client_for: Callable[[User], Client], settings: Any
) -> None:
    """Even with a memory cache configured, viewing plans stores nothing in it: a copy held by one worker would
    differ from another's (the rendered plan body used to be kept there)."""
    from django.core.cache import caches

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "t"}}
    complete(nurse, workup)
    workup.refresh_from_db()
    nurse.post(reverse("workups:make-plan", args=[workup.public_id]), {"version": workup.version})
    plan_url = reverse("workups:plan", args=[workup.public_id])
    for client in (nurse, nurse, client_for(nephro_a)):
        assert client.get(plan_url).status_code == 200
    assert caches["default"]._cache == {}  # type: ignore[attr-defined]


def test_nurse_plan_page_leads_with_the_engines_do_now_list(nurse: Client, workup: Workup) -> None:
    """The nurse's "do now" box is the engine's list (at most 5 lines, most urgent first), not every nurse action."""
    complete(nurse, workup)
    workup.refresh_from_db()
    nurse.post(reverse("workups:make-plan", args=[workup.public_id]), {"version": workup.version})
    workup.refresh_from_db()
    do_now = workup.plan_json["do_now"]
    assert 1 <= len(do_now) <= 5
    nurse_actions = [a for s in workup.plan_json["steps"] for a in s["actions"] if a["who"] == "nurse"]
    assert len(nurse_actions) > len(do_now)  # the box is the short list, not the whole plan
    page = nurse.get(reverse("workups:plan", args=[workup.public_id])).content.decode()
    box = page[page.index('id="start-heading"') : page.index('id="flags-heading"')]  # first on the page
    positions = [box.index(escape(item["text"])) for item in do_now]
    assert positions == sorted(positions)
    assert box.count("<li>") == len(do_now)


def test_medications_step_records_failed_cramp_drug_trials(nurse: Client, workup: Workup) -> None:
    """Ticked trials reach the engine as previous_trials (outcome no_benefit); none ticked = not recorded."""
    from clinic.workups.case import build_case

    complete(nurse, workup)
    workup.refresh_from_db()
    assert "previous_trials" not in build_case(workup.patient, workup.answers)
    meds = {
        "medications": ["sevelamer"],
        "conditions": [],
        "diabetes": "no",
        "hepatic_impairment": "none",
        "failed_trials": ["vitamin_e"],
    }
    page = nurse.get(step_url(workup, "medications")).content.decode()
    assert 'name="failed_trials"' in page and "did not help" in page
    assert post_step(nurse, workup, "medications", meds).status_code == 302
    workup.refresh_from_db()
    case = build_case(workup.patient, workup.answers)
    assert case["previous_trials"] == [{"drug": "vitamin_e", "outcome": "no_benefit"}]
    bad = post_step(nurse, workup, "medications", {**meds, "failed_trials": ["quinine"]})
    assert bad.status_code == 400  # not a trial drug: the form refuses it
