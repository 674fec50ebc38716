"""API shapes of package buckets."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from lxc_manager.templates.format import SLUG_PATTERN, PackageSpec, ShortText


class BucketOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    description: str
    packages: list[str]
    origin: str
    file: str | None = Field(description="File under the buckets folder; null: stored in the DB only")
    content_hash: str
    created_at: datetime
    updated_at: datetime


class BucketDetail(BucketOut):
    templates: list[str] = Field(description="Active templates whose current revision uses this bucket")


class BucketPage(BaseModel):
    items: list[BucketOut]
    total: int
    limit: int
    offset: int


class BucketUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: ShortText = ""
    packages: list[PackageSpec] = Field(
        max_length=1000, description="Debian package names, optionally pinned: `name=1.2-3` or `name=1.2*`"
    )


class BucketCreate(BucketUpdate):
    name: str = Field(pattern=SLUG_PATTERN)


class BucketTemplates(BaseModel):
    bucket: str
    templates: list[str]
