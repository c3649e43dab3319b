"""The nephrologist's review: a decision per recommendation (note required to decline a hard-stop item), return to
the nurse with a comment, confirmation showing the handout, signing with the decisions and stored PDFs (served as
stored); the worklist (scoped, oldest first, red flags, audited) and its navigation count; unit settings."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from clinic.accounts.models import Membership, Role, Unit, User
from clinic.audit.models import Action, AuditEvent
from clinic.engine import evaluate, plan_to_dict
from clinic.patients.models import Patient
from clinic.printing.handout import handout_text
from clinic.workups.decisions import decision_items
from clinic.workups.models import SignedPlan, Status, Workup
from tests.cases import frequent_cramps_case, typical_case

pytestmark = pytest.mark.django_db


def submitted(patient: Patient, nurse: User, case: dict[str, Any] | None = None) -> Workup:
    case = case or frequent_cramps_case()
    from django.utils import timezone

    return Workup.objects.create(
        patient=patient,
        created_by=nurse,
        submitted_by=nurse,
        submitted_at=timezone.now(),
        case_json=case,
        plan_json=plan_to_dict(evaluate(case)),
        status=Status.AWAITING_REVIEW,
    )


def accept_all(workup: Workup, **overrides: str) -> dict[str, str]:
    data = {f"decision__{item.code}": "accepted" for item in decision_items(workup.plan_json)}
    data.update(overrides)
    return {"version": str(workup.version), **data}


def test_review_page_lists_every_nephrologist_item_and_drug_option(
    unit_a: Unit, nurse_a: User, nephro_a: User, make_patient: Callable[..., Patient], client_for: Callable
) -> None:
    workup = submitted(make_patient(unit_a), nurse_a)
    page = client_for(nephro_a).get(reverse("workups:review", args=[workup.public_id])).content.decode()
    items = decision_items(workup.plan_json)
    assert items and any(item.drug_option for item in items)
    for item in items:
        assert f'name="decision__{item.code}"' in page and f'name="note__{item.code}"' in page
    assert "drug option" in page and "Return to the nurse" in page
    # A nurse cannot open it (sent to the plan), nor can anyone while the plan is a draft.
    nurse_page = client_for(nurse_a).get(reverse("workups:review", args=[workup.public_id]))
    assert nurse_page.status_code == 302


def test_every_item_needs_a_decision_and_a_hard_stop_decline_needs_a_note(
    unit_a: Unit, nurse_a: User, nephro_a: User, make_patient: Callable[..., Patient], client_for: Callable
) -> None:
    workup = submitted(make_patient(unit_a), nurse_a, typical_case())  # on baclofen: the taper is a hard-stop item
    hard = [item for item in decision_items(workup.plan_json) if item.hard_stop]
    assert [item.code for item in hard] == ["medications.taper_baclofen"]
    client = client_for(nephro_a)
    url = reverse("workups:review", args=[workup.public_id])
    incomplete = accept_all(workup)
    incomplete.pop(f"decision__{hard[0].code}")
    assert client.post(url, incomplete).status_code == 400
    declined = accept_all(workup, **{f"decision__{hard[0].code}": "declined"})
    response = client.post(url, declined)
    assert response.status_code == 400 and "hard-stop drug: say why you decline it" in response.content.decode()
    # The server refuses it too, whatever the page did.
    assert client.post(reverse("workups:sign", args=[workup.public_id]), declined).status_code == 400
    assert not SignedPlan.objects.exists()
    with_note = {**declined, f"note__{hard[0].code}": "Patient already off baclofen since Monday."}
    confirm = client.post(url, with_note)
    assert confirm.status_code == 200 and "The patient's handout will say" in confirm.content.decode()


def test_confirm_shows_the_handout_then_sign_stores_decisions_comment_and_pdfs(
    unit_a: Unit, nurse_a: User, nephro_a: User, make_patient: Callable[..., Patient], client_for: Callable
) -> None:
    unit_a.phone = "020 7946 0321"
    unit_a.save()
    workup = submitted(make_patient(unit_a), nurse_a)
    options = [item for item in decision_items(workup.plan_json) if item.drug_option]
    keep, drop = options[0], options[1]
    team = handout_text()["team"]
    client = client_for(nephro_a)
    data = accept_all(workup, **{f"decision__{drop.code}": "declined", "comment": "Start with the first option."})
    confirm = client.post(reverse("workups:review", args=[workup.public_id]), data).content.decode()
    assert team[keep.code]["text"] in confirm and team[drop.code]["text"] not in confirm
    assert "Phone your unit on 020 7946 0321." in confirm
    assert not SignedPlan.objects.exists(), "the confirmation signs nothing"
    response = client.post(reverse("workups:sign", args=[workup.public_id]), data)
    assert response.status_code == 302
    snapshot = SignedPlan.objects.get(workup=workup)
    assert snapshot.decisions[drop.code]["decision"] == "declined"
    assert snapshot.decisions[keep.code]["decision"] == "accepted"
    assert snapshot.comment == "Start with the first option."
    assert snapshot.pdf_paper == "a4" and bytes(snapshot.plan_pdf).startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(bytes(snapshot.plan_pdf)))
    plan_text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))
    assert len(reader.pages) <= 3
    assert "Nephrologist's decisions" in plan_text and "Comment: Start with the first option." in plan_text
    assert re.sub(r"\s+", " ", f"DECLINED: {drop.text}") in plan_text
    assert AuditEvent.objects.get(action=Action.PLAN_SIGN).detail["declined"] == [drop.code]
    page = client.get(reverse("workups:plan", args=[workup.public_id])).content.decode()
    assert "Start with the first option." in page and "The nephrologist's decisions (" in page


def test_signed_pdf_is_served_as_stored_and_other_papers_render(
    unit_a: Unit, nurse_a: User, nephro_a: User, make_patient: Callable[..., Patient], client_for: Callable
) -> None:
    workup = submitted(make_patient(unit_a), nurse_a)
    client = client_for(nephro_a)
    client.post(reverse("workups:sign", args=[workup.public_id]), accept_all(workup))
    snapshot = SignedPlan.objects.get(workup=workup)
    url = reverse("printing:plan-pdf", args=[workup.public_id])
    for kind, stored in (("plan", snapshot.plan_pdf), ("handout", snapshot.handout_pdf)):
        response = client.get(url, {"kind": kind})
        assert response.status_code == 200 and response.content == bytes(stored)
    letter = client.get(url, {"kind": "plan", "paper": "letter"}).content
    assert letter != bytes(snapshot.plan_pdf)
    assert round(float(PdfReader(io.BytesIO(letter)).pages[0].mediabox.width)) == 612
    assert AuditEvent.objects.filter(action=Action.PLAN_PDF).count() == 3


def test_a_stored_pdf_is_one_scoped_query_audited_without_reading_the_plan(
    unit_a: Unit,
    nurse_a: User,
    nurse_b: User,
    nephro_a: User,
    make_patient: Callable[..., Patient],
    client_for: Callable,
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    workup = submitted(make_patient(unit_a), nurse_a)
    client_for(nephro_a).post(reverse("workups:sign", args=[workup.public_id]), accept_all(workup))
    snapshot = SignedPlan.objects.get(workup=workup)
    url = reverse("printing:plan-pdf", args=[workup.public_id])
    nurse = client_for(nurse_a)
    nurse.get(reverse("patients:list"))  # the session's first request stamps its activity
    with CaptureQueriesContext(connection) as ctx:
        response = nurse.get(url, {"kind": "handout"})
    assert response.status_code == 200 and response.content == bytes(snapshot.handout_pdf)
    assert response["Cache-Control"] == "no-store" and response["Content-Type"] == "application/pdf"
    sql = [q["sql"] for q in ctx.captured_queries]
    # The session, the user with their memberships, the stored PDF, the audit event (chain head and insert: one
    # statement on PostgreSQL, two on SQLite). No plan, answers or snapshot JSON and no other PDF is read.
    assert len(sql) <= 5, sql
    reads = [q for q in sql if '"workups_signedplan"' in q]
    assert len(reads) == 1 and "handout_pdf" in reads[0], reads
    assert not any(column in reads[0] for column in ('"plan_pdf"', "plan_json", "case_json", "answers")), reads[0]
    event = AuditEvent.objects.filter(action=Action.PLAN_PDF).get()
    assert (event.user, event.unit_id, event.patient_public_id) == (nurse_a, unit_a.pk, workup.patient.public_id)
    assert event.detail == {"workup": str(workup.public_id), "kind": "handout", "paper": "a4"}
    # Another unit's nurse is answered as for a workup that does not exist, and reads nothing.
    assert client_for(nurse_b).get(url, {"kind": "handout"}).status_code == 404
    assert AuditEvent.objects.filter(action=Action.PLAN_PDF).count() == 1
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, user=nurse_b).count() == 1
    # Bad options are answered as before (by the full path).
    assert nurse.get(url, {"kind": "nonsense"}).status_code == 400


def test_return_to_nurse_with_a_comment_then_resubmit(
    unit_a: Unit, nurse_a: User, nephro_a: User, make_patient: Callable[..., Patient], client_for: Callable
) -> None:
    workup = submitted(make_patient(unit_a), nurse_a)
    nephro = client_for(nephro_a)
    url = reverse("workups:return", args=[workup.public_id])
    assert nephro.post(url, {"version": workup.version, "comment": "  "}).status_code == 400
    assert nephro.post(url, {"version": workup.version, "comment": "Re-weigh, please."}).status_code == 302
    workup.refresh_from_db()
    assert workup.status == Status.DRAFT and workup.return_comment == "Re-weigh, please."
    nurse = client_for(nurse_a)
    worklist = nurse.get(reverse("workups:worklist")).content.decode()
    assert "Returned to you" in worklist and "Re-weigh, please." in worklist
    plan_page = nurse.get(reverse("workups:plan", args=[workup.public_id])).content.decode()
    assert "Re-weigh, please." in plan_page
    nurse.post(reverse("workups:submit", args=[workup.public_id]), {"version": workup.version})
    workup.refresh_from_db()
    assert workup.status == Status.AWAITING_REVIEW
    assert "Re-weigh, please." not in nurse.get(reverse("workups:worklist")).content.decode()


def test_worklist_is_scoped_oldest_first_with_flags_and_audited(
    unit_a: Unit,
    unit_b: Unit,
    nurse_a: User,
    nurse_b: User,
    nephro_a: User,
    make_patient: Callable[..., Patient],
    client_for: Callable,
) -> None:
    from django.utils import timezone

    older = submitted(make_patient(unit_a, family_name="Older"), nurse_a, typical_case())
    newer = submitted(make_patient(unit_a, family_name="Newer"), nurse_a)
    Workup.objects.filter(pk=older.pk).update(submitted_at=timezone.now() - timezone.timedelta(days=2))
    submitted(make_patient(unit_b, family_name="Elsewhere"), nurse_b)
    client = client_for(nephro_a)
    assert client.get(reverse("home"))["Location"] == reverse("workups:worklist")
    page = client.get(reverse("workups:worklist")).content.decode()
    assert "Elsewhere" not in page
    assert page.index("Older") < page.index("Newer")
    assert "EMERGENCY: Possible baclofen toxicity" in page  # the red-flag badge of the older plan
    assert re.search(r'aria-label="2 awaiting your review">2<', page), "the count in the navigation"
    event = AuditEvent.objects.filter(action=Action.WORKLIST_VIEW).latest("id")
    assert event.detail["awaiting"] == [str(older.public_id), str(newer.public_id)]
    # A nurse sees her own drafts, not the review queue.
    draft = Workup.objects.create(patient=make_patient(unit_a, family_name="Drafty"), created_by=nurse_a)
    nurse_page = client_for(nurse_a).get(reverse("workups:worklist")).content.decode()
    assert "Awaiting your review" not in nurse_page and "Drafty" in nurse_page and str(draft.public_id) in nurse_page


def test_unit_admin_edits_phone_hours_and_locale(
    unit_a: Unit, unit_b: Unit, client_for: Callable[[User], Client]
) -> None:
    admin = User.objects.create_user("admin.a", password="x-long-password-2")
    Membership.objects.create(user=admin, unit=unit_a, role=Role.UNIT_ADMIN)
    client = client_for(admin)
    page = client.get(reverse("staff")).content.decode()
    assert 'name="phone"' in page and 'name="locale"' in page
    url = reverse("unit-settings", args=[unit_a.code])
    client.post(url, {"phone": "+1 (555) 010-4477", "hours": "Mon–Fri  6am–8pm", "locale": "en-US"})
    unit_a.refresh_from_db()
    assert (unit_a.phone, unit_a.hours, unit_a.locale, unit_a.default_paper) == (
        "+1 (555) 010-4477",
        "Mon–Fri 6am–8pm",
        "en-US",
        "letter",
    )
    assert AuditEvent.objects.filter(action=Action.STAFF_CHANGE, detail__change="unit_settings").exists()
    client.post(url, {"phone": "call me maybe", "hours": "", "locale": "en-GB"})
    unit_a.refresh_from_db()
    assert unit_a.phone == "+1 (555) 010-4477", "bad input changes nothing"
    assert client.post(reverse("unit-settings", args=[unit_b.code]), {"phone": "1"}).status_code == 404


def test_a_reviewers_worklist_shows_no_empty_nurse_sections(
    nephro_a: User, nurse_a: User, client_for: Callable
) -> None:
    """A nephrologist's home is the review queue: "Returned to you" and "Your drafts" appear only when they hold
    something; a nurse always sees both (they are her home)."""
    reviewer = client_for(nephro_a).get(reverse("workups:worklist")).content.decode()
    assert "Returned to you" not in reviewer and "Your drafts" not in reviewer
    nurse = client_for(nurse_a).get(reverse("workups:worklist")).content.decode()
    assert "Returned to you" in nurse and "Your drafts" in nurse
