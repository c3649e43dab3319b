"""Session safety: every page needs a login, and an idle session ends after SESSION_IDLE_MINUTES."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse

LAST_SEEN_KEY = "chairside_last_seen"
# Writing the session on every request costs a query; refresh the stamp at most this often.
TOUCH_EVERY_SECONDS = 30
KEEPALIVE_PATH = "/session/keepalive"


def _login_redirect(request: HttpRequest) -> HttpResponse:
    url = f"{reverse(settings.LOGIN_URL)}?{urlencode({'next': request.get_full_path()})}"
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Deny by default (Django's middleware): a view added later is protected unless marked
    ``@login_not_required``. htmx requests get an HX-Redirect so a login page is never swapped into a fragment."""

    def handle_no_permission(self, request: HttpRequest, view_func: Callable[..., HttpResponse]) -> HttpResponse:
        if getattr(request, "htmx", False):
            return _login_redirect(request)
        return super().handle_no_permission(request, view_func)


class IdleLogoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            last_seen = request.session.get(LAST_SEEN_KEY)
            idle_limit = settings.SESSION_IDLE_MINUTES * 60
            if isinstance(last_seen, (int, float)) and now - last_seen > idle_limit:
                logout(request)
                messages.info(
                    request,
                    f"You were signed out after {settings.SESSION_IDLE_MINUTES} minutes without activity. "
                    "Sign in again to carry on where you were.",
                )
                if request.path.startswith("/api/"):
                    return JsonResponse({"errors": [{"field": "", "message": "Session expired."}]}, status=401)
                return _login_redirect(request)
            if (
                not isinstance(last_seen, (int, float))
                or now - last_seen > TOUCH_EVERY_SECONDS
                or request.path == KEEPALIVE_PATH
            ):
                request.session[LAST_SEEN_KEY] = now
        return self.get_response(request)
