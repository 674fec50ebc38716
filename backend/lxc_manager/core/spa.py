"""Serve the built SPA: hashed assets with long caching, and ``index.html`` for every client-side route.

API paths (``/api``, ``/docs``, ``/healthz``…) are never answered with the page: an unknown API path keeps
its JSON 404 so scripts and the generated SDK see a real error.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from lxc_manager.core.logging import get_logger

log = get_logger(__name__)

# Paths the backend owns; everything else that is a GET for a page gets index.html.
RESERVED_PREFIXES = ("/api", "/docs", "/redoc", "/openapi.json", "/healthz", "/readyz", "/assets")
IMMUTABLE = "public, max-age=31536000, immutable"
# Mantine sets inline styles (CSS variables), hence 'unsafe-inline' for styles only; scripts are ours alone.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


class _ImmutableAssets(StaticFiles):
    """Vite names assets by content hash, so a browser may keep them for a year."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = IMMUTABLE
        return response


def is_reserved(path: str) -> bool:
    return any(path == prefix or path.startswith(f"{prefix}/") for prefix in RESERVED_PREFIXES)


def mount_spa(app: FastAPI, dist: Path) -> bool:
    """Mount the SPA when ``dist/index.html`` exists; returns whether it was mounted."""
    index = dist / "index.html"
    if not index.is_file():
        log.info("spa_not_built", frontend_dir=str(dist), hint="make frontend-build")
        return False
    assets = dist / "assets"
    if assets.is_dir():
        app.mount("/assets", _ImmutableAssets(directory=assets), name="spa-assets")
    root = dist.resolve()

    @app.get("/{path:path}", include_in_schema=False)
    async def spa_page(path: str, request: Request) -> Response:
        url_path = request.url.path
        if is_reserved(url_path):
            raise StarletteHTTPException(status_code=404)
        # A real file at the top of dist (favicon, robots.txt); never anything outside it.
        candidate = (root / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(root):
            return FileResponse(candidate)
        # index.html must not be cached: it names the current hashed assets.
        return FileResponse(index, headers={"Cache-Control": "no-cache", "Content-Security-Policy": PAGE_CSP})

    return True
