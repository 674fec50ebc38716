"""API shapes of containers. Credential values are never part of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class CredentialOut(BaseModel):
    name: str
    description: str | None = None


class ContainerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    deployment_id: str | None
    node_id: str | None
    pve_node: str
    vmid: int
    hostname: str
    template_name: str
    template_revision: int
    ip_address: str | None
    status: str
    services: list[dict[str, Any]]
    links: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


class ContainerDetail(ContainerOut):
    credentials: list[CredentialOut]


class CredentialRevealed(BaseModel):
    """One credential's plaintext, answered once per audited reveal (``Cache-Control: no-store``)."""

    container_id: str
    name: str
    description: str | None = None
    value: str
