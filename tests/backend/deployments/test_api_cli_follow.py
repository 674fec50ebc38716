"""The CLI's follower: reconnects with Last-Event-ID after a dropped stream (no gap, no duplicate), falls back to
the JSON history when the server has no stream, and draws a live display only on a terminal."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx

from lxc_manager.deployments.follow import DeploymentFollower, Renderer

DEPLOYMENT = "dep-1"


def event(seq: int, type_: str = "log", **fields: Any) -> dict[str, Any]:
    return {"seq": seq, "type": type_, "phase": "provision", "status": "stdout", "message": f"line {seq}",
            "ts": "2026-01-01T00:00:00Z", "data": {}, **fields}  # fmt: skip


EVENTS = [
    event(1, "phase", phase="create", status="running", message=""),
    *[event(seq) for seq in range(2, 9)],
    event(9, "phase", phase="create", status="succeeded", message="", data={"duration_s": 1.25}),
    event(10, "result", status="succeeded", message="done"),
]


def sse(events: list[dict[str, Any]]) -> bytes:
    return b"".join(f": ping\n\nid: {e['seq']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


async def test_reconnects_from_the_last_event_without_gap_or_duplicate() -> None:
    seen_last_ids: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == f"/api/v1/deployments/{DEPLOYMENT}/events"
        last = int(request.headers["Last-Event-ID"])
        seen_last_ids.append(str(last))
        if len(seen_last_ids) == 1:  # the first connection drops after three events (and replays one twice)
            return httpx.Response(200, content=sse(EVENTS[:3] + EVENTS[2:3]))
        if len(seen_last_ids) == 2:
            raise httpx.ReadError("connection reset")
        return httpx.Response(200, content=sse([e for e in EVENTS if e["seq"] > last - 1]))  # overlaps by one

    out = io.StringIO()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://x") as http:
        follower = DeploymentFollower(http, DEPLOYMENT, Renderer(out, tty=False))
        await follower.run()
    assert seen_last_ids == ["0", "3", "3"]
    text = out.getvalue()
    assert [line for line in text.splitlines() if "line " in line] == [f"  provision | line {n}" for n in range(2, 9)]
    assert "phase create: running" in text and "phase create: succeeded" in text and "result: succeeded done" in text
    assert follower.finished and follower.last_seq == 10


async def test_polls_the_history_when_there_is_no_stream() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/events"):
            return httpx.Response(404, json={"error": "not_found", "detail": "Not Found"})
        if path.endswith("/events/history"):
            after = int(request.url.params["after_seq"])
            items = [e for e in EVENTS if after < e["seq"] <= after + 4]
            finished = bool(items) and items[-1]["seq"] == 10
            return httpx.Response(200, json={"items": items, "last_seq": 10, "next_after_seq": after + len(items),
                                             "finished": finished})  # fmt: skip
        return httpx.Response(200, json={"id": DEPLOYMENT, "status": "running", "phases": []})

    out = io.StringIO()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://x") as http:
        await DeploymentFollower(http, DEPLOYMENT, Renderer(out, tty=False)).run()
    assert out.getvalue().count("line ") == 7 and "result: succeeded" in out.getvalue()


def test_terminal_display_redraws_phases_and_a_log_tail() -> None:
    from lxc_manager.deployments.follow import Event

    out = io.StringIO()
    renderer = Renderer(out, tty=True)
    for payload in EVENTS:
        renderer.event(Event.from_json(payload))
    renderer.close()
    text = out.getvalue()
    assert "\x1b[" in text  # redrawn in place
    assert "✓ create succeeded in 1.2 s" in text
    assert "  │ line 8" in text
    assert text.rstrip().splitlines()[-1].endswith("[✓] create  [ ] start  [ ] provision  [ ] verify  [ ] finalize")
