from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from clinic.accounts import staff as staff_views
from clinic.accounts import unit_settings
from clinic.accounts import views as account_views
from clinic.api import views as api_views
from clinic.audit import views as audit_views
from clinic.core import views as core_views

admin.site.site_header = "Chairside administration"
admin.site.site_title = "Chairside"

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("session/keepalive", core_views.keepalive, name="keepalive"),
    path("login/", account_views.SignInView.as_view(), name="login"),
    path("logout/", account_views.sign_out, name="logout"),
    path("patients/", include("clinic.patients.urls")),
    path("staff/", staff_views.staff_list, name="staff"),
    path("staff/<slug:code>/add/", staff_views.staff_add, name="staff-add"),
    path("staff/<slug:code>/settings/", unit_settings.unit_settings, name="unit-settings"),
    path("staff/<slug:code>/<int:membership_id>/", staff_views.staff_change, name="staff-change"),
    path("staff/<slug:code>/<int:membership_id>/unlock/", staff_views.staff_unlock, name="staff-unlock"),
    path("audit/", audit_views.audit_list, name="audit"),
    path("", include("clinic.workups.urls")),
    path("", include("clinic.interop.urls")),
    path("", include("clinic.printing.urls")),
    path("api/v1/evaluate", api_views.evaluate_view, name="api-evaluate"),
    path("admin/", admin.site.urls),
]
