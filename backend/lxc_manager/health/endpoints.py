"""Liveness and readiness probes (outside /api/v1, no authentication)."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from lxc_manager.core.deps import AppStateDep
from lxc_manager.core.errors import error_body, responses

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_S = 3.0


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ok"]
    checks: dict[str, Literal["ok", "skipped"]]


@router.get("/healthz", operation_id="healthz", response_model=Health)
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/readyz", operation_id="readyz", response_model=Readiness, responses=responses(503))
async def readyz(state: AppStateDep) -> Readiness | JSONResponse:
    """The database (and Redis, when configured) answer."""
    checks: dict[str, Literal["ok", "skipped"]] = {}
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S), state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:
        return JSONResponse(error_body("service_unavailable", "database is not reachable"), status_code=503)
    if state.redis is None:
        checks["redis"] = "skipped"
    else:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                await state.redis.ping()
            checks["redis"] = "ok"
        except Exception:
            return JSONResponse(error_body("service_unavailable", "redis is not reachable"), status_code=503)
    return Readiness(status="ok", checks=checks)
