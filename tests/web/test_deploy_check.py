"""`manage.py check --deploy` with production settings reports nothing (issue 6: headers)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Settings a developer, CI or the test session (DJANGO_ALLOW_ASYNC_UNSAFE) may have exported that would make
# this run less production-like.
DROPPED = (
    "DJANGO_",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "SECURE_",
    "CHAIRSIDE_",
    "SESSION_",
)


def production_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(DROPPED)}
    env.update(
        {
            "DEBUG": "0",
            # A real random key: 50+ characters, many distinct ones, no "django-insecure-" prefix.
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "chairside.example.org",
            "CSRF_TRUSTED_ORIGINS": "https://chairside.example.org",
            "DJANGO_SETTINGS_MODULE": "clinic.settings",
        }
    )
    return env


def test_check_deploy_reports_nothing() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output, output


def test_check_deploy_reports_the_development_key() -> None:
    """The guard works: without a real SECRET_KEY the same command fails (security.W009)."""
    env = production_env()
    del env["SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr
