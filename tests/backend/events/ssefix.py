"""A live app under uvicorn (its own thread and loop, like a separate API process), a test-side DB engine
(like a worker) and a small SSE client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from live_server import serve_in_thread
from lxc_manager.core.config import Settings
from lxc_manager.core.db import unit_of_work
from lxc_manager.events.publisher import EventSpec, emit_many
from lxc_manager.main import create_app
from lxc_manager.models import Deployment


@dataclass
class LiveApp:
    app: FastAPI
    url: str

    @property
    def state(self) -> Any:
        return self.app.state.lxcm


@contextmanager
def live_app(settings: Settings, **overrides: Any) -> Iterator[LiveApp]:
    fast = {
        "events_recheck_s": 0.3,
        "events_ping_s": 0.5,
        "events_poll_s": 0.1,
        "templates_sync_on_startup": False,
        **overrides,
    }
    app = create_app(settings.model_copy(update=fast))
    with serve_in_thread(app) as url:
        yield LiveApp(app=app, url=url)


@dataclass
class SSEEvent:
    id: str | None = None
    event: str | None = None
    data: str = ""

    @property
    def json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.data)
        return parsed


@dataclass
class SSEReader:
    response: httpx.Response
    comments: list[str] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)

    async def events(self) -> AsyncIterator[SSEEvent]:
        current = SSEEvent()
        has_field = False
        async for line in self.response.aiter_lines():
            self.raw.append(line)
            if line == "":
                if has_field:
                    yield current
                current, has_field = SSEEvent(), False
                continue
            if line.startswith(":"):
                self.comments.append(line)
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            has_field = True
            if name == "id":
                current.id = value
            elif name == "event":
                current.event = value
            elif name == "data":
                current.data = f"{current.data}\n{value}" if current.data else value


@asynccontextmanager
async def sse(
    client: httpx.AsyncClient, url: str, *, token: str | None = None, last_event_id: int | None = None
) -> AsyncIterator[SSEReader]:
    headers = {"Accept": "text/event-stream"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    async with client.stream("GET", url, headers=headers) as response:
        yield SSEReader(response)


async def emit_batch(
    sessionmaker: async_sessionmaker[AsyncSession],
    deployment_id: str,
    specs: Sequence[EventSpec],
    *,
    final_status: str | None = None,
) -> None:
    """One unit of work of the lease holder: events (and optionally the terminal status) committed together."""
    async with unit_of_work(sessionmaker) as db:
        deployment = await db.get(Deployment, deployment_id)
        assert deployment is not None
        if final_status is not None:
            deployment.status = final_status
        await emit_many(db, deployment, specs)


def log_lines(*messages: str) -> list[EventSpec]:
    return [EventSpec("log", phase="provision", status="stdout", message=m) for m in messages]
