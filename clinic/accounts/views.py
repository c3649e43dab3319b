from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from clinic.accounts.forms import SignInForm
from clinic.accounts.middleware import idle_message, login_url


class SignInView(LoginView):
    template_name = "accounts/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """Sign out. The browser's idle log-off posts here too (``reason=idle``, after saving what was being typed),
    naming the page it was on so that signing in again returns there."""
    logout(request)
    if request.POST.get("reason") == "idle":
        messages.info(request, idle_message())
        next_path = request.POST.get("next", "")
        safe = next_path.startswith("/") and url_has_allowed_host_and_scheme(next_path, {request.get_host()})
        return HttpResponseRedirect(login_url(next_path if safe else ""))
    messages.info(request, "You are signed out.")
    return redirect("login")
