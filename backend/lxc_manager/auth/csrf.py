"""Cross-site request defences for cookie-authenticated requests.

Two layers: the per-session ``X-CSRF-Token`` header (a custom header a cross-site form cannot send),
and Fetch-metadata / Origin checks that refuse unsafe requests a browser marks as cross-site.
Bearer-token calls skip both: browsers never attach an Authorization header on their own.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from fastapi import Request

from lxc_manager.core.config import Settings
from lxc_manager.core.errors import CSRFFailed

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"


def is_unsafe(request: Request) -> bool:
    return request.method.upper() not in SAFE_METHODS


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def allowed_origins(request: Request, settings: Settings) -> set[str]:
    """The server's own origin(s) as the client sees them, plus configured trusted origins."""
    # Forwarded headers are safe to honour here: a cross-site page cannot set them without a CORS preflight.
    hosts = {request.headers.get("host", request.url.netloc).lower()}
    forwarded_host = request.headers.get("x-forwarded-host", "").split(",")[0].strip().lower()
    if forwarded_host:
        hosts.add(forwarded_host)
    schemes = {request.url.scheme.lower()}
    forwarded_proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    if forwarded_proto in {"http", "https"}:
        schemes.add(forwarded_proto)
    origins = {f"{scheme}://{host}" for scheme in schemes for host in hosts}
    for url in [settings.public_url or "", *settings.trusted_origins]:
        origin = _origin_of(url)
        if origin:
            origins.add(origin)
    return origins


def check_same_origin(request: Request, settings: Settings) -> None:
    """403 when a browser says the request comes from another site (unsafe methods only)."""
    if not is_unsafe(request):
        return
    if request.headers.get("sec-fetch-site", "").strip().lower() == "cross-site":
        raise CSRFFailed("Cross-site request refused")
    origin = request.headers.get("origin")
    if origin is None:
        return  # non-browser clients and same-origin navigations may omit it; the CSRF token still applies
    normalized = _origin_of(origin) if origin.strip().lower() != "null" else None
    if normalized is None or normalized not in allowed_origins(request, settings):
        raise CSRFFailed("Cross-origin request refused")


def check_csrf_token(request: Request, expected: str) -> None:
    supplied = request.headers.get(CSRF_HEADER, "")
    if not supplied or not hmac.compare_digest(supplied.encode("utf-8"), expected.encode("utf-8")):
        raise CSRFFailed()
