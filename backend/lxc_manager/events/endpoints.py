"""Deployment progress: the live SSE stream and the same events as JSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from sse_starlette import EventSourceResponse

from lxc_manager.auth.dependencies import ReadPrincipal
from lxc_manager.core.deps import AppStateDep, DBSession
from lxc_manager.core.errors import responses
from lxc_manager.events import service
from lxc_manager.events.schemas import DeploymentEventPage

router = APIRouter(prefix="/deployments", tags=["deployments"])

_SSE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": (
            "An event stream. Each event's `id` is its `seq` and its `data` a JSON object shaped like "
            "`DeploymentEventOut`; comments are keep-alives; the stream ends after the terminal `result` event. "
            "An `event: closed` notice ends it early when the caller lost access."
        ),
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    204: {"description": "The deployment has finished and the client has every event: stop reconnecting"},
    **responses(400, 401, 403, 404),
}


@router.get(
    "/{deployment_id}/events",
    operation_id="stream_deployment_events",
    summary="Live progress events (Server-Sent Events), replayed from Last-Event-ID",
    response_class=EventSourceResponse,
    responses=_SSE_RESPONSES,
)
async def stream_deployment_events(
    deployment_id: str,
    principal: ReadPrincipal,
    state: AppStateDep,
    last_event_id_header: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID", max_length=32, description="The last seq received; sent by browsers on reconnect"
        ),
    ] = None,
    last_event_id: Annotated[
        int | None,
        Query(ge=0, le=service.MAX_SEQ, description="Same as the Last-Event-ID header, for clients that cannot set it"),
    ] = None,
) -> Response:
    after_seq = service.parse_last_event_id(last_event_id_header, last_event_id)
    if not await service.check_stream_start(state, principal, deployment_id, after_seq):
        return Response(status_code=204)
    settings = state.settings
    return EventSourceResponse(
        service.stream_events(state, principal, deployment_id, after_seq),
        ping=settings.events_ping_s,
        send_timeout=settings.events_send_timeout_s,
    )


@router.get(
    "/{deployment_id}/events/history",
    operation_id="list_deployment_events",
    summary="The deployment's events as JSON, after a seq",
    responses=responses(401, 403, 404),
)
async def list_deployment_events(
    deployment_id: str,
    principal: ReadPrincipal,
    db: DBSession,
    after_seq: Annotated[int, Query(ge=0, le=service.MAX_SEQ, description="Return events with a larger seq")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> DeploymentEventPage:
    return await service.list_events(db, principal, deployment_id, after_seq, limit)
