"""Project-wide pytest hooks. Must stay Django-free so `pytest -p no:django tests/engine` works."""

from __future__ import annotations

import os

import pytest


def database_label() -> str:
    url = os.environ.get("DATABASE_URL", "sqlite:///db.sqlite3 (default)")
    engine = "PostgreSQL" if url.startswith(("postgres", "pgsql")) else "SQLite"
    safe = url.split("@")[-1] if "@" in url else url
    return f"Chairside test database: {engine} ({safe})"


def pytest_report_header(config: pytest.Config) -> str:
    return database_label()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    terminalreporter.write_line(database_label())
