"""API shapes of the deployment wizard."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lxc_manager.deployments.schemas import STORAGE_ID_PATTERN

# An appliance file name as aplinfo lists it (``debian-12-standard_12.7-1_amd64.tar.zst``).
APPLIANCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$"


class StorageOut(BaseModel):
    storage: str
    type: str
    content: list[str]
    shared: bool
    active: bool
    total: int | None = Field(description="Bytes")
    used: int | None
    avail: int | None
    supports_containers: bool = Field(description="Holds container root disks ('rootdir' content)")
    supports_templates: bool = Field(description="Holds OS templates ('vztmpl' content)")


class BridgeOut(BaseModel):
    iface: str
    type: str
    active: bool
    cidr: str | None
    gateway: str | None
    vlan_aware: bool
    comments: str | None


class OSTemplateOut(BaseModel):
    volid: str
    storage: str
    file: str
    size: int
    ctime: int | None


class DownloadableTemplateOut(BaseModel):
    template: str = Field(description="File name to pass to the download endpoint")
    package: str | None
    headline: str | None
    os: str | None
    version: str | None
    section: str | None
    architecture: str | None
    description: str | None


class OSTemplatesOut(BaseModel):
    on_storage: list[OSTemplateOut] = Field(description="OS templates already on the node's storages, newest first")
    downloadable: list[DownloadableTemplateOut] = Field(description="Appliance templates PVE can download (aplinfo)")


class OSTemplateDownloadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    storage: str = Field(pattern=STORAGE_ID_PATTERN, description="A storage with 'vztmpl' content")
    template: str = Field(pattern=APPLIANCE_PATTERN, description="A file name from the 'downloadable' list")


class NodeTaskOut(BaseModel):
    """A PVE task started through this API (an OS template download), as the node reports it now."""

    upid: str
    node_id: str
    type: str
    status: str = Field(description="running | stopped")
    exitstatus: str | None
    ok: bool | None = Field(description="None while running; then whether it ended OK (or with warnings)")
    starttime: int | None
    log_tail: list[str] = Field(description="The last lines of the task log")
    status_url: str


class VmidSuggestion(BaseModel):
    vmid: int = Field(description="The lowest free VMID in the cluster right now (not reserved)")


class DeployDefaults(BaseModel):
    """A template's defaults and inputs: what the wizard pre-fills (secret defaults masked)."""

    template: str
    revision: int
    content_hash: str
    description: str
    hostname: str
    os_template: str
    os_volid: str | None
    container: dict[str, Any] = Field(
        description="cores, memory, swap, disk, unprivileged, onboot, features, network, dns"
    )
    inputs: list[dict[str, Any]]
    services: list[dict[str, Any]]
    credentials: list[str]
    packages: list[str]
    scripts: list[str]
