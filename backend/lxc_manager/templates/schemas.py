"""API shapes of the template catalogue."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lxc_manager.templates.format import (
    MODE_PATTERN,
    SLUG_PATTERN,
    Container,
    Credential,
    Input,
    OSSpec,
    Service,
    TemplateManifest,
)

MAX_FILE_CHARS = 3 * 1024 * 1024  # 2 MiB as base64, with room


class TemplateSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    description: str
    tags: list[str]
    os_template: str
    origin: Literal["filesystem", "dashboard", "imported"]
    status: Literal["active", "archived"]
    folder: str | None = Field(description="Folder under the templates directory; null: stored in the DB only")
    current_revision: int
    content_hash: str
    buckets: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


class TemplatePage(BaseModel):
    items: list[TemplateSummary]
    total: int
    limit: int
    offset: int


class FileContent(BaseModel):
    path: str = Field(description="Relative to the template folder")
    content: str | None = Field(description="UTF-8 text, base64 (see encoding), or null when omitted")
    encoding: Literal["utf-8", "base64"]
    sha256: str
    mode: str
    size: int


class ScriptOut(FileContent):
    name: str
    order: int


class HookOut(FileContent):
    name: str
    event: str
    target: Literal["host", "container"]


class TemplateFileOut(FileContent):
    source: str
    destination: str
    owner: str
    file_mode: str = Field(description="Mode applied in the container")


class PackageOut(BaseModel):
    name: str
    spec: str = Field(description="What apt-get installs: name or name=version")
    sources: list[str] = Field(description="Bucket names and/or 'extra'")


class TemplateConfig(BaseModel):
    os: OSSpec
    container: Container


class TemplateDetail(TemplateSummary):
    etag: str = Field(description="Send it back in If-Match to update or delete")
    writable: bool = Field(description="Whether a save can be written back to the templates folder")
    revision_author: str | None
    revision_message: str | None
    revision_created_at: datetime
    manifest: dict[str, Any] = Field(description="The manifest (secret input defaults masked)")
    manifest_yaml: str = Field(description="template.yaml as stored (re-rendered with masks if it holds secrets)")
    readme: str | None
    config: TemplateConfig
    scripts: list[ScriptOut]
    hooks: list[HookOut]
    files: list[TemplateFileOut]
    packages: list[PackageOut]
    missing_buckets: list[str]
    package_conflicts: list[str]
    services: list[Service]
    credentials: list[Credential]
    inputs: list[Input]


class FileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(max_length=MAX_FILE_CHARS)
    encoding: Literal["utf-8", "base64"] = "utf-8"
    mode: str = Field(default="0644", pattern=MODE_PATTERN)


class TemplateWrite(BaseModel):
    """A full template: the manifest (object or YAML text) and every file under scripts/, files/, hooks/."""

    model_config = ConfigDict(extra="forbid")

    manifest: TemplateManifest | None = Field(default=None, description="The manifest as an object")
    manifest_yaml: str | None = Field(
        default=None, max_length=256 * 1024, description="Or template.yaml as text (keeps comments)"
    )
    files: dict[str, FileIn] = Field(
        default_factory=dict,
        max_length=1000,
        description="{relative path: file}; paths under scripts/, files/, hooks/ or README.md",
    )
    message: str | None = Field(default=None, max_length=500, description="Revision message")


class CloneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=SLUG_PATTERN)
    message: str | None = Field(default=None, max_length=500)


class RevisionSummary(BaseModel):
    number: int
    content_hash: str
    author: str | None
    message: str | None
    created_at: datetime


class RevisionPage(BaseModel):
    items: list[RevisionSummary]
    total: int
    limit: int
    offset: int


class RevisionDetail(RevisionSummary):
    template: str
    manifest: dict[str, Any]
    manifest_yaml: str
    files: list[FileContent] = Field(description="Every file except template.yaml (see manifest_yaml)")


class FileDiff(BaseModel):
    path: str
    status: Literal["added", "removed", "modified"]
    binary: bool
    diff: str = Field(description="Unified diff; empty for binary files")


class RevisionDiff(BaseModel):
    template: str
    from_revision: int
    to_revision: int
    files: list[FileDiff]


class SyncProblem(BaseModel):
    file: str
    line: int | None
    column: int | None
    field: str | None
    message: str


class BucketSyncOut(BaseModel):
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    removed: list[str]


class SyncReportOut(BaseModel):
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    archived: list[str]
    errors: list[SyncProblem]
    buckets: BucketSyncOut
