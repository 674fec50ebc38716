from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from lxc_manager.audit.repository import AuditRepository
from lxc_manager.audit.schemas import AuditEventOut, AuditPage
from lxc_manager.auth.dependencies import AdminPrincipal
from lxc_manager.core.deps import DBSession
from lxc_manager.core.errors import responses

router = APIRouter(prefix="/audit", tags=["audit"], responses=responses(401, 403))


@router.get("", operation_id="list_audit_events", response_model=AuditPage)
async def list_audit_events(
    _: AdminPrincipal,
    db: DBSession,
    action: Annotated[str | None, Query(max_length=64, description="Action prefix, e.g. 'auth.'")] = None,
    actor_id: Annotated[str | None, Query(max_length=36)] = None,
    outcome: Annotated[str | None, Query(pattern="^(success|failure|denied)$")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AuditPage:
    """The audit log, newest first (admin)."""
    rows, total = await AuditRepository(db).list(
        action=action, actor_id=actor_id, outcome=outcome, since=since, until=until, limit=limit, offset=offset
    )
    return AuditPage(items=[AuditEventOut.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)
