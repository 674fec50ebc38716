"""Enumerate the app's operations with the access level their dependencies demand.

FastAPI >= 0.16x keeps included routers as lazy branches, so ``app.routes`` no longer lists every
APIRoute; walk the original routers instead. The scope comes from the ``required_scope`` attribute of
``auth.dependencies.require_scope`` dependencies.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from lxc_manager.auth.dependencies import get_current_principal

SAFE = {"get", "head", "options"}


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str  # lower case
    path: str  # as in the OpenAPI document, with {placeholders}
    authenticated: bool
    scope: str | None  # "read" / "write" / "admin", or None when any signed-in caller will do
    spec: dict[str, Any]

    @property
    def unsafe(self) -> bool:
        return self.method not in SAFE

    def url(self) -> str:
        """The path with placeholders filled by values that name nothing (so no real object is touched)."""
        url = self.path
        for param in self.spec.get("parameters", []):
            if param.get("in") == "path":
                kind = param.get("schema", {}).get("type")
                url = url.replace("{" + param["name"] + "}", "999999" if kind == "integer" else "no-such-thing")
        return url


def _api_routes(router: Any) -> Iterator[APIRoute]:
    for route in router.routes:
        if isinstance(route, APIRoute):
            yield route
        original = getattr(route, "original_router", None)
        if original is not None:
            yield from _api_routes(original)


def _walk(dependant: Dependant) -> Iterator[Any]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _walk(dep)


def operations(app: FastAPI) -> list[Operation]:
    access: dict[str, tuple[bool, str | None]] = {}
    for route in _api_routes(app.router):
        calls = list(_walk(route.dependant))
        scopes = [str(call.required_scope.value) for call in calls if hasattr(call, "required_scope")]
        authenticated = get_current_principal in calls
        access[route.operation_id or route.name] = (authenticated, scopes[0] if scopes else None)
    found = []
    for path, item in app.openapi()["paths"].items():
        for method, spec in item.items():
            authenticated, scope = access[spec["operationId"]]
            found.append(Operation(spec["operationId"], method, path, authenticated, scope, spec))
    return found
