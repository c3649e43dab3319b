from __future__ import annotations

from django.urls import path

from clinic.workups import review_views, views, worklist

app_name = "workups"

urlpatterns = [
    path("worklist/", worklist.worklist_view, name="worklist"),
    path("patients/<uuid:public_id>/workups/new/", views.workup_start, name="start"),
    path("workups/<uuid:public_id>/resume/", views.resume_view, name="resume"),
    path("workups/<uuid:public_id>/steps/<slug:slug>/", views.step_view, name="step"),
    path("workups/<uuid:public_id>/steps/<slug:slug>/autosave/", views.autosave_view, name="autosave"),
    path("workups/<uuid:public_id>/labs/preview/", views.lab_preview_view, name="lab-preview"),
    path("workups/<uuid:public_id>/dialysis/preview/", views.dialysis_preview_view, name="dialysis-preview"),
    path("workups/<uuid:public_id>/medicines/search/", views.medicine_search_view, name="medicine-search"),
    path("workups/<uuid:public_id>/acknowledge/", views.acknowledge_view, name="acknowledge"),
    path("workups/<uuid:public_id>/plan/make/", views.make_plan_view, name="make-plan"),
    path("workups/<uuid:public_id>/plan/", views.plan_view, name="plan"),
    path("workups/<uuid:public_id>/submit/", views.submit_view, name="submit"),
    path("workups/<uuid:public_id>/review/", review_views.review_view, name="review"),
    path("workups/<uuid:public_id>/return/", review_views.return_view, name="return"),
    path("workups/<uuid:public_id>/sign/", review_views.sign_view, name="sign"),
    path("workups/<uuid:public_id>/revise/", views.revise_view, name="revise"),
]
