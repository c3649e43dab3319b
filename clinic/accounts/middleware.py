"""Session safety: every page needs a login, and an idle session ends after SESSION_IDLE_MINUTES.

Activity: every request the user's work makes (a form POST, an autosave, a preview, "Stay signed in": anything
that is not a plain page load) stamps the session with the time, so the idle clock always starts at the last one
of them. A plain page load refreshes the stamp only when it is over TOUCH_EVERY_SECONDS old (a session write per
page view would cost a query each); the page then tells the browser how long the session really has left
(``idle_seconds_left``), so the browser's warning and its final save before the log-off run on the server's clock.

After a log-off, signing in returns to the page the user was on. For a request that is not a plain page load (an
autosave, a form POST) that page is the one the request came from (htmx's HX-Current-URL, else the Referer, on this
host only), never the request's own URL: those are POST-only and answered 405 after signing in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

LAST_SEEN_KEY = "chairside_last_seen"
# A plain page load refreshes the stamp at most this often; every other request refreshes it.
TOUCH_EVERY_SECONDS = 30


def _is_page_load(request: HttpRequest) -> bool:
    return request.method in {"GET", "HEAD"} and not getattr(request, "htmx", False)


def return_path(request: HttpRequest) -> str:
    """Where to return after signing in again: this page for a page load, else the page the request came from
    (on this host), else nowhere in particular ("")."""
    if _is_page_load(request):
        return request.get_full_path()
    for header in ("HX-Current-URL", "Referer"):
        url = request.headers.get(header, "")
        if url and url_has_allowed_host_and_scheme(url, {request.get_host()}, request.is_secure()):
            parts = urlsplit(url)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if path.startswith("/") and not path.startswith(reverse(settings.LOGIN_URL)):
                return path
    return ""


def login_url(next_path: str) -> str:
    base = reverse(settings.LOGIN_URL)
    return f"{base}?{urlencode({'next': next_path})}" if next_path else base


def _login_redirect(request: HttpRequest) -> HttpResponse:
    url = login_url(return_path(request))
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def idle_message() -> str:
    minutes = settings.SESSION_IDLE_MINUTES
    return (
        f"You were signed out after {minutes} minute{'' if minutes == 1 else 's'} without activity. "
        "Sign in again to carry on where you were."
    )


def idle_seconds_left(request: HttpRequest) -> int:
    """Seconds until this session is signed out for inactivity, by the server's clock."""
    limit = settings.SESSION_IDLE_MINUTES * 60
    last_seen = request.session.get(LAST_SEEN_KEY) if hasattr(request, "session") else None
    if not isinstance(last_seen, (int, float)):
        return limit
    return max(0, min(limit, int(limit - (time.time() - last_seen))))


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Deny by default (Django's middleware): a view added later is protected unless marked
    ``@login_not_required``. htmx requests get an HX-Redirect so a login page is never swapped into a fragment, and
    a POST without a session returns to the page it came from after signing in, not to its POST-only URL."""

    def handle_no_permission(self, request: HttpRequest, view_func: Callable[..., HttpResponse]) -> HttpResponse:
        if not _is_page_load(request):
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
                messages.info(request, idle_message())
                if request.path.startswith("/api/"):
                    return JsonResponse({"errors": [{"field": "", "message": "Session expired."}]}, status=401)
                return _login_redirect(request)
            if (
                not _is_page_load(request)
                or not isinstance(last_seen, (int, float))
                or now - last_seen > TOUCH_EVERY_SECONDS
            ):
                request.session[LAST_SEEN_KEY] = now
        return self.get_response(request)
