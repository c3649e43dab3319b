from __future__ import annotations

from django.urls import path

from clinic.printing import views

app_name = "printing"

urlpatterns = [
    path("workups/<uuid:public_id>/print/", views.plan_print, name="plan-print"),
    path("workups/<uuid:public_id>/plan.pdf", views.plan_pdf, name="plan-pdf"),
]
