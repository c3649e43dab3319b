from __future__ import annotations

from django.urls import path

from clinic.patients import views

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.patient_create, name="create"),
    path("<uuid:public_id>/", views.patient_detail, name="detail"),
    path("<uuid:public_id>/edit/", views.patient_edit, name="edit"),
    path("<uuid:public_id>/labs/", views.lab_create, name="lab-create"),
    path("<uuid:public_id>/labs/history/", views.lab_history, name="lab-history"),
]
