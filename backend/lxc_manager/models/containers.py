from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lxc_manager.core.models import Base, IDMixin, TimestampMixin, UTCDateTime, utcnow


class Container(IDMixin, TimestampMixin, Base):
    """A container the product built (recorded by a deployment's finalize phase)."""

    __tablename__ = "containers"
    __table_args__ = (UniqueConstraint("node_id", "vmid", name="node_vmid"),)

    deployment_id: Mapped[str | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="SET NULL"), unique=True, nullable=True
    )
    node_id: Mapped[str | None] = mapped_column(ForeignKey("nodes.id", ondelete="SET NULL"), index=True)
    pve_node: Mapped[str] = mapped_column(String(64), nullable=False)
    vmid: Mapped[int] = mapped_column(Integer, nullable=False)
    hostname: Mapped[str] = mapped_column(String(64), nullable=False)
    template_name: Mapped[str] = mapped_column(String(64), nullable=False)
    template_revision: Mapped[int] = mapped_column(Integer, nullable=False)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="running")
    services: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    links: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)


class ContainerCredential(IDMixin, Base):
    """A credential captured from a container; the value is AES-GCM encrypted, bound to this row."""

    __tablename__ = "container_credentials"
    __table_args__ = (UniqueConstraint("container_id", "name", name="container_name"),)

    container_id: Mapped[str] = mapped_column(ForeignKey("containers.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    description: Mapped[str | None] = mapped_column(String(300))
    value_enc: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
