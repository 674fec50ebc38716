"""The one error shape of the API, ``{"error": code, "detail": message}``, and the exceptions that map to it.

Exception tree::

    AppError (500 internal_error)
    ├── BadRequest (400 bad_request)
    ├── NotAuthenticated (401 not_authenticated)
    ├── Forbidden (403 forbidden)
    │   └── CSRFFailed (403 csrf_failed)
    ├── NotFound (404 not_found)
    ├── Conflict (409 conflict)
    ├── PreconditionFailed (412 precondition_failed)
    ├── PayloadTooLarge (413 payload_too_large)
    ├── UnprocessableEntity (422 validation_error)
    ├── TooManyRequests (429 too_many_requests)
    └── ServiceUnavailable (503 service_unavailable)
"""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from lxc_manager.core.logging import get_logger

log = get_logger(__name__)


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="Where the bad value is, e.g. ['body', 'name']")
    msg: str
    type: str


class ErrorResponse(BaseModel):
    """Every 4xx/5xx answer has this shape."""

    error: str = Field(description="Stable machine-readable code", examples=["not_found"])
    detail: str = Field(description="Human-readable explanation", examples=["Node not found"])
    fields: list[FieldError] | None = Field(default=None, description="Per-field problems (validation errors)")


class AppError(Exception):
    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    default_detail: ClassVar[str] = "Internal server error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        fields: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        self.error_code = code or self.code
        self.fields = fields
        self.headers = headers
        super().__init__(self.detail)


class BadRequest(AppError):
    status_code = 400
    code = "bad_request"
    default_detail = "Bad request"


class NotAuthenticated(AppError):
    status_code = 401
    code = "not_authenticated"
    default_detail = "Authentication required"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"
    default_detail = "You are not allowed to do this"


class CSRFFailed(Forbidden):
    code = "csrf_failed"
    default_detail = "Missing or invalid X-CSRF-Token header"


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    default_detail = "Not found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"
    default_detail = "Conflict with the current state"


class PreconditionFailed(AppError):
    status_code = 412
    code = "precondition_failed"
    default_detail = "The resource changed since you read it"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"
    default_detail = "Request body too large"


class UnprocessableEntity(AppError):
    status_code = 422
    code = "validation_error"
    default_detail = "Invalid input"


class TooManyRequests(AppError):
    status_code = 429
    code = "too_many_requests"
    default_detail = "Too many requests; slow down"


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"
    default_detail = "Service unavailable"


_STATUS_CODES: dict[int, str] = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}


def error_body(code: str, detail: str, fields: list[FieldError] | None = None) -> dict[str, Any]:
    return ErrorResponse(error=code, detail=detail, fields=fields).model_dump(exclude_none=True)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entry declaring the error shape for each status."""
    return {status: {"model": ErrorResponse, "description": _STATUS_CODES.get(status, "error")} for status in statuses}


def _json_safe_loc(loc: Any) -> list[str | int]:
    return [part if isinstance(part, int | str) else str(part) for part in loc]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.error_code, exc.detail, exc.fields),
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [
            FieldError(
                loc=_json_safe_loc(err.get("loc", ())),
                msg=str(err.get("msg", "")),
                type=str(err.get("type", "")),
            )
            for err in exc.errors()
        ]
        summary = "; ".join(f"{'.'.join(str(p) for p in f.loc)}: {f.msg}" for f in fields[:5]) or "Invalid input"
        return JSONResponse(error_body("validation_error", summary, fields), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        detail = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return JSONResponse(error_body(code, detail), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(DBAPIError)
    async def _database_error(_: Request, exc: DBAPIError) -> JSONResponse:
        # A value the database refuses (e.g. NUL in text on PostgreSQL, out-of-range numbers) is bad
        # input, not a server fault; anything else stays a 500.
        if isinstance(exc, DataError) or ("character" in str(exc.orig).lower() and "0x00" in str(exc.orig)):
            return JSONResponse(
                error_body("bad_request", "A value contains characters or a size the database refuses"), status_code=400
            )
        log.exception("database_error", error_type=type(exc.orig).__name__)
        return JSONResponse(error_body("internal_error", "Internal server error"), status_code=500)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", error_type=type(exc).__name__)
        return JSONResponse(error_body("internal_error", "Internal server error"), status_code=500)
