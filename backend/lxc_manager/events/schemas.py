"""API shapes of deployment events (the same shape on the SSE stream, in the JSON history and on the broker)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class DeploymentEventOut(BaseModel):
    """One progress event; the shape of the bash engine's JSON lines plus ``seq`` and ``data``."""

    model_config = ConfigDict(from_attributes=True)

    seq: int = Field(description="Per-deployment sequence number, 1, 2, 3…; the SSE event id")
    type: str = Field(description="phase | log | status | result", examples=["log"])
    phase: str | None = Field(description="create | start | provision | verify | finalize", examples=["provision"])
    status: str | None = Field(
        description="running/succeeded/failed/cancelled…, or stdout/stderr/info for log lines", examples=["stdout"]
    )
    message: str = Field(description="Text; capped at 8 KiB (a cut message ends with a truncation note)")
    ts: datetime = Field(description="When the event was recorded (UTC)")
    data: dict[str, Any] = Field(description="Structured details (e.g. vmid, ip, web UI links on a result)")


class DeploymentEventPage(BaseModel):
    items: list[DeploymentEventOut]
    last_seq: int = Field(description="The deployment's latest event seq (more may follow while it runs)")
    next_after_seq: int = Field(description="Pass as after_seq to read the next page")
    finished: bool = Field(description="The deployment is in a terminal state and every event has been read")
