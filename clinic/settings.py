"""Chairside settings: one module, driven by environment variables.

Every value a deployment may change is read from the environment here; see README.md ("Configuration").
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from django.utils.csp import CSP

from clinic.envconf import env_bool, env_int, env_list, parse_database_url

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
# Without SECRET_KEY an insecure development key is used; `manage.py check --deploy` reports it.
SECRET_KEY = os.environ.get("SECRET_KEY") or "django-insecure-chairside-development-key-do-not-deploy"
# Rotating the key: put the old key in SECRET_KEY_FALLBACKS (comma-separated) for one session lifetime.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "clinic.core",
    "clinic.accounts",
    "clinic.audit",
    "clinic.patients",
    "clinic.api",
    "clinic.workups",
    "clinic.interop",
    "clinic.printing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "clinic.core.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "clinic.accounts.middleware.IdleLogoutMiddleware",
    "clinic.accounts.middleware.LoginRequiredMiddleware",
    "clinic.audit.middleware.AuditAccessMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "clinic.core.context_processors.chairside",
            ],
        },
    },
    {  # the page fragments drawn with Jinja2, under an app's jinja2/ folder (clinic/core/jinja2env.py)
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "APP_DIRS": True,
        "OPTIONS": {"environment": "clinic.core.jinja2env.environment"},
    },
]

DATABASES = {"default": parse_database_url(os.environ.get("DATABASE_URL", "sqlite:///db.sqlite3"), BASE_DIR)}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses sign-in while an account/address pair is locked out
    # ModelBackend, loading the signed-in user with their memberships in one query (clinic/accounts/backends.py)
    "clinic.accounts.backends.MembershipsModelBackend",
]

# Login throttling (django-axes), two lockout parameters with the same limit:
# - AXES_FAILURE_LIMIT failed sign-ins for one username from one address lock that pair (not the username alone, so
#   a stranger elsewhere cannot lock a nurse out of her own account);
# - AXES_FAILURE_LIMIT failed sign-ins from one address, whatever the usernames, lock that address (password
#   spraying: a few guesses at many accounts). A successful sign-in from the address clears its count.
# Locks last AXES_COOLOFF_MINUTES; a unit admin unlocks a username on the Staff page, a superuser anything in the
# admin (Axes > Access attempts).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
# Reverse proxies in front of Chairside: the client's address is read from X-Forwarded-For accordingly, for the
# audit trail and for login throttling alike (clinic/core/clientip.py).
CHAIRSIDE_PROXY_COUNT = env_int("CHAIRSIDE_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "clinic.core.clientip.client_ip"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"  # by role: the worklist for nurses and nephrologists, the patient list for unit admins
LOGOUT_REDIRECT_URL = "login"

# No cache. Nothing in Chairside keeps state in Django's cache: a per-process cache (the default LocMemCache) would
# hold a different copy on every worker and host, so neither rendered pages nor anything about a user may live
# there. A shared cache (Redis, Memcached) can be configured here when something is measured to need it.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
# Sessions live in the database and are read from it on every request, never through a per-process cache: a
# sign-out, an idle log-off or a deactivation ends the session on every worker and every host at the next request.
# Django's database sessions; an existing session is saved with one UPDATE statement (clinic/accounts/sessions.py).
SESSION_ENGINE = "clinic.accounts.sessions"

# Sessions: end after SESSION_IDLE_MINUTES without activity (IdleLogoutMiddleware), and after 12 h regardless.
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 15)
SESSION_COOKIE_AGE = 12 * 60 * 60
# On shared ward computers, end the session when the browser closes as well (a cookie without an expiry date).
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", False)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or env_bool("CHAIRSIDE_PLAIN_STATIC", False)
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Content Security Policy (Django 6 built-in): no inline script or style anywhere.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Permissions-Policy (clinic/core/middleware.py): Chairside uses none of these browser features, so none may be used,
# by our pages or anything framed in them.
_NO_FEATURES = (
    "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media", "fullscreen",
    "geolocation", "gyroscope", "hid", "idle-detection", "magnetometer", "microphone", "midi", "payment",
    "picture-in-picture", "publickey-credentials-get", "screen-wake-lock", "serial", "usb", "xr-spatial-tracking",
)  # fmt: skip
PERMISSIONS_POLICY: dict[str, list[str]] = {feature: [] for feature in _NO_FEATURES}

# Behind TLS in production (DEBUG off): secure cookies, HSTS and redirect to HTTPS.
# SECURE_SSL_REDIRECT can be switched off when a proxy already redirects (CHAIRSIDE_SSL_REDIRECT=0).
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("CHAIRSIDE_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_SSL_REDIRECT = env_bool("CHAIRSIDE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if env_bool("CHAIRSIDE_BEHIND_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# API: request bodies above this size are refused with 413.
API_MAX_BODY_BYTES = 256 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
# Form widgets render through Django's Jinja2 widget templates: the same markup as the Django-template ones,
# about a fifth faster on the wizard's longest steps (crispy-forms still renders the Bootstrap wrappers). Templates
# that exist only as Django templates (the admin's widgets) fall back to Django's renderer (clinic/core/renderers.py).
FORM_RENDERER = "clinic.core.renderers.Jinja2WithDjangoFallback"
