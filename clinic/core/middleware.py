"""Response headers every page gets: no caching of anything Chairside answers, and no powerful browser features.

- ``Cache-Control: no-store`` on every response the application itself produces (pages, fragments, PDFs, JSON;
  static files are served earlier by WhiteNoise with their own long-lived headers). Patient data must not stay in
  the browser's or a proxy's cache on a shared ward computer, nor come back with the Back button after sign-out.
  A view that sets its own Cache-Control keeps it, with no-store added.
- ``Permissions-Policy`` from settings.PERMISSIONS_POLICY: camera, microphone, geolocation and the rest are off.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


def permissions_policy(features: dict[str, list[str]]) -> str:
    """``{"camera": [], "fullscreen": ["self"]}`` -> ``camera=(), fullscreen=(self)``."""
    return ", ".join(f"{name}=({' '.join(origins)})" for name, origins in features.items())


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = permissions_policy(settings.PERMISSIONS_POLICY)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Cache-Control" in response:
            patch_cache_control(response, no_store=True)
        else:
            response["Cache-Control"] = "no-store"
        if self.policy:
            response.setdefault("Permissions-Policy", self.policy)
        return response
