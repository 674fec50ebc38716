"""Shared FastAPI dependencies as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.core.config import Settings
from lxc_manager.core.db import unit_of_work
from lxc_manager.core.jobs import JobQueue
from lxc_manager.core.state import AppState


def get_app_state(request: Request) -> AppState:
    state: AppState = request.app.state.lxcm
    return state


AppStateDep = Annotated[AppState, Depends(get_app_state)]


def get_settings_dep(state: AppStateDep) -> Settings:
    return state.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def get_db_session(state: AppStateDep) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: commit when the handler returns, roll back when it raises."""
    async with unit_of_work(state.sessionmaker) as session:
        yield session


# scope="function": the commit runs when the handler returns, before the response is sent. With FastAPI's default
# ("request") it ran after the response went out, so a client could act on a 201 before the row was visible (a
# follow-up read answered 404) or be told of a success whose commit then failed.
DBSession = Annotated[AsyncSession, Depends(get_db_session, scope="function")]


def get_job_queue(state: AppStateDep) -> JobQueue:
    return state.jobs


JobQueueDep = Annotated[JobQueue, Depends(get_job_queue)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None
