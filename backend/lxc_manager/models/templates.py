"""Templates and their immutable revisions. A revision is what a deployment points at, so none is ever deleted."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lxc_manager.core.models import Base, IDMixin, TimestampMixin, UTCDateTime, utcnow


class TemplateOrigin(StrEnum):
    filesystem = "filesystem"  # discovered in the templates folder
    dashboard = "dashboard"  # created through the API
    imported = "imported"  # uploaded as a tar.gz


class TemplateStatus(StrEnum):
    active = "active"
    archived = "archived"  # removed on disk or deleted; its revisions stay for deployments


class Template(IDMixin, TimestampMixin, Base):
    """The catalogue entry; filter columns are denormalised from the current revision."""

    __tablename__ = "templates"

    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    origin: Mapped[str] = mapped_column(String(16), nullable=False, default=TemplateOrigin.filesystem.value)
    # Folder name under the templates directory when the template lives on disk; NULL: DB only.
    folder: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=TemplateStatus.active.value, index=True)
    current_revision: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    os_template: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TemplateRevision(IDMixin, Base):
    """One saved state of a template: the manifest as JSON and every file, content-addressed by ``content_hash``."""

    __tablename__ = "template_revisions"
    __table_args__ = (UniqueConstraint("template_id", "number", name="uq_template_revisions_number"),)

    template_id: Mapped[str] = mapped_column(ForeignKey("templates.id", ondelete="RESTRICT"), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    # {relative path: {content, encoding utf-8|base64, sha256, mode, size}}, template.yaml included.
    files: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    author: Mapped[str | None] = mapped_column(String(100))
    message: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class TemplateTag(Base):
    """Tag filter index for the current revision."""

    __tablename__ = "template_tags"

    template_id: Mapped[str] = mapped_column(ForeignKey("templates.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(40), primary_key=True)

    __table_args__ = (Index("ix_template_tags_tag", "tag"),)


class TemplateBucketUse(Base):
    """Which buckets the current revision of a template uses (by name: a bucket may be missing)."""

    __tablename__ = "template_bucket_uses"

    template_id: Mapped[str] = mapped_column(ForeignKey("templates.id", ondelete="CASCADE"), primary_key=True)
    bucket_name: Mapped[str] = mapped_column(String(64), primary_key=True)

    __table_args__ = (Index("ix_template_bucket_uses_bucket_name", "bucket_name"),)
