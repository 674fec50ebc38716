"""Background jobs: arq on Redis when ``LXCM_REDIS_URL`` is set, otherwise the same job functions in-process.

Jobs are enqueued only after the surrounding transaction commits (see ``db.after_commit``), and their
arguments are ids and primitives — never secrets (arq stores arguments in Redis). arq uses a JSON
serializer here, not its default pickle.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from lxc_manager.core.db import after_commit
from lxc_manager.core.logging import get_logger

log = get_logger(__name__)

JobFunction = Callable[..., Awaitable[Any]]

# Registry of job functions by name, filled by domain ``tasks.py`` modules via ``@job``.
JOB_REGISTRY: dict[str, JobFunction] = {}


def job(func: JobFunction) -> JobFunction:
    JOB_REGISTRY[func.__name__] = func
    return func


def json_serializer(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def json_deserializer(data: bytes) -> Any:
    return json.loads(data)


class JobQueue(Protocol):
    async def enqueue(self, name: str, *args: Any, job_id: str | None = None) -> bool: ...

    async def close(self) -> None: ...


class ArqJobQueue:
    def __init__(self, pool: Any) -> None:
        self._pool = pool

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None) -> bool:
        result = await self._pool.enqueue_job(name, *args, _job_id=job_id)
        return result is not None

    async def close(self) -> None:
        await self._pool.aclose()


@dataclass
class InProcessJobQueue:
    """Runs registered job functions as asyncio tasks in this process, with a shared ``ctx`` dict."""

    ctx: dict[str, Any] = field(default_factory=dict)
    _tasks: dict[str, asyncio.Task[Any]] = field(default_factory=dict)

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None) -> bool:
        func = JOB_REGISTRY.get(name)
        if func is None:
            raise LookupError(f"unknown job {name!r}")
        key = job_id or f"{name}:{id(args)}:{len(self._tasks)}"
        running = self._tasks.get(key)
        if running is not None and not running.done():
            return False  # same de-duplication semantics as arq's _job_id
        ctx = {**self.ctx, "job_id": key, "job_try": 1}
        task = asyncio.create_task(self._run(name, func, ctx, args), name=f"job:{key}")
        self._tasks[key] = task
        return True

    async def _run(self, name: str, func: JobFunction, ctx: dict[str, Any], args: tuple[Any, ...]) -> None:
        try:
            await func(ctx, *args)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job_failed", job=name)

    async def drain(self) -> None:
        """Wait for every job started so far (tests, shutdown)."""
        while pending := [t for t in self._tasks.values() if not t.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)


def enqueue_after_commit(queue: JobQueue, name: str, *args: Any, job_id: str | None = None) -> None:
    async def _send() -> None:
        await queue.enqueue(name, *args, job_id=job_id)

    after_commit(_send)
