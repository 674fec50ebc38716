"""The simulator object shared by the HTTPS app and the SSH side, its error type and the handler registry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxc_manager.pvesim.acl import AccessControl, ApiToken
from lxc_manager.pvesim.backend import ContainerBackend
from lxc_manager.pvesim.faults import FaultRegistry
from lxc_manager.pvesim.schema import ApiSchema, MethodInfo
from lxc_manager.pvesim.state import Cluster, Guest, Node
from lxc_manager.pvesim.tasks import Task, TaskError, TaskManager, Worker

PVE_VERSION = {"version": "9.1.9", "release": "9.1", "repoid": "5e4cc71ff9ab9a8e"}


class PveError(Exception):
    """An answer other than 200. ``message`` goes into the body ``message`` (and would be PVE's reason phrase)."""

    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


def param_error(errors: dict[str, str]) -> PveError:
    return PveError(400, "Parameter verification failed.", errors)


@dataclass
class SimConfig:
    nodes: int = 3
    task_duration: float = 1.0
    auth_delay: float = 3.0
    seed: int = 0
    state_dir: Path = Path("data/pve-sim")


@dataclass
class Call:
    """One authenticated, validated API call as a handler sees it."""

    sim: Simulator
    token: ApiToken
    info: MethodInfo
    params: dict[str, Any]
    raw: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def owner(self) -> str:
        return self.token.full_id

    def node(self) -> Node:
        return self.sim.require_node(str(self.params["node"]))

    def guest(self, kind: str = "lxc") -> Guest:
        return self.sim.require_guest(self.node(), int(self.params["vmid"]), kind)


Handler = Callable[[Call], Awaitable[Any]]
HANDLERS: dict[tuple[str, str], Handler] = {}


def handles(method: str, template: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        HANDLERS[(method, template)] = func
        return func

    return register


class Simulator:
    def __init__(self, config: SimConfig, schema: ApiSchema, backend: ContainerBackend) -> None:
        self.config = config
        self.schema = schema
        self.backend = backend
        self.faults = FaultRegistry(config.seed)
        self.acl = AccessControl()
        self.cluster = Cluster(config.nodes, config.seed)
        self.tasks = TaskManager(config.task_duration, self._task_fault)

    def _task_fault(self, task: Task) -> tuple[str | None, int]:
        return self.faults.task_outcome(task.type)

    async def reset(self) -> None:
        await self.tasks.shutdown()
        for vmid in list(self.cluster.guests):
            await self.backend.destroy(vmid)
        self.faults = FaultRegistry(self.config.seed)
        self.cluster = Cluster(self.config.nodes, self.config.seed)
        self.tasks = TaskManager(self.config.task_duration, self._task_fault)

    def require_node(self, name: str) -> Node:
        node = self.cluster.node(name)
        if node is None:
            raise PveError(
                500, f"hostname lookup '{name}' failed - failed to get address info for: {name}: "
                "Name or service not known"
            )  # fmt: skip
        return node

    def require_guest(self, node: Node, vmid: int, kind: str = "lxc") -> Guest:
        guest = self.cluster.guests.get(vmid)
        if guest is None or guest.node != node.name or guest.kind != kind:
            folder = "lxc" if kind == "lxc" else "qemu-server"
            raise PveError(500, f"Configuration file 'nodes/{node.name}/{folder}/{vmid}.conf' does not exist")
        return guest

    def lock_of(self, guest: Guest) -> str | None:
        return guest.lock or self.faults.lock_for(guest.vmid)

    def check_lock(self, guest: Guest, sync: bool = True) -> None:
        """``CT is locked (<lock>)``: HTTP 500 in synchronous handlers, a task error inside workers."""
        lock = self.lock_of(guest)
        if lock:
            label = "CT" if guest.kind == "lxc" else "VM"
            if sync:
                raise PveError(500, f"{label} is locked ({lock})")
            raise TaskError(f"{label} is locked ({lock})")

    def start_task(self, node: str, type_: str, id_: str, owner: str, work: Worker) -> str:
        return self.tasks.start(node, type_, id_, owner, work).upid
