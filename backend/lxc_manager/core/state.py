"""What the application holds for its lifetime; built in the lifespan and reached through dependencies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from lxc_manager.core.config import Settings
from lxc_manager.core.jobs import JobQueue


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    jobs: JobQueue
    redis: Any | None = None  # redis.asyncio.Redis when LXCM_REDIS_URL is set
    events: Any | None = None  # events.broker.EventBroker (core may not import domains)
