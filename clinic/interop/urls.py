from __future__ import annotations

from django.urls import path

from clinic.interop import views

app_name = "interop"

urlpatterns = [
    path("patients/fhir/import/", views.unit_import, name="import"),
    path("patients/<uuid:public_id>/fhir/import/", views.patient_import, name="patient-import"),
    path("workups/<uuid:public_id>/fhir/careplan.json", views.careplan_export, name="careplan"),
    path("workups/<uuid:public_id>/fhir/documentreference.json", views.document_export, name="documentreference"),
]
