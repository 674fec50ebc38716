from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lxc_manager.core.models import Base, IDMixin, TimestampMixin, UTCDateTime, utcnow


class DeploymentStatus(StrEnum):
    pending = "pending"  # stored, waiting for a worker
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


TERMINAL_STATUSES = frozenset({DeploymentStatus.succeeded, DeploymentStatus.failed, DeploymentStatus.cancelled})


class Phase(StrEnum):
    create = "create"
    start = "start"
    provision = "provision"
    verify = "verify"
    finalize = "finalize"


PHASES: tuple[Phase, ...] = tuple(Phase)


class OnFailure(StrEnum):
    keep = "keep"  # leave the container for debugging
    destroy = "destroy"  # destroy it — only when it carries our stamp


class Deployment(IDMixin, TimestampMixin, Base):
    """One request to build a container from a template revision; a persisted state machine.

    ``phases`` holds per-phase records ``{status, started_at, finished_at, attempts, error, data}``;
    ``lease_*`` let exactly one worker run it at a time (compare-and-set on ``lease_version``).
    Secret inputs (root password, secret template inputs) live only in ``secrets_enc`` (AES-GCM, bound to
    this row) — never in ``request``/``inputs``/``plan``, job arguments or events.
    """

    __tablename__ = "deployments"
    __table_args__ = (Index("ix_deployments_status_updated", "status", "updated_at"),)

    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    node_id: Mapped[str | None] = mapped_column(ForeignKey("nodes.id", ondelete="SET NULL"), index=True)
    node_name: Mapped[str] = mapped_column(String(64), nullable=False)
    template_id: Mapped[str] = mapped_column(ForeignKey("templates.id", ondelete="RESTRICT"), nullable=False)
    template_revision_id: Mapped[str] = mapped_column(
        ForeignKey("template_revisions.id", ondelete="RESTRICT"), nullable=False
    )
    template_name: Mapped[str] = mapped_column(String(64), nullable=False)
    template_revision: Mapped[int] = mapped_column(Integer, nullable=False)
    template_hash: Mapped[str] = mapped_column(String(64), nullable=False)

    request: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)  # overrides, no secrets
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)  # non-secret inputs
    secrets_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)  # resolved plan, secrets masked

    status: Mapped[str] = mapped_column(String(16), nullable=False, default=DeploymentStatus.pending.value)
    phase: Mapped[str] = mapped_column(String(16), nullable=False, default=Phase.create.value)
    phases: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    on_failure: Mapped[str] = mapped_column(String(16), nullable=False, default=OnFailure.keep.value)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    pve_node: Mapped[str | None] = mapped_column(String(64))
    vmid: Mapped[int | None] = mapped_column(Integer)
    hostname: Mapped[str | None] = mapped_column(String(64))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    warnings: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)

    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_event_seq: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class DeploymentEvent(Base):
    """A persisted progress event. ``seq`` increases by one per deployment (the SSE id), written only by
    the lease holder, so commit order equals ``seq`` order."""

    __tablename__ = "deployment_events"
    __table_args__ = (UniqueConstraint("deployment_id", "seq", name="deployment_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    type: Mapped[str] = mapped_column(String(16), nullable=False)  # phase | log | status | result
    phase: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(16))  # running/succeeded/failed… or stdout/stderr/info for logs
    message: Mapped[str] = mapped_column(Text, nullable=False, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
