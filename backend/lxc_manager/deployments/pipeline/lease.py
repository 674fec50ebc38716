"""The DB lease that lets exactly one worker run a deployment at a time.

A lease is (``lease_owner``, ``lease_expires_at``, ``lease_version``). It is claimed by compare-and-set on
``lease_version`` (the UPDATE matches only the version we read, so of two racing workers exactly one wins), renewed
by a heartbeat, and every write of the pipeline first re-checks it inside the same transaction (``hold``), so a
worker that stalled past its TTL cannot overwrite the work of the worker that took over.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Update, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.core.models import utcnow
from lxc_manager.deployments.pipeline.errors import LeaseLost
from lxc_manager.models import Deployment


async def try_acquire(db: AsyncSession, deployment_id: str, owner: str, ttl: float) -> bool:
    """Claim the deployment for ``owner`` when it is free, expired or already ours. Flushes; the caller commits."""
    now = utcnow()
    row = (
        await db.execute(
            select(Deployment.lease_owner, Deployment.lease_expires_at, Deployment.lease_version).where(
                Deployment.id == deployment_id
            )
        )
    ).one_or_none()
    if row is None:
        return False
    current_owner, expires_at, version = row
    if current_owner not in (None, owner) and expires_at is not None and expires_at > now:
        return False
    result = await db.execute(
        update(Deployment)
        .where(Deployment.id == deployment_id, Deployment.lease_version == version)
        .values(
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=ttl),
            lease_version=version + 1,
            heartbeat_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _renewal(deployment_id: str, owner: str, ttl: float) -> Update:
    """The UPDATE that extends ``owner``'s lease; it matches no row when the lease is not ours."""
    now = utcnow()
    return (
        update(Deployment)
        .where(Deployment.id == deployment_id, Deployment.lease_owner == owner)
        .values(lease_expires_at=now + timedelta(seconds=ttl), heartbeat_at=now)
    )


async def renew(db: AsyncSession, deployment_id: str, owner: str, ttl: float) -> bool:
    """Extend our lease; False when it is no longer ours (taken over by another worker, or released).

    An expired lease that nobody took over is still ours: the owner column changes only when another worker
    acquires it, so extending it then is safe (and spares a slow-but-alive worker a pointless abort).
    """
    result = await db.execute(_renewal(deployment_id, owner, ttl).execution_options(synchronize_session=False))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def hold(db: AsyncSession, deployment_id: str, owner: str, ttl: float) -> Deployment:
    """Inside a unit of work: renew the lease (write-locking the row) and return the fresh deployment row.

    One statement (``UPDATE … RETURNING``): the renewal's owner check, the row lock and the reload of the row as it
    now is, exactly what ``renew`` followed by a ``SELECT`` in the same transaction gave, in one round trip.
    Raises LeaseLost when the lease is not ours any more (or the row is gone), so the caller's writes roll back.
    """
    statement = (
        _renewal(deployment_id, owner, ttl)
        .returning(Deployment)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    deployment = (await db.scalars(statement)).one_or_none()
    if deployment is None:
        raise LeaseLost(f"deployment {deployment_id} is leased by another worker (or gone)")
    return deployment


async def is_released(db: AsyncSession, deployment_id: str) -> bool:
    """True when nobody holds the lease (released by its owner at the end of a run), False when someone does."""
    owner = await db.scalar(select(Deployment.lease_owner).where(Deployment.id == deployment_id))
    return owner is None


async def release(db: AsyncSession, deployment_id: str, owner: str) -> bool:
    result = await db.execute(
        update(Deployment)
        .where(Deployment.id == deployment_id, Deployment.lease_owner == owner)
        .values(lease_owner=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
