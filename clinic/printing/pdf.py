"""PDF rendering with WeasyPrint (server-side, no browser process, deterministic page layout).

Why WeasyPrint rather than Chromium's page.pdf(): it runs inside the Django process in about 0.2 s for a
two-page plan, needs no headless browser on the server, and supports paged-media CSS (running headers, page x of
y, no row splitting). Its URL fetcher is replaced so rendering can only read the project's own static files:
no network, no file:// access (SSRF advisory CVE-2025-68616)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from clinic.printing.context import header_for_preview, print_context, workup_print_context
from clinic.workups.models import SignedPlan, Workup

BASE_URL = "https://chairside.invalid/"
STATIC_PREFIX = "/static/"


class StaticOnlyFetcher(URLFetcher):
    """Serve ``https://chairside.invalid/static/...`` from the project's static files; refuse everything else."""

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}/" != BASE_URL or not parts.path.startswith(STATIC_PREFIX):
            raise ValueError(f"Blocked resource outside the project's static files: {url[:80]}")
        name = unquote(parts.path[len(STATIC_PREFIX) :])
        if ".." in name.split("/"):
            raise ValueError("Blocked path traversal in a static file name.")
        path = finders.find(name)
        if path is None and staticfiles_storage.exists(name):
            path = staticfiles_storage.path(name)
        if path is None:
            raise ValueError(f"No such static file: {name}")
        with open(path, "rb") as handle:
            body = handle.read()
        mime = "text/css" if name.endswith(".css") else "application/octet-stream"
        return URLFetcherResponse(url, body, {"Content-Type": mime}, 200)


def html_to_pdf(html: str) -> bytes:
    document = HTML(string=html, base_url=BASE_URL, url_fetcher=StaticOnlyFetcher(allowed_protocols={"https"}))
    return document.write_pdf()


def render_print_html(plan: Mapping[str, Any], context: dict[str, Any], for_pdf: bool) -> str:
    template = "printing/handout.html" if context["kind"] == "handout" else "printing/plan.html"
    return render_to_string(template, {**context, "for_pdf": for_pdf})


def render_plan_pdf(workup: Workup, kind: str = "plan", paper: str = "a4") -> bytes:
    plan, signed = workup.current_plan()
    if plan is None:
        raise ValueError("This workup has no care plan yet.")
    return render_snapshot_pdf(workup, signed, plan, kind, paper)


def render_snapshot_pdf(
    workup: Workup, signed: SignedPlan | None, plan: Mapping[str, Any], kind: str, paper: str
) -> bytes:
    context = workup_print_context(workup, signed, plan, kind, paper)
    return html_to_pdf(render_print_html(plan, context, for_pdf=True))


def stored_pdf(signed: SignedPlan | None, kind: str, paper: str) -> bytes | None:
    """The PDF rendered at signing, if this request asks for it (same kind and paper); None otherwise."""
    if signed is None or signed.pdf_paper != paper:
        return None
    data = signed.plan_pdf if kind == "plan" else signed.handout_pdf
    return bytes(data) if data else None


def render_case_pdf(
    plan: Mapping[str, Any], kind: str = "plan", paper: str = "a4", case: Mapping[str, Any] | None = None
) -> bytes:
    """A preview straight from a contract case's plan: nothing is saved, and it says so on every page."""
    context = print_context(plan, header_for_preview(plan), kind, paper, signed=False, case=case)
    return html_to_pdf(render_print_html(plan, context, for_pdf=True))
