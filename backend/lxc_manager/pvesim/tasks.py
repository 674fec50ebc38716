"""PVE worker tasks: real-format UPIDs, running → stopped after a configurable duration, exit status and log.

Exit statuses follow pve-common ``UPID.pm``: ``OK``, ``WARNINGS: <n>`` (a success) or the error text of the last
``TASK ERROR: <msg>`` log line. A stopped task (``DELETE .../tasks/{upid}``) ends with ``interrupted by signal``.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from lxc_manager.core.logging import get_logger

log = get_logger(__name__)

INTERRUPTED = "interrupted by signal"


class TaskError(Exception):
    """Raised inside a worker: the task ends with ``TASK ERROR: <message>``."""

    def __init__(self, message: str) -> None:
        self.message = message.rstrip("\n")
        super().__init__(self.message)


@dataclass
class Task:
    upid: str
    node: str
    pid: int
    pstart: int
    starttime: int
    type: str
    id: str
    userid: str
    tokenid: str | None
    status: str = "running"
    exitstatus: str | None = None
    endtime: int | None = None
    lines: list[str] = field(default_factory=list)
    warnings: int = 0
    handle: asyncio.Task[None] | None = None

    @property
    def owner(self) -> str:
        return f"{self.userid}!{self.tokenid}" if self.tokenid else self.userid

    def status_payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "upid": self.upid, "node": self.node, "pid": self.pid, "pstart": self.pstart,
            "starttime": self.starttime, "type": self.type, "id": self.id, "user": self.userid,
            "status": self.status,
        }  # fmt: skip
        if self.tokenid:
            data["tokenid"] = self.tokenid
        if self.status == "stopped":
            data["exitstatus"] = self.exitstatus
        return data

    def list_entry(self) -> dict[str, Any]:
        # pve-manager Tasks.pm splits "user!token" into user and tokenid ($convert_token_task).
        data: dict[str, Any] = {
            "upid": self.upid, "node": self.node, "pid": self.pid, "pstart": self.pstart,
            "starttime": self.starttime, "type": self.type, "id": self.id, "user": self.userid,
        }  # fmt: skip
        if self.tokenid:
            data["tokenid"] = self.tokenid
        if self.status == "running":
            data["status"] = "RUNNING"
        else:
            data["status"] = self.exitstatus
            data["endtime"] = self.endtime
        return data

    @property
    def status_type(self) -> str:
        """``PVE::Tools::upid_normalize_status_type``: ok, warning, error or unknown (running tasks)."""
        if self.status == "running" or not self.exitstatus or self.exitstatus == "unexpected status":
            return "unknown"
        if self.exitstatus == "OK":
            return "ok"
        if re.fullmatch(r"WARNINGS: \d+", self.exitstatus):
            return "warning"
        return "error"


class TaskContext:
    """What a worker body sees: its task and a log."""

    def __init__(self, task: Task) -> None:
        self.task = task

    def log(self, line: str) -> None:
        self.task.lines.extend(line.rstrip("\n").split("\n"))

    def warn(self, line: str) -> None:
        self.task.warnings += 1
        self.log(f"WARN: {line}")


Worker = Callable[[TaskContext], Awaitable[None]]
FaultHook = Callable[[Task], tuple[str | None, int]]


class TaskManager:
    """Starts workers as asyncio tasks and keeps every task (active and archived) by UPID."""

    def __init__(self, duration: float, fault_hook: FaultHook | None = None) -> None:
        self.duration = duration
        self.fault_hook = fault_hook
        self.tasks: dict[str, Task] = {}
        self._pids: dict[str, int] = {}
        self._boot = time.time() - 86400

    def _next_pid(self, node: str) -> int:
        pid = self._pids.get(node, 0x2A000 + 0x1000 * (len(self._pids) + 1)) + 7
        self._pids[node] = pid
        return pid

    def start(self, node: str, type_: str, id_: str, owner: str, work: Worker) -> Task:
        userid, _, tokenid = owner.partition("!")
        now = time.time()
        pid = self._next_pid(node)
        pstart = int((now - self._boot) * 100)
        starttime = int(now)
        upid = f"UPID:{node}:{pid:08X}:{pstart:08X}:{starttime:08X}:{type_}:{id_}:{owner}:"
        task = Task(upid, node, pid, pstart, starttime, type_, id_, userid, tokenid or None)
        self.tasks[upid] = task
        task.handle = asyncio.get_running_loop().create_task(self._run(task, work), name=upid)
        # A task cancelled before its coroutine ever ran never reaches _run's handler: finish it here.
        task.handle.add_done_callback(lambda _: self._finish(task, INTERRUPTED) if task.status == "running" else None)
        return task

    async def _run(self, task: Task, work: Worker) -> None:
        ctx = TaskContext(task)
        error: str | None = None
        try:
            await asyncio.sleep(self.duration)
            injected, warnings = self.fault_hook(task) if self.fault_hook else (None, 0)
            if injected is not None:
                raise TaskError(injected)
            await work(ctx)
            for index in range(warnings):
                ctx.warn(f"simulated warning {index + 1}")
        except TaskError as exc:
            error = exc.message
        except asyncio.CancelledError:
            error = INTERRUPTED
        except Exception as exc:  # a bug in a worker body must still end the task like PVE would
            log.exception("pvesim task crashed", upid=task.upid)
            error = str(exc) or type(exc).__name__
        self._finish(task, error)

    def _finish(self, task: Task, error: str | None) -> None:
        if error is not None:
            task.lines.append(f"TASK ERROR: {error}")
            task.exitstatus = error
        elif task.warnings:
            task.lines.append(f"TASK WARNINGS: {task.warnings}")
            task.exitstatus = f"WARNINGS: {task.warnings}"
        else:
            task.lines.append("TASK OK")
            task.exitstatus = "OK"
        task.status = "stopped"
        task.endtime = int(time.time())

    def get(self, upid: str) -> Task | None:
        return self.tasks.get(upid)

    def stop(self, task: Task) -> None:
        if task.status == "running" and task.handle is not None:
            task.handle.cancel()

    async def shutdown(self) -> None:
        handles = [t.handle for t in self.tasks.values() if t.handle is not None and not t.handle.done()]
        for handle in handles:
            handle.cancel()
        await asyncio.gather(*handles, return_exceptions=True)
