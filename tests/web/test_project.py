"""Guard tests for the whole project: migrations, checks, every named URL, health check, settings parsing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from clinic.accounts.models import User
from clinic.envconf import parse_database_url
from clinic.patients.models import Patient
from tests.web.routes import PUBLIC_ROUTES, TOKEN_ROUTES, named_routes, url_for


def test_every_named_route_is_known() -> None:
    names = {name for name, _ in named_routes()}
    assert {"home", "login", "logout", "healthz", "patients:list", "patients:detail", "workups:step"} <= names


@pytest.mark.django_db
def test_every_named_url_renders_for_member_and_redirects_anonymous(
    nurse_a: User, scoped_objects: dict[str, Any], client_for: Callable[[User], Client]
) -> None:
    objects = scoped_objects
    # A unit admin is authorised for every page, including the staff and audit pages.
    nurse_a.memberships.update(role="unit_admin")
    member = client_for(nurse_a)
    anonymous = Client()
    post_only = []
    for name, pattern in named_routes():
        url = url_for(name, pattern, objects)
        response = member.get(url, follow=True)
        assert response.status_code in (200, 405), (name, response.status_code)
        if response.status_code == 405:
            post_only.append(name)
        if name not in PUBLIC_ROUTES and name not in TOKEN_ROUTES:
            for method in (anonymous.get, anonymous.post):
                response = method(url)
                assert response.status_code == 302, (name, response.status_code)
                assert response["Location"].startswith(reverse("login")), name
    assert {"logout", "workups:start", "workups:sign"} <= set(post_only)


@pytest.mark.django_db
def test_pages_have_exactly_one_h1(
    nurse_a: User, unit_a: Any, make_patient: Callable[..., Patient], client_for: Callable[[User], Client]
) -> None:
    patient = make_patient(unit_a)
    client = client_for(nurse_a)
    for url in [
        reverse("patients:list"),
        reverse("patients:detail", args=[patient.public_id]),
        reverse("patients:create"),
        reverse("patients:edit", args=[patient.public_id]),
    ]:
        html = client.get(url).content.decode()
        assert html.count("<h1") == 1, url
    assert Client().get(reverse("login")).content.decode().count("<h1") == 1


def test_no_state_in_a_per_process_cache(settings: Any) -> None:
    """Nothing is cached per process: every worker and host must see the same sessions, plans and permissions."""
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.dummy.DummyCache"
    from importlib import import_module

    from django.contrib.sessions.backends import cached_db, db

    store = import_module(settings.SESSION_ENGINE).SessionStore
    # Django's database sessions (saved with one UPDATE), never the cached_db engine that subclasses them.
    assert issubclass(store, db.SessionStore) and not issubclass(store, cached_db.SessionStore)
    assert store.get_model_class() is db.SessionStore.get_model_class()
    clinic = Path(__file__).resolve().parents[2] / "clinic"
    users = [p for p in clinic.rglob("*.py") if "from django.core.cache import" in p.read_text(encoding="utf-8")]
    assert not users, users


@pytest.mark.django_db
def test_healthz_checks_the_database() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


@pytest.mark.django_db
def test_csp_header_forbids_inline_script(nurse_a: User, client_for: Callable[[User], Client]) -> None:
    response = client_for(nurse_a).get(reverse("patients:list"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    html = response.content.decode()
    assert "<script>" not in html and " style=" not in html


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///db.sqlite3", {"ENGINE": "django.db.backends.sqlite3", "NAME": Path("/base/db.sqlite3")}),
        ("sqlite:////tmp/x.db", {"ENGINE": "django.db.backends.sqlite3", "NAME": "/tmp/x.db"}),
        (
            "postgres://app:s%40cret@db.example:5433/chairside",
            {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "chairside",
                "USER": "app",
                "PASSWORD": "s@cret",
                "HOST": "db.example",
                "PORT": "5433",
            },
        ),
        ("postgresql:///chairside?host=/run/pg", {"NAME": "chairside", "HOST": "/run/pg", "PORT": ""}),
    ],
)
def test_database_url_parsing(url: str, expected: dict[str, Any]) -> None:
    parsed = parse_database_url(url, Path("/base"))
    for key, value in expected.items():
        assert parsed[key] == value


def test_database_url_rejects_unknown_scheme() -> None:
    with pytest.raises(ValueError, match="not supported"):
        parse_database_url("mysql://x/y", Path("/base"))


@pytest.mark.parametrize(
    ("query", "binding", "threshold"),
    [
        ("", True, 5),
        ("?prepare_threshold=2", True, 2),
        ("?prepare_threshold=none", True, None),
        ("?server_side_binding=false", False, None),
    ],
)
def test_database_url_prepares_statements_unless_told_not_to(query: str, binding: bool, threshold: int | None) -> None:
    options = parse_database_url(f"postgres://db.example/chairside{query}", Path("/base"))["OPTIONS"]
    assert options["server_side_binding"] is binding
    assert options.get("prepare_threshold") == threshold


def test_database_url_pools_connections_unless_told_not_to() -> None:
    pooled = parse_database_url("postgres://db.example/chairside?pool_max_size=20", Path("/base"))
    assert pooled["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 20, "timeout": 10.0}
    assert pooled["CONN_MAX_AGE"] == 0 and pooled["CONN_HEALTH_CHECKS"] is False
    persistent = parse_database_url("postgres://db.example/chairside?pool=off", Path("/base"))
    assert "pool" not in persistent["OPTIONS"]
    assert persistent["CONN_MAX_AGE"] == 60 and persistent["CONN_HEALTH_CHECKS"] is True
