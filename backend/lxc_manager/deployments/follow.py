"""Follow a deployment from a terminal: consume the SSE stream (replayed from Last-Event-ID on every
reconnect), fall back to polling the JSON history, and render phases plus a log tail.

Only ``httpx`` and the public API: this runs on an operator's machine against a remote dashboard.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, TextIO

import httpx

PHASE_NAMES = ("create", "start", "provision", "verify", "finalize")
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
RECONNECT_DELAYS = (0.2, 0.5, 1.0, 2.0, 3.0, 5.0)
MAX_RECONNECTS = 60
POLL_INTERVAL_S = 0.5
STREAM_READ_TIMEOUT_S = 60.0  # the server pings every ~15 s; silence this long means a dead connection
TAIL_LINES = 8


class FollowError(Exception):
    """The deployment cannot be followed (gone, access lost, server unreachable for too long)."""


@dataclass
class Event:
    seq: int
    type: str
    phase: str | None
    status: str | None
    message: str
    data: dict[str, Any]

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> Event:
        return cls(
            seq=int(payload.get("seq") or 0),
            type=str(payload.get("type") or ""),
            phase=payload.get("phase"),
            status=payload.get("status"),
            message=str(payload.get("message") or ""),
            data=dict(payload.get("data") or {}),
        )


@dataclass
class SSEMessage:
    event: str = "message"
    data: list[str] = field(default_factory=list)
    id: str | None = None


async def sse_messages(lines: AsyncIterator[str]) -> AsyncIterator[SSEMessage]:
    """Parse a text/event-stream (comments are keep-alives and are skipped)."""
    current = SSEMessage()
    async for line in lines:
        if line == "":
            if current.data or current.id is not None or current.event != "message":
                yield current
            current = SSEMessage()
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            current.data.append(value)
        elif name == "event":
            current.event = value
        elif name == "id":
            current.id = value
    if current.data:
        yield current


class Renderer:
    """Phase progress and a log tail: redrawn in place on a terminal, plain lines otherwise."""

    SYMBOLS = {"pending": " ", "running": "▶", "succeeded": "✓", "failed": "✗", "cancelled": "■", "skipped": "-"}

    def __init__(self, out: TextIO, *, tty: bool | None = None) -> None:
        self.out = out
        self.tty = out.isatty() if tty is None else tty
        self.phases: dict[str, str] = dict.fromkeys(PHASE_NAMES, "pending")
        self.tail: list[str] = []
        self._drawn = 0

    def status_line(self) -> str:
        return "  ".join(f"[{self.SYMBOLS.get(state, '?')}] {name}" for name, state in self.phases.items())

    def _clear(self) -> None:
        if self.tty and self._drawn:
            self.out.write(f"\x1b[{self._drawn}F\x1b[J")  # up to the first drawn line, clear to the end
            self._drawn = 0

    def _draw(self) -> None:
        if not self.tty:
            return
        # Lines are cut to the terminal width: a wrapped line would throw off the cursor-up count of the redraw.
        width = max(20, shutil.get_terminal_size((100, 24)).columns - 1)
        lines = [self.status_line()[:width], *(f"  │ {line}"[:width] for line in self.tail[-TAIL_LINES:])]
        self.out.write("\n".join(lines) + "\n")
        self._drawn = len(lines)
        self.out.flush()

    def note(self, text: str) -> None:
        self._clear()
        self.out.write(text + "\n")
        self._draw()
        self.out.flush()

    def event(self, event: Event) -> None:
        if event.type == "phase" and event.phase in self.phases:
            self.phases[event.phase] = event.status or "running"
            if self.tty:
                self._clear()
                if event.status in ("succeeded", "failed"):
                    duration = event.data.get("duration_s")
                    took = f" in {duration:.1f} s" if isinstance(duration, int | float) else ""
                    self.out.write(f"{self.SYMBOLS.get(event.status, '?')} {event.phase} {event.status}{took}\n")
                    self.tail = []
                self._draw()
            else:
                self.out.write(f"phase {event.phase}: {event.status}\n")
        elif event.type == "log":
            text = event.message.rstrip("\n")
            if self.tty:
                self._clear()
                self.tail.append(text[:300])
                self.tail = self.tail[-TAIL_LINES:]
                self._draw()
            else:
                stream = f"[{event.status}] " if event.status in ("stderr",) else ""
                self.out.write(f"  {event.phase or '-'} | {stream}{text}\n")
        elif event.type in ("status", "result"):
            self.note(f"{event.type}: {event.status or ''} {event.message}".rstrip())
        self.out.flush()

    def close(self) -> None:
        self._clear()
        if self.tty:
            self.out.write(self.status_line() + "\n")
        self.out.flush()


class DeploymentFollower:
    """Reads a deployment's events once each, in order, across reconnects, until its terminal event."""

    def __init__(self, http: httpx.AsyncClient, deployment_id: str, renderer: Renderer) -> None:
        self.http = http
        self.deployment_id = deployment_id
        self.renderer = renderer
        self.last_seq = 0
        self.finished = False

    def _handle(self, event: Event) -> None:
        if event.seq and event.seq <= self.last_seq:
            return  # a replay overlap: never show an event twice
        self.last_seq = max(self.last_seq, event.seq)
        self.renderer.event(event)
        if event.type == "result":
            self.finished = True

    async def _stream_once(self) -> str:
        """One SSE connection: ``done`` (the deployment is over), ``ended`` (dropped: reconnect) or ``missing``
        (no events stream on this server: poll instead)."""
        headers = {"Accept": "text/event-stream", "Last-Event-ID": str(self.last_seq)}
        url = f"/api/v1/deployments/{self.deployment_id}/events"
        timeout = httpx.Timeout(10.0, read=STREAM_READ_TIMEOUT_S)
        async with self.http.stream("GET", url, headers=headers, timeout=timeout) as response:
            if response.status_code == 204:
                self.finished = True  # over, and we have everything
                return "done"
            if response.status_code in (404, 405, 501):
                await response.aread()
                return "missing"
            if response.status_code >= 400:
                await response.aread()
                raise FollowError(f"the event stream answered {response.status_code}: {response.text[:200]}")
            async for message in sse_messages(response.aiter_lines()):
                if message.event == "closed":
                    raise FollowError("the server closed the stream: access to this deployment was lost")
                if not message.data:
                    continue
                try:
                    payload = json.loads("\n".join(message.data))
                except json.JSONDecodeError:
                    continue
                self._handle(Event.from_json(payload))
                if self.finished:
                    return "done"
        return "ended"

    async def _poll_history(self) -> bool:
        """The JSON history, after the last seq seen. True when the deployment ended and nothing is left."""
        url = f"/api/v1/deployments/{self.deployment_id}/events/history"
        response = await self.http.get(url, params={"after_seq": self.last_seq, "limit": 500})
        if response.status_code == 404:
            return await self._poll_status()
        response.raise_for_status()
        page = response.json()
        for payload in page.get("items", []):
            self._handle(Event.from_json(payload))
        return bool(page.get("finished")) or self.finished

    async def _poll_status(self) -> bool:
        """Without an events API: the deployment's own status."""
        response = await self.http.get(f"/api/v1/deployments/{self.deployment_id}")
        if response.status_code == 404:
            raise FollowError("the deployment no longer exists or is no longer visible to you")
        response.raise_for_status()
        body = response.json()
        for phase in body.get("phases", []):
            if self.renderer.phases.get(phase["name"]) != phase["status"]:
                self.renderer.event(Event(0, "phase", phase["name"], phase["status"], "", {}))
        return body.get("status") in TERMINAL

    async def run(self) -> None:
        failures = 0
        use_stream = True
        while not self.finished:
            try:
                if use_stream:
                    outcome = await self._stream_once()
                    if outcome == "missing":
                        await self._poll_status()  # 404s here when the deployment itself is gone
                        use_stream = False
                    elif outcome == "ended":
                        await asyncio.sleep(RECONNECT_DELAYS[0])  # dropped (server restart?): reconnect
                elif not await self._poll_history():
                    await asyncio.sleep(POLL_INTERVAL_S)
                else:
                    self.finished = True
                failures = 0
            except (httpx.TransportError, httpx.HTTPStatusError) as exc:
                failures += 1
                if failures > MAX_RECONNECTS:
                    raise FollowError(f"lost the connection to the server ({type(exc).__name__})") from None
                if failures == 1 or failures % 10 == 0:
                    self.renderer.note(f"connection lost ({type(exc).__name__}); resuming after event {self.last_seq}")
                await asyncio.sleep(RECONNECT_DELAYS[min(failures - 1, len(RECONNECT_DELAYS) - 1)])


def default_renderer() -> Renderer:
    return Renderer(sys.stdout)
