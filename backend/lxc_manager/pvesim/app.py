"""The HTTPS API of the simulator (Starlette ASGI): ``/api2/json/...`` like pveproxy, plus the ``/_sim`` control API.

Request pipeline, in PVE's order (pve-http-server ``AnyEvent.pm`` + pve-manager ``HTTPServer.pm``): body on
GET/DELETE → 501; API-token or ticket (+CSRF) auth → 401 after ``auth_delay``; route lookup → 501;
URI/body merge → 400 on conflict;
``allowtoken`` and ``permissions.check`` → 403; proxy to ``{node}`` → 500 unknown host / 595-596 when offline;
schema validation → 400; handler → 200 ``{"data": …}`` or 500/400 with ``{"data": null, "message": "…\\n"}``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
import urllib.parse
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lxc_manager.core.logging import get_logger
from lxc_manager.pvesim import api_cluster, api_lxc, api_power, api_storage  # noqa: F401  (register handlers)
from lxc_manager.pvesim.acl import ApiToken, PermissionDenied, session
from lxc_manager.pvesim.control import control_routes
from lxc_manager.pvesim.core import HANDLERS, Call, PveError, Simulator, param_error
from lxc_manager.pvesim.reason import set_reason
from lxc_manager.pvesim.schema import MethodNotImplemented, coerce_params, merge_path_params, validate_params

log = get_logger(__name__)

PREFIX = "/api2/json"
HEADERS = {"Server": "pve-api-daemon/3.0", "Cache-Control": "max-age=0", "Pragma": "no-cache",
           "Expires": "Thu, 01 Jan 1970 00:00:00 GMT"}  # fmt: skip
CONTENT_TYPE = "application/json;charset=UTF-8"


def pve_response(status: int, payload: dict[str, Any] | None, reason: str | None = None) -> Response:
    set_reason(reason)
    body = b"" if payload is None else json.dumps(payload).encode()
    return Response(body, status_code=status, headers=HEADERS, media_type=CONTENT_TYPE)


_COOKIE_RE = re.compile(r"(?:^|[\s;])PVEAuthCookie=([^;]*)")


def _authenticate(sim: Simulator, request: Request, method: str) -> ApiToken | None:
    """An API token, or a ticket (cookie or ``Authorization: PVEAuthCookie=…``) plus CSRF token on writes."""
    header = request.headers.get("authorization")
    token = sim.acl.authenticate(header)
    if token is not None:
        return None if sim.faults.token_revoked(token.full_id) else token
    found = _COOKIE_RE.search(header or "") or _COOKIE_RE.search(request.headers.get("cookie", ""))
    userid = sim.acl.verify_ticket(urllib.parse.unquote(found.group(1))) if found else None
    if userid is None:
        return None
    if method != "GET" and request.url.path != PREFIX + "/access/ticket":
        csrf = request.headers.get("csrfpreventiontoken", "")
        if not sim.acl.verify_csrf(userid, csrf):
            return None  # PVE: 401 "Permission denied - invalid csrf token"
    return session(userid)


def error_response(exc: PveError) -> Response:
    """The message is the reason phrase (see reason.py) and, since libpve-http-server 5.2.0, the body ``message``."""
    if exc.status == 401:
        return pve_response(401, None, exc.message)
    payload: dict[str, Any] = {"data": None, "message": exc.message.rstrip("\n") + "\n"}
    if exc.errors:
        payload["errors"] = exc.errors
    return pve_response(exc.status, payload, exc.message)


async def _params(request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
    """Query string plus (for POST/PUT) a form-encoded, JSON or multipart body; repeated keys join with NUL."""
    params: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in urllib.parse.parse_qsl(request.url.query, keep_blank_values=True):
        params[key] = f"{params[key]}\0{value}" if key in params else value
    if request.method not in {"POST", "PUT"}:
        return params, extra
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        raw = await request.body()
        if raw.strip():
            try:
                data = json.loads(raw)
            except ValueError:
                raise PveError(400, "malformed JSON body") from None
            if not isinstance(data, dict):
                raise PveError(400, "JSON body must be an object")
            params.update(data)
    elif ctype == "multipart/form-data":
        form = await request.form(max_part_size=1024**3)
        for key, item in form.multi_items():
            if isinstance(item, str):
                params[key] = item
                continue
            upload: Any = item
            content = await upload.read()
            # PVE's multipart parser puts the uploaded file's name into the `filename` parameter.
            params[key] = upload.filename or ""
            extra.update(upload_filename=upload.filename, upload_size=len(content))
    else:
        body = (await request.body()).decode("utf-8", "replace")
        for key, value in urllib.parse.parse_qsl(body, keep_blank_values=True):
            params[key] = f"{params[key]}\0{value}" if key in params else value
    return params, extra


async def handle_api(request: Request) -> Response:
    sim: Simulator = request.app.state.sim
    method = request.method
    rel = "/" + request.path_params.get("rest", "").strip("/")
    try:
        if method in {"GET", "DELETE"} and (await request.body()):
            raise PveError(501, f"Unexpected content for method '{method}'")
        is_login = method == "POST" and rel == "/access/ticket"
        token = _authenticate(sim, request, method)
        if token is None and not is_login:
            await asyncio.sleep(sim.config.auth_delay)  # pve-http-server delays unauthorized calls
            has_credentials = "authorization" in request.headers or "PVEAuthCookie" in request.headers.get("cookie", "")
            return pve_response(401, None, "authentication failure" if has_credentials else "No ticket")
        if token is None:
            token = session("nobody@pve")  # the login call itself needs no credentials
        try:
            route = sim.schema.match(method, rel)
        except MethodNotImplemented as exc:
            raise PveError(501, exc.message) from None
        info = route.info
        template_key = (method, info.path)
        delay = sim.faults.latency(method, info.path)
        if delay:
            await asyncio.sleep(delay)
        injected = sim.faults.error_for(method, info.path)
        if injected is not None:
            raise PveError(*injected)
        params, extra = await _params(request)
        merged, dup_errors = merge_path_params(route.path_params, params)
        if dup_errors:
            raise param_error(dup_errors)
        if not info.allowtoken and token.is_token:
            raise PermissionDenied(f"URI '{rel}' not available with API token, need proper ticket.")
        check = info.permissions.get("check")
        if check:
            sim.acl.evaluate(token, check, merged)
        if info.proxyto == "node" and "node" in merged:
            sim.require_node(str(merged["node"]))
        if "node" in route.path_params:
            offline = sim.faults.node_offline(route.path_params["node"])
            if offline is not None:
                raise PveError(*offline)
        errors = validate_params(info, merged)
        if errors:
            raise param_error(errors)
        handler = HANDLERS.get(template_key)
        if handler is None:
            raise PveError(501, f"Method '{method} {rel}' not implemented")
        extra["fingerprint"] = request.app.state.fingerprint
        call = Call(sim, token, info, coerce_params(info, merged), merged, extra)
        result = await handler(call)
    except PermissionDenied as exc:
        return error_response(PveError(403, exc.message))
    except PveError as exc:
        return error_response(exc)
    except Exception as exc:  # a simulator bug: answer like a Perl die (500 + message) and keep the trace in the log
        log.exception("pvesim handler failed", method=method, path=rel)
        return error_response(PveError(500, f"simulator error: {exc}"))
    payload: dict[str, Any] = {"data": result}
    if "total" in extra:
        payload["total"] = extra["total"]
    return pve_response(200, payload)


def _check_control(request: Request) -> None:
    expected = request.app.state.control_token
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not expected or not hmac.compare_digest(given, expected):
        raise PveError(401, "control token required")


def create_app(sim: Simulator, control_token: str, fingerprint: str = "") -> Starlette:
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
    app = Starlette(
        routes=[
            *control_routes(_check_control),
            Route(PREFIX + "/{rest:path}", handle_api, methods=methods),
            Route(PREFIX, handle_api, methods=methods),
        ]
    )
    app.state.sim = sim
    app.state.control_token = control_token
    app.state.fingerprint = fingerprint
    return app
