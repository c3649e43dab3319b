"""Integrity of the reference list (called by integrity.check_integrity; issue 17 point 11).

A clinician must be able to trust where a source link leads. Refused:
- a bare IP address as the host (no publisher stands behind it), marked or not;
- a link to a secondary host (Wikipedia and its mirrors, document-sharing mirrors, blogs, AI answer sites,
  vendor development or test servers, drug-information aggregators) without the facts sheet's mark
  ``secondary = true`` ("secondary source; primary not verified"), which the plan and catalogue show beside it;
- a link that is not https (or http to the two official hosts facts.md still cites over http).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from .knowledge import Knowledge

# host suffix -> what kind of secondary host it is
SECONDARY_HOSTS = {
    "wikipedia.org": "Wikipedia",
    "kiwix.haohe.fun": "a Wikipedia mirror",
    "wikiwand.com": "a Wikipedia mirror",
    "droracle.ai": "an AI answer site",
    "guidelinegenius.com": "an AI answer site",
    "inpharmd.com": "an AI answer service",
    "perplexity.ai": "an AI answer site",
    "openevidence.com": "an AI answer site",
    "consensus.app": "an AI answer site",
    "blogspot.com": "a blog",
    "wordpress.com": "a blog",
    "medium.com": "a blog",
    "substack.com": "a blog",
    "about.com": "a consumer content site",
    "vdocument.in": "a document-sharing mirror",
    "paperzz.com": "a document-sharing mirror",
    "coek.info": "a document-sharing mirror",
    "studylib.net": "a document-sharing mirror",
    "scribd.com": "a document-sharing mirror",
    "researcher.life": "an article aggregator",
    "linkedlifedata.com": "an article aggregator",
    "litmetric.com": "an article aggregator",
    "formweb.com": "a page host",
    "pillsync.com": "a drug-information aggregator",
    "drugs.com": "a drug-information site",
    "rxlist.com": "a drug-information site",
    "rxreasoner.com": "a drug-information site",
    "globalrph.com": "a drug-information site",
    "empr.com": "a drug-information site",
    "drugcentral.org": "a copy of drug labels",
    "skyscape.com": "a drug-information app",
    "medicalalgorithms.com": "a calculator site",
    "news-medical.net": "a news site",
    "medicaldialogues.in": "a news site",
    "azurewebsites.net": "a vendor hosting server",
    "mimsdev.com": "a vendor development server",
    "herokuapp.com": "an application hosting server",
}
TEST_SERVER_LABELS = ("dev", "uat", "test", "staging", "stage", "qa", "sandbox", "preprod")
HTTP_ALLOWED = ("kidneyfoundation.cachefly.net", "www.fda.gov")


def secondary_host(url: str) -> str | None:
    """What kind of secondary host ``url`` is on, or None for a publisher, journal, registry or label site."""
    host = (urlsplit(url).hostname or "").lower()
    for suffix, kind in SECONDARY_HOSTS.items():
        if host == suffix or host.endswith("." + suffix):
            return kind
    if any(label in TEST_SERVER_LABELS for label in host.split(".")[:-2]):
        return "a development or test server"
    return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def check_sources(k: Knowledge) -> list[str]:
    problems: list[str] = []
    for ref in k.references.values():
        if not ref.url:
            continue
        parts = urlsplit(ref.url)
        host = (parts.hostname or "").lower()
        where = f"reference '{ref.id}' ({ref.url})"
        if not host:
            problems.append(f"{where}: not a web address")
            continue
        if _is_ip(host):
            problems.append(f"{where}: a bare IP address; link the publisher, PubMed, a DOI or the official label")
        if parts.scheme != "https" and not (parts.scheme == "http" and host in HTTP_ALLOWED):
            problems.append(f"{where}: use https")
        kind = secondary_host(ref.url)
        if kind and not ref.secondary:
            problems.append(
                f"{where}: {kind}; link the primary source or mark it secondary = true "
                "(secondary source; primary not verified)"
            )
    return problems
