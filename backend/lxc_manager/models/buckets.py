"""Package buckets: named lists of Debian packages that templates reference by name."""

from __future__ import annotations

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lxc_manager.core.models import Base, IDMixin, TimestampMixin


class Bucket(IDMixin, TimestampMixin, Base):
    __tablename__ = "buckets"

    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    packages: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    origin: Mapped[str] = mapped_column(String(16), nullable=False, default="filesystem")
    # File name under the buckets directory when the bucket lives on disk; NULL: DB only.
    file: Mapped[str | None] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False, default="")
