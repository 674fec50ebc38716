from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lxc_manager.core.models import Base, IDMixin, TimestampMixin, UTCDateTime, utcnow


class TLSMode(StrEnum):
    system = "system"  # the system CA store
    ca_bundle = "ca_bundle"  # a pinned PEM CA bundle
    fingerprint = "fingerprint"  # a pinned SHA-256 leaf-certificate fingerprint


class Node(IDMixin, TimestampMixin, Base):
    """A registered Proxmox VE node. ``*_enc`` columns are AES-GCM ciphertexts bound to this row's id."""

    __tablename__ = "nodes"

    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    api_url: Mapped[str] = mapped_column(String(500), nullable=False)
    pve_node: Mapped[str | None] = mapped_column(String(64))  # the node's name inside PVE, if different
    token_id: Mapped[str] = mapped_column(String(200), nullable=False)  # user@realm!tokenname (not secret)
    token_secret_enc: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    tls_mode: Mapped[str] = mapped_column(String(16), nullable=False, default=TLSMode.fingerprint.value)
    tls_fingerprint: Mapped[str | None] = mapped_column(String(95))
    tls_ca_bundle: Mapped[str | None] = mapped_column(Text)
    ssh_host: Mapped[str | None] = mapped_column(String(255))
    ssh_port: Mapped[int] = mapped_column(Integer, nullable=False, default=22)
    ssh_user: Mapped[str] = mapped_column(String(64), nullable=False, default="root")
    ssh_private_key_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    ssh_host_key: Mapped[str | None] = mapped_column(Text)
    last_test_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_test_ok: Mapped[bool | None] = mapped_column()
    pve_version: Mapped[str | None] = mapped_column(String(64))  # as reported by the last successful test


class NodeAccess(Base):
    """A grant: this user may see and act on this node."""

    __tablename__ = "node_access"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
