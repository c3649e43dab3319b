"""The client's address, the same for the audit trail and for login throttling (django-axes).

Without a proxy it is the connection's address (REMOTE_ADDR). Behind CHAIRSIDE_PROXY_COUNT trusted reverse proxies,
each proxy appends the address it received the request from to X-Forwarded-For, so the client is the entry that
many places from the right; anything further left was written by the client and is not trusted. A header with
fewer entries than configured proxies, or an entry that is not an IP address, falls back to REMOTE_ADDR.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(address: str) -> str | None:
    try:
        return ipaddress.ip_address(address.strip()).compressed
    except ValueError:
        return None


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    remote = _valid(request.META.get("REMOTE_ADDR") or "")
    proxies = getattr(settings, "CHAIRSIDE_PROXY_COUNT", 0)
    if proxies > 0:
        forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return _valid(forwarded[-proxies]) or remote
    return remote
