"""The SSE stream through a real uvicorn server: replay, live tail, terminal close, 204, reconnect without gap
or duplicate (in-process and Redis brokers), authorization, revocation, cleanup, secrets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from eventfix import insert_deployment, insert_node, insert_token, insert_user
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from ssefix import LiveApp, emit_batch, live_app, log_lines, sse

from lxc_manager.core.config import Settings
from lxc_manager.core.db import create_engine, create_sessionmaker, unit_of_work
from lxc_manager.events.broker import EventBroker, RedisStreamBroker
from lxc_manager.events.publisher import EventSpec, bind_broker, redacting
from lxc_manager.events.service import OPEN_STREAMS
from lxc_manager.models import NodeAccess, User

RESULT_OK = EventSpec("result", phase="finalize", status="succeeded", message="done", data={"vmid": 101})


@dataclass
class Env:
    live: LiveApp
    sessionmaker: async_sessionmaker[AsyncSession]  # the "worker" side: its own engine, same database
    admin_token: str
    http: httpx.AsyncClient

    def events_url(self, deployment_id: str) -> str:
        return f"{self.live.url}/api/v1/deployments/{deployment_id}/events"

    async def new_deployment(self, *granted_to: str) -> str:
        return await insert_deployment(self.sessionmaker, await insert_node(self.sessionmaker, granted_to=granted_to))


@pytest.fixture
def live_inprocess(settings: Settings) -> Iterator[LiveApp]:
    with live_app(settings) as live:
        yield live


async def _env(live: LiveApp, database_url: str, broker: EventBroker | None) -> AsyncIterator[Env]:
    engine = create_engine(database_url)
    sessionmaker = create_sessionmaker(engine)
    bind_broker(sessionmaker, broker)
    admin = await insert_user(sessionmaker, "admin")
    token = await insert_token(sessionmaker, admin)
    async with httpx.AsyncClient(timeout=httpx.Timeout(20.0)) as http:
        yield Env(live=live, sessionmaker=sessionmaker, admin_token=token, http=http)
    await engine.dispose()


@pytest.fixture
async def env(live_inprocess: LiveApp, database_url: str) -> AsyncIterator[Env]:
    # The API's in-process broker, fed from this (other) thread: what in-process jobs do.
    async for value in _env(live_inprocess, database_url, live_inprocess.state.events):
        yield value


@pytest.fixture(params=["inprocess", "redis"])
def broker_kind(request: pytest.FixtureRequest) -> str | None:
    """None: in-process; else the URL of a real Redis (skips without one, fails under CI=true)."""
    if request.param == "inprocess":
        return None
    url: str = request.getfixturevalue("redis_url")
    return url


@pytest.fixture
async def any_env(broker_kind: str | None, settings: Settings, database_url: str) -> AsyncIterator[Env]:
    if broker_kind is None:
        with live_app(settings) as live:
            async for value in _env(live, database_url, live.state.events):
                yield value
        return
    redis_url = broker_kind
    publisher = RedisStreamBroker(redis_url)  # a worker process's broker
    with live_app(settings, redis_url=redis_url) as live:
        assert isinstance(live.state.events, RedisStreamBroker)
        async for value in _env(live, database_url, publisher):
            yield value
    await publisher.close()


async def _eventually(predicate: Any, within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_replay_live_tail_terminal_close_then_204(env: Env) -> None:
    deployment_id = await env.new_deployment()
    await emit_batch(env.sessionmaker, deployment_id, [EventSpec("phase", phase="create", status="running")])
    await emit_batch(env.sessionmaker, deployment_id, log_lines("a", "b"))
    url = env.events_url(deployment_id)
    received: list[dict[str, Any]] = []
    async with sse(env.http, url, token=env.admin_token) as reader:
        assert reader.response.status_code == 200
        assert reader.response.headers["content-type"].startswith("text/event-stream")
        assert reader.response.headers["cache-control"] == "no-store"
        async for event in reader.events():
            assert event.id == str(event.json["seq"]) and event.event is None
            received.append(event.json)
            if event.json["seq"] == 3:  # replay done: now the "worker" goes on
                await emit_batch(env.sessionmaker, deployment_id, log_lines("c"))
            if event.json["seq"] == 4:
                await emit_batch(env.sessionmaker, deployment_id, [RESULT_OK], final_status="succeeded")
        # the iterator ended: the server closed the stream after the terminal event
    assert [e["seq"] for e in received] == [1, 2, 3, 4, 5]
    assert [e["type"] for e in received] == ["phase", "log", "log", "log", "result"]
    assert received[0] | {"ts": None} == {
        "seq": 1,
        "type": "phase",
        "phase": "create",
        "status": "running",
        "message": "",
        "ts": None,
        "data": {},
    }
    assert received[-1]["data"] == {"vmid": 101}

    # Reconnect after the end: 204, the spec's "stop reconnecting".
    for headers in ({"Last-Event-ID": "5"}, {"Last-Event-ID": "7"}):
        gone = await env.http.get(url, headers={**headers, "Authorization": f"Bearer {env.admin_token}"})
        assert gone.status_code == 204 and gone.content == b""
    # A finished deployment still replays for a client that has not seen everything, then closes.
    async with sse(env.http, url + "?last_event_id=3", token=env.admin_token) as reader:
        assert [e.json["seq"] async for e in reader.events()] == [4, 5]
    async with sse(env.http, url + "?last_event_id=1", token=env.admin_token, last_event_id=4) as reader:
        assert [e.json["seq"] async for e in reader.events()] == [5]  # the header wins over the URL


async def test_heartbeat_comments_while_idle(env: Env) -> None:
    deployment_id = await env.new_deployment()
    async with sse(env.http, env.events_url(deployment_id), token=env.admin_token) as reader:
        lines = reader.response.aiter_lines()
        first = await asyncio.wait_for(anext(lines), 10)
        assert first.startswith(": ping")  # a comment, no id
        await emit_batch(env.sessionmaker, deployment_id, log_lines("x"))
        seen = [await asyncio.wait_for(anext(lines), 10) for _ in range(3)]
        assert "id: 1" in seen


@pytest.mark.parametrize("drops", [(17,), (1, 9, 30, 44)])
async def test_reconnect_after_drop_has_no_gap_and_no_duplicate(any_env: Env, drops: tuple[int, ...]) -> None:
    env = any_env
    deployment_id = await env.new_deployment()
    total_batches = 12

    async def worker() -> None:
        await emit_batch(env.sessionmaker, deployment_id, [EventSpec("phase", phase="provision", status="running")])
        for batch in range(total_batches):
            await emit_batch(env.sessionmaker, deployment_id, log_lines(*(f"b{batch}-l{i}" for i in range(4))))
            await asyncio.sleep(0.01)
        await emit_batch(env.sessionmaker, deployment_id, [RESULT_OK], final_status="succeeded")

    producer = asyncio.create_task(worker())
    received: list[int] = []
    last_id: int | None = None
    pending = list(drops)
    try:
        while True:
            async with sse(env.http, env.events_url(deployment_id), token=env.admin_token, last_event_id=last_id) as r:
                if r.response.status_code == 204:
                    break
                assert r.response.status_code == 200
                async for event in r.events():
                    received.append(event.json["seq"])
                    last_id = int(event.id or 0)
                    if pending and last_id >= pending[0]:
                        pending.pop(0)
                        break  # the client drops the connection right after event k
                else:
                    break  # the server ended the stream after the terminal event
    finally:
        await producer
    expected = 1 + total_batches * 4 + 1
    assert received == list(range(1, expected + 1))
    await _eventually(lambda: OPEN_STREAMS.value == 0)


async def test_gap_in_the_broker_is_filled_from_the_database(env: Env, database_url: str) -> None:
    deployment_id = await env.new_deployment()
    engine = create_engine(database_url)
    silent = create_sessionmaker(engine)  # persists without publishing: a publish the broker lost
    try:
        async with sse(env.http, env.events_url(deployment_id), token=env.admin_token) as reader:
            events = reader.events()
            await emit_batch(env.sessionmaker, deployment_id, log_lines("1"))
            assert (await anext(events)).json["seq"] == 1
            await emit_batch(silent, deployment_id, log_lines("2", "3"))
            await emit_batch(env.sessionmaker, deployment_id, log_lines("4"))
            got = [(await anext(events)).json["message"] for _ in range(3)]
            assert got == ["2", "3", "4"]
            await emit_batch(silent, deployment_id, [RESULT_OK], final_status="succeeded")  # lost as well
            assert (await anext(events)).json["type"] == "result"  # found by the periodic DB check
            assert [e async for e in events] == []
    finally:
        await engine.dispose()


async def test_redis_down_streams_fall_back_to_the_database(env: Env) -> None:
    dead = RedisStreamBroker("redis://127.0.0.1:1/0", publish_timeout_s=0.5)
    live_broker = env.live.state.events
    env.live.state.events = dead  # the API's broker cannot reach Redis
    bind_broker(env.sessionmaker, dead)  # and neither can the worker's
    try:
        deployment_id = await env.new_deployment()
        await emit_batch(env.sessionmaker, deployment_id, log_lines("before"))
        async with sse(env.http, env.events_url(deployment_id), token=env.admin_token) as reader:
            events = reader.events()
            assert (await anext(events)).json["message"] == "before"
            await emit_batch(env.sessionmaker, deployment_id, log_lines("during"))
            assert (await anext(events)).json["message"] == "during"
            await emit_batch(env.sessionmaker, deployment_id, [RESULT_OK], final_status="succeeded")
            assert (await anext(events)).json["type"] == "result"
    finally:
        env.live.state.events = live_broker
        await dead.close()


async def test_a_user_without_access_gets_404_even_with_a_guessed_id(env: Env) -> None:
    granted = await insert_user(env.sessionmaker)
    outsider = await insert_user(env.sessionmaker, "operator")
    deployment_id = await env.new_deployment(granted)
    await emit_batch(env.sessionmaker, deployment_id, log_lines("secret-ish plan", "more"))
    outsider_token = await insert_token(env.sessionmaker, outsider)
    url = env.events_url(deployment_id)
    for headers in ({}, {"Last-Event-ID": "1"}, {"Last-Event-ID": "0"}):
        response = await env.http.get(url, headers={**headers, "Authorization": f"Bearer {outsider_token}"})
        assert response.status_code == 404, response.text
        assert response.json() == {"error": "not_found", "detail": "Deployment not found"}
    history = await env.http.get(url + "/history", headers={"Authorization": f"Bearer {outsider_token}"})
    assert history.status_code == 404
    missing = await env.http.get(env.events_url("nope"), headers={"Authorization": f"Bearer {outsider_token}"})
    assert missing.status_code == 404 and missing.json() == response.json()
    assert (await env.http.get(url)).status_code == 401
    # The granted viewer sees it.
    viewer_token = await insert_token(env.sessionmaker, granted, "read")
    async with sse(env.http, url, token=viewer_token) as reader:
        assert reader.response.status_code == 200
        assert (await anext(reader.events())).json["message"] == "secret-ish plan"


async def test_bad_last_event_id_is_a_400(env: Env) -> None:
    deployment_id = await env.new_deployment()
    await emit_batch(env.sessionmaker, deployment_id, log_lines("one"))
    auth = {"Authorization": f"Bearer {env.admin_token}"}
    url = env.events_url(deployment_id)
    for value in ("abc", "-1", "1.5", "99999999999"):
        response = await env.http.get(url, headers={**auth, "Last-Event-ID": value})
        assert response.status_code == 400 and response.json()["error"] == "bad_request"
    beyond = await env.http.get(url, headers={**auth, "Last-Event-ID": "5"})
    assert beyond.status_code == 400 and "beyond" in beyond.json()["detail"]
    assert (await env.http.get(url + "?last_event_id=-3", headers=auth)).status_code == 422


async def test_revoking_node_access_closes_the_open_stream(env: Env) -> None:
    viewer = await insert_user(env.sessionmaker)
    deployment_id = await env.new_deployment(viewer)
    token = await insert_token(env.sessionmaker, viewer, "read")
    await emit_batch(env.sessionmaker, deployment_id, log_lines("visible"))
    async with sse(env.http, env.events_url(deployment_id), token=token) as reader:
        events = reader.events()
        assert (await anext(events)).json["message"] == "visible"
        async with unit_of_work(env.sessionmaker) as db:
            await db.execute(delete(NodeAccess).where(NodeAccess.user_id == viewer))
        await emit_batch(env.sessionmaker, deployment_id, log_lines("after revoke"))
        rest = [e async for e in events]  # ends by itself
    assert rest[-1].event == "closed" and rest[-1].json == {"reason": "access_revoked"}
    response = await env.http.get(env.events_url(deployment_id), headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404


async def test_disabling_the_user_closes_a_session_stream(env: Env) -> None:
    password = "correct-horse-battery-staple"
    viewer = await insert_user(env.sessionmaker, password=password)
    deployment_id = await env.new_deployment(viewer)
    async with unit_of_work(env.sessionmaker) as db:
        username = (await db.get(User, viewer)).username  # type: ignore[union-attr]
    async with httpx.AsyncClient(base_url=env.live.url, timeout=20) as browser:
        login = await browser.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert login.status_code == 200
        async with browser.stream("GET", f"/api/v1/deployments/{deployment_id}/events") as response:
            assert response.status_code == 200
            async with unit_of_work(env.sessionmaker) as db:
                await db.execute(update(User).where(User.id == viewer).values(is_active=False))
            lines = [line async for line in response.aiter_lines()]  # ends by itself
    assert "event: closed" in lines


async def test_aborted_streams_leave_nothing_behind(env: Env) -> None:
    deployment_id = await env.new_deployment()
    await emit_batch(env.sessionmaker, deployment_id, log_lines("first"))
    broker = env.live.state.events
    url = env.events_url(deployment_id)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:

        async def one(i: int) -> None:
            async with sse(http, url, token=env.admin_token) as reader:
                if i % 4:  # most read their first event; some abort before reading anything
                    assert (await anext(reader.events())).json["seq"] == 1

        await asyncio.gather(*(one(i) for i in range(200)))
    await _eventually(lambda: OPEN_STREAMS.value == 0 and broker.subscriber_count() == 0, within=30)
    # The API still streams afterwards.
    async with sse(env.http, url, token=env.admin_token) as reader:
        assert (await anext(reader.events())).json["seq"] == 1


async def test_secrets_never_reach_frames_or_history(env: Env) -> None:
    deployment_id = await env.new_deployment()
    secret = "Sup3r-Secret-Value"
    with redacting([secret]):
        await emit_batch(
            env.sessionmaker,
            deployment_id,
            [
                *log_lines(f"setting password {secret}", f"DB_PASSWORD={secret}"),
                EventSpec("result", status="succeeded", data={"admin_password": secret, "url": "http://x/"}),
            ],
            final_status="succeeded",
        )
    async with sse(env.http, env.events_url(deployment_id), token=env.admin_token) as reader:
        frames = [e async for e in reader.events()]
        raw = "\n".join(reader.raw)
    assert len(frames) == 3 and secret not in raw
    history = await env.http.get(
        env.events_url(deployment_id) + "/history", headers={"Authorization": f"Bearer {env.admin_token}"}
    )
    assert history.status_code == 200 and secret not in history.text
    assert history.json()["items"][2]["data"] == {"admin_password": "********", "url": "http://x/"}


async def test_history_pages_in_the_same_shape(env: Env) -> None:
    deployment_id = await env.new_deployment()
    await emit_batch(env.sessionmaker, deployment_id, log_lines(*(str(i) for i in range(5))))
    auth = {"Authorization": f"Bearer {env.admin_token}"}
    url = env.events_url(deployment_id) + "/history"
    page = (await env.http.get(url, params={"limit": 2}, headers=auth)).json()
    assert [e["seq"] for e in page["items"]] == [1, 2]
    assert page["next_after_seq"] == 2 and page["last_seq"] == 5 and page["finished"] is False
    page = (await env.http.get(url, params={"after_seq": 2, "limit": 10}, headers=auth)).json()
    assert [e["message"] for e in page["items"]] == ["2", "3", "4"] and page["finished"] is False
    await emit_batch(env.sessionmaker, deployment_id, [RESULT_OK], final_status="succeeded")
    page = (await env.http.get(url, params={"after_seq": 5}, headers=auth)).json()
    assert [e["type"] for e in page["items"]] == ["result"] and page["finished"] is True
    async with sse(env.http, env.events_url(deployment_id), token=env.admin_token, last_event_id=5) as reader:
        (frame,) = [e.json async for e in reader.events()]
    assert frame == page["items"][0]  # the SSE data and the history item are the same object
    for bad in ({"limit": 0}, {"limit": 1001}, {"after_seq": -1}):
        assert (await env.http.get(url, params=bad, headers=auth)).status_code == 422
