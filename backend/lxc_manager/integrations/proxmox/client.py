"""The async Proxmox VE client: typed methods for the endpoints the product uses.

Retries, encoding and errors are in ``session.py`` (its docstring states the retry policy). Write endpoints return a
UPID; wait for it with :meth:`ProxmoxClient.wait_task`, which raises :class:`ProxmoxTaskError` with the log tail when
the task failed. Nothing here re-dispatches a failed task.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import TypeAdapter

from lxc_manager.core.logging import get_logger
from lxc_manager.integrations.proxmox.errors import (
    ProxmoxAlreadyExists,
    ProxmoxError,
    ProxmoxLocked,
    ProxmoxTaskError,
    ProxmoxTaskTimeout,
    ProxmoxValidationError,
)
from lxc_manager.integrations.proxmox.models import (
    AplInfo,
    ClusterResource,
    ClusterStatusEntry,
    LXCConfig,
    LXCInterface,
    LXCStatus,
    NetworkInterface,
    NodeListEntry,
    NodeStatus,
    SnapshotEntry,
    StorageContentEntry,
    StorageEntry,
    TaskLog,
    TaskLogLine,
    TaskResult,
    TaskStatus,
    VersionInfo,
)
from lxc_manager.integrations.proxmox.session import ProxmoxSession, RetryPolicy, path_of
from lxc_manager.integrations.proxmox.upid import parse_upid

__all__ = ["ProxmoxClient", "RetryPolicy", "missing_privileges"]

log = get_logger(__name__)

ResourceType = Literal["vm", "storage", "node", "sdn"]
Timeframe = Literal["hour", "day", "week", "month", "year"]
_WARNINGS_RE = re.compile(r"^WARNINGS: (\d+)$")
LOG_TAIL_LINES = 50
# Right after a write, the status endpoint may not know the task yet (400 "no such task").
FIRST_POLL_400_RETRIES = 5


def missing_privileges(permissions: Mapping[str, Mapping[str, int]], path: str, required: list[str]) -> list[str]:
    """Which of ``required`` the token lacks on ``path``, from a ``permissions()`` answer.

    Follows PVE's ACL rule: the most specific path that has an entry decides; an ancestor's privileges apply below it
    only when propagated (value 1). Best used with ``permissions(path)``, where PVE computes the effective set itself.
    """
    current = "/" + path.strip("/")
    exact = True
    while True:
        granted = permissions.get(current)
        if granted is not None:
            effective = {name for name, propagate in granted.items() if exact or propagate}
            return [privilege for privilege in required if privilege not in effective]
        if current == "/":
            return list(required)
        current = current.rsplit("/", 1)[0] or "/"
        exact = False


def _list_of(model: type[Any], data: Any) -> list[Any]:
    return TypeAdapter(list[model]).validate_python(data or [])  # type: ignore[valid-type]


class ProxmoxClient(ProxmoxSession):
    """One PVE API endpoint. Share one instance per node: it owns the connection pool and the concurrency limit.

    ``ProxmoxClient(base_url, token_id, token_secret, *, tls, transport=None, timeout=..., max_concurrency=4,
    retries=RetryPolicy())``; use ``async with`` or call :meth:`aclose`.
    """

    # ---- cluster / access -------------------------------------------------------------------------------------
    async def version(self) -> VersionInfo:
        return VersionInfo.model_validate(await self.request("GET", "/version"))

    async def permissions(self, path: str | None = None) -> dict[str, dict[str, int]]:
        """Effective privileges of this token: ``{"/vms": {"VM.Audit": 1, ...}, ...}`` (1 = propagated)."""
        data = await self.request("GET", "/access/permissions", {"path": path})
        return TypeAdapter(dict[str, dict[str, int]]).validate_python(data or {})

    async def cluster_resources(self, type: ResourceType | None = None) -> list[ClusterResource]:
        """Everything in the cluster in one request (the cheapest inventory PVE offers)."""
        data = await self.request("GET", "/cluster/resources", {"type": type})
        return _list_of(ClusterResource, data)

    async def cluster_status(self) -> list[ClusterStatusEntry]:
        return _list_of(ClusterStatusEntry, await self.request("GET", "/cluster/status"))

    async def nextid(self, vmid: int | None = None) -> int:
        """The lowest free VMID (not reserved!), or ``vmid`` itself if free; raises ProxmoxAlreadyExists if taken."""
        try:
            data = await self.request("GET", "/cluster/nextid", {"vmid": vmid})
        except ProxmoxValidationError as exc:
            if vmid is not None and "already exists" in exc.errors.get("vmid", ""):
                raise ProxmoxAlreadyExists(
                    exc.status, exc.errors["vmid"], exc.errors, exc.body, method=exc.method, path=exc.path
                ) from exc
            raise
        return int(data)

    async def is_vmid_free(self, vmid: int) -> bool:
        try:
            await self.nextid(vmid)
        except ProxmoxAlreadyExists:
            return False
        return True

    # ---- nodes ------------------------------------------------------------------------------------------------
    async def nodes(self) -> list[NodeListEntry]:
        return _list_of(NodeListEntry, await self.request("GET", "/nodes"))

    async def node_status(self, node: str) -> NodeStatus:
        return NodeStatus.model_validate(await self.request("GET", path_of("nodes", node, "status")))

    # ---- storage and templates --------------------------------------------------------------------------------
    async def storages(
        self, node: str, *, content: str | None = None, enabled: bool | None = None
    ) -> list[StorageEntry]:
        params = {"content": content, "enabled": enabled}
        return _list_of(StorageEntry, await self.request("GET", path_of("nodes", node, "storage"), params))

    async def storage_content(
        self, node: str, storage: str, *, content: str | None = "vztmpl", vmid: int | None = None
    ) -> list[StorageContentEntry]:
        path = path_of("nodes", node, "storage", storage, "content")
        return _list_of(StorageContentEntry, await self.request("GET", path, {"content": content, "vmid": vmid}))

    async def aplinfo(self, node: str) -> list[AplInfo]:
        return _list_of(AplInfo, await self.request("GET", path_of("nodes", node, "aplinfo")))

    async def download_template(self, node: str, storage: str, template: str) -> str:
        """Start downloading an appliance template to ``storage``; returns the ``download`` task's UPID."""
        data = await self.request("POST", path_of("nodes", node, "aplinfo"), {"storage": storage, "template": template})
        return str(data)

    # ---- network ----------------------------------------------------------------------------------------------
    async def networks(self, node: str, type: str | None = "any_bridge") -> list[NetworkInterface]:
        data = await self.request("GET", path_of("nodes", node, "network"), {"type": type})
        return _list_of(NetworkInterface, data)

    # ---- LXC --------------------------------------------------------------------------------------------------
    async def lxc_list(self, node: str) -> list[LXCStatus]:
        return _list_of(LXCStatus, await self.request("GET", path_of("nodes", node, "lxc")))

    async def lxc_create(self, node: str, params: Mapping[str, Any]) -> str:
        """``POST /nodes/{node}/lxc``. ``params`` go form-encoded (booleans as 0/1, lists comma-joined).

        Build ``net0``/``rootfs``/``features``/``mpN`` values with ``propstrings``. Returns the ``vzcreate`` UPID.
        """
        if "ostemplate" not in params or "vmid" not in params:
            raise ValueError("lxc_create needs at least 'vmid' and 'ostemplate'")
        return str(await self.request("POST", path_of("nodes", node, "lxc"), params))

    async def lxc_config(self, node: str, vmid: int, *, current: bool | None = None) -> LXCConfig:
        data = await self.request("GET", path_of("nodes", node, "lxc", vmid, "config"), {"current": current})
        return LXCConfig.model_validate(data)

    async def lxc_update_config(
        self,
        node: str,
        vmid: int,
        params: Mapping[str, Any],
        *,
        digest: str | None = None,
        delete: list[str] | None = None,
    ) -> None:
        """Synchronous ``PUT config``; pass the ``digest`` read before to fail on concurrent edits (ProxmoxConflict)."""
        body = {**params, "digest": digest, "delete": delete or None}
        await self.request("PUT", path_of("nodes", node, "lxc", vmid, "config"), body)

    async def lxc_delete(
        self,
        node: str,
        vmid: int,
        *,
        purge: bool | None = None,
        destroy_unreferenced_disks: bool | None = None,
        force: bool | None = None,
    ) -> str:
        params = {"purge": purge, "destroy-unreferenced-disks": destroy_unreferenced_disks, "force": force}
        return str(await self.request("DELETE", path_of("nodes", node, "lxc", vmid), params))

    async def lxc_status(self, node: str, vmid: int) -> LXCStatus:
        data = await self.request("GET", path_of("nodes", node, "lxc", vmid, "status", "current"))
        return LXCStatus.model_validate(data)

    async def lxc_start(self, node: str, vmid: int) -> str:
        return str(await self.request("POST", path_of("nodes", node, "lxc", vmid, "status", "start")))

    async def lxc_stop(self, node: str, vmid: int, *, overrule_shutdown: bool | None = None) -> str:
        path = path_of("nodes", node, "lxc", vmid, "status", "stop")
        return str(await self.request("POST", path, {"overrule-shutdown": overrule_shutdown}))

    async def lxc_shutdown(
        self,
        node: str,
        vmid: int,
        *,
        timeout: int | None = None,  # noqa: ASYNC109 - PVE's own parameter
        force_stop: bool | None = None,
    ) -> str:
        path = path_of("nodes", node, "lxc", vmid, "status", "shutdown")
        return str(await self.request("POST", path, {"timeout": timeout, "forceStop": force_stop}))

    async def lxc_reboot(
        self,
        node: str,
        vmid: int,
        *,
        timeout: int | None = None,  # noqa: ASYNC109 - PVE's own parameter
    ) -> str:
        path = path_of("nodes", node, "lxc", vmid, "status", "reboot")
        return str(await self.request("POST", path, {"timeout": timeout}))

    async def lxc_interfaces(self, node: str, vmid: int) -> list[LXCInterface]:
        data = await self.request("GET", path_of("nodes", node, "lxc", vmid, "interfaces"))
        return _list_of(LXCInterface, data)

    async def lxc_rrddata(
        self, node: str, vmid: int, timeframe: Timeframe = "hour", cf: Literal["AVERAGE", "MAX"] | None = None
    ) -> list[dict[str, Any]]:
        """Time series points (``time``, ``cpu``, ``mem``, ``netin`` ...); the schema leaves them untyped."""
        path = path_of("nodes", node, "lxc", vmid, "rrddata")
        data = await self.request("GET", path, {"timeframe": timeframe, "cf": cf})
        return TypeAdapter(list[dict[str, Any]]).validate_python(data or [])

    async def lxc_snapshots(self, node: str, vmid: int) -> list[SnapshotEntry]:
        data = await self.request("GET", path_of("nodes", node, "lxc", vmid, "snapshot"))
        return _list_of(SnapshotEntry, data)

    async def lxc_snapshot_create(self, node: str, vmid: int, snapname: str, *, description: str | None = None) -> str:
        path = path_of("nodes", node, "lxc", vmid, "snapshot")
        return str(await self.request("POST", path, {"snapname": snapname, "description": description}))

    async def lxc_snapshot_delete(self, node: str, vmid: int, snapname: str, *, force: bool | None = None) -> str:
        path = path_of("nodes", node, "lxc", vmid, "snapshot", snapname)
        return str(await self.request("DELETE", path, {"force": force}))

    async def lxc_snapshot_rollback(self, node: str, vmid: int, snapname: str, *, start: bool | None = None) -> str:
        path = path_of("nodes", node, "lxc", vmid, "snapshot", snapname, "rollback")
        return str(await self.request("POST", path, {"start": start}))

    async def wait_unlocked(
        self,
        node: str,
        vmid: int,
        timeout: float = 60.0,  # noqa: ASYNC109 - a deadline for polling, not one call
        poll_interval: float = 1.0,
    ) -> LXCConfig:
        """Poll the config until it carries no ``lock`` (bpg ``WaitForContainerConfigUnlock``); ProxmoxLocked after
        ``timeout``. Call before start/config/delete instead of blindly retrying ``CT is locked (...)``."""
        deadline = time.monotonic() + timeout
        while True:
            config = await self.lxc_config(node, vmid)
            if not config.lock:
                return config
            if time.monotonic() >= deadline:
                raise ProxmoxLocked(500, f"CT is locked ({config.lock})", method="GET", path=f"lxc/{vmid}/config")
            await asyncio.sleep(min(poll_interval, max(0.0, deadline - time.monotonic())))

    # ---- tasks ------------------------------------------------------------------------------------------------
    async def task_status(self, upid: str, node: str | None = None) -> TaskStatus:
        node = node or parse_upid(upid).node
        data = await self.request("GET", path_of("nodes", node, "tasks", upid, "status"))
        return TaskStatus.model_validate(data)

    async def task_log(
        self, upid: str, node: str | None = None, *, start: int | None = None, limit: int | None = None
    ) -> TaskLog:
        node = node or parse_upid(upid).node
        path = path_of("nodes", node, "tasks", upid, "log")
        envelope = await self.request_envelope("GET", path, {"start": start, "limit": limit})
        lines = _list_of(TaskLogLine, envelope.get("data"))
        return TaskLog(lines=lines, total=int(envelope.get("total", len(lines))))

    async def task_log_tail(self, upid: str, node: str | None = None, lines: int = LOG_TAIL_LINES) -> list[str]:
        """The last ``lines`` log lines (one request to learn ``total``, one to fetch the tail if needed)."""
        first = await self.task_log(upid, node, start=0, limit=lines)
        if first.total <= lines:
            return [line.t for line in first.lines]
        tail = await self.task_log(upid, node, start=first.total - lines, limit=lines)
        return [line.t for line in tail.lines]

    async def wait_task(
        self,
        upid: str,
        timeout: float = 600.0,  # noqa: ASYNC109 - a deadline for polling, not one call
        poll_interval: float = 1.0,
        node: str | None = None,
    ) -> TaskResult:
        """Poll until the task stops. ``OK``/``WARNINGS: n`` → TaskResult; anything else → ProxmoxTaskError.

        A 400 on the first polls is PVE's eventual consistency right after the write; it is retried a few times.
        Exceeding ``timeout`` raises ProxmoxTaskTimeout (the task may still be running; it is not cancelled).
        """
        node = node or parse_upid(upid).node
        deadline = time.monotonic() + timeout
        early_400s = 0
        seen_status = False
        while True:
            try:
                status = await self.task_status(upid, node)
                seen_status = True
            except ProxmoxValidationError:
                if seen_status or early_400s >= FIRST_POLL_400_RETRIES:
                    raise
                early_400s += 1
                status = None
            if status is not None and not status.running:
                return await self._task_outcome(upid, node, status.exitstatus or "")
            if time.monotonic() >= deadline:
                raise ProxmoxTaskTimeout(upid, timeout)
            await asyncio.sleep(min(poll_interval, max(0.0, deadline - time.monotonic())))

    async def _task_outcome(self, upid: str, node: str, exitstatus: str) -> TaskResult:
        warnings = _WARNINGS_RE.match(exitstatus)
        if exitstatus == "OK" or warnings:
            tail: list[str] = []
            if warnings:
                tail = await self._tail_or_empty(upid, node)
            count = int(warnings.group(1)) if warnings else 0
            return TaskResult(upid=upid, ok=True, exitstatus=exitstatus, warnings=count, log_tail=tail)
        tail = await self._tail_or_empty(upid, node)
        log.info("pve_task_failed", upid=upid, exitstatus=exitstatus)
        raise ProxmoxTaskError(upid, exitstatus, tail)

    async def _tail_or_empty(self, upid: str, node: str) -> list[str]:
        # The log is diagnostic: failing to fetch it must not hide the task's real outcome.
        try:
            return await self.task_log_tail(upid, node)
        except ProxmoxError as exc:
            log.warning("pve_task_log_unavailable", upid=upid, error=str(exc))
            return []
