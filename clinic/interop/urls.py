from __future__ import annotations

from django.urls import path

from clinic.interop import cds_views, views

app_name = "interop"

urlpatterns = [
    path("patients/fhir/import/", views.unit_import, name="import"),
    path("patients/<uuid:public_id>/fhir/import/", views.patient_import, name="patient-import"),
    path("workups/<uuid:public_id>/fhir/careplan.json", views.careplan_export, name="careplan"),
    path("workups/<uuid:public_id>/fhir/documentreference.json", views.document_export, name="documentreference"),
    path("cds-services", cds_views.discovery, name="cds-discovery"),
    path("cds-services/<slug:service_id>", cds_views.service, name="cds-service"),
    path("cds-services/<slug:service_id>/feedback", cds_views.feedback, name="cds-feedback"),
]
