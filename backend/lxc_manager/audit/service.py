"""Record who did what, when (UTC). Every create/update/delete, login (and failure) and denial lands here.

Denials and failed logins must survive the request's rollback, so ``record_detached`` writes them in
their own transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lxc_manager.audit.repository import AuditRepository
from lxc_manager.core.db import after_transaction, in_unit_of_work, unit_of_work
from lxc_manager.core.logging import get_logger, request_id_var
from lxc_manager.models import AuditEvent

log = get_logger(__name__)

# Keys that must never be stored in an audit row, whatever a caller passes.
_SECRET_KEYS = {"password", "token", "secret", "token_secret", "private_key", "ssh_private_key", "csrf_token"}


def _scrub(details: dict[str, Any]) -> dict[str, Any]:
    return {k: ("[redacted]" if k.lower() in _SECRET_KEYS else v) for k, v in details.items()}


def build_event(
    action: str,
    *,
    actor_id: str | None = None,
    actor_name: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    outcome: str = "success",
    client_ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent(
        action=action,
        actor_id=actor_id,
        actor_name=actor_name,
        target_type=target_type,
        target_id=target_id,
        outcome=outcome,
        client_ip=client_ip,
        request_id=request_id_var.get(),
        details=_scrub(details or {}),
    )


def record(session: AsyncSession, action: str, **fields: Any) -> AuditEvent:
    """Add an audit row to the caller's transaction (it commits or rolls back with the change it describes)."""
    event = build_event(action, **fields)
    AuditRepository(session).add(event)
    log.info("audit", action=action, outcome=event.outcome, target_type=event.target_type, target_id=event.target_id)
    return event


async def record_detached(sessionmaker: async_sessionmaker[AsyncSession], action: str, **fields: Any) -> None:
    """Write an audit row in its own transaction (for failures whose request will roll back).

    Inside a unit of work the row is written once that unit has ended (committed or rolled back):
    writing now would wait on the unit's own SQLite write lock.
    """
    event = build_event(action, **fields)

    async def write() -> None:
        async with unit_of_work(sessionmaker) as session:
            AuditRepository(session).add(event)
        log.info(
            "audit", action=action, outcome=event.outcome, target_type=event.target_type, target_id=event.target_id
        )

    if in_unit_of_work():
        after_transaction(write)
    else:
        await write()
