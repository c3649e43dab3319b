from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from clinic.accounts import views as account_views
from clinic.api import views as api_views
from clinic.core import views as core_views

admin.site.site_header = "Chairside administration"
admin.site.site_title = "Chairside"

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("login/", account_views.SignInView.as_view(), name="login"),
    path("logout/", account_views.sign_out, name="logout"),
    path("patients/", include("clinic.patients.urls")),
    path("", include("clinic.workups.urls")),
    path("", include("clinic.interop.urls")),
    path("", include("clinic.printing.urls")),
    path("api/v1/evaluate", api_views.evaluate_view, name="api-evaluate"),
    path("admin/", admin.site.urls),
]
