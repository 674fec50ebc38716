"""SSE fan-out benchmark: one deployment watched by N clients on one API process.

    .venv/bin/python bench/bench_sse_fanout.py [--clients 1000] [--events 200] [--rate 20] [--batch 1] [--redis URL]

The API runs in its own process (uvicorn, one worker, 127.0.0.1) on a fresh migrated SQLite database. Events
are emitted inside that process at a steady rate, ``--batch`` lines per unit of work, as in-process jobs do (with
``--redis`` they travel through Redis Streams and back). The clients are raw HTTP/1.1 SSE readers in this
process. Reported: delivery latency (emit call → client read, both on this host's clock) p50/p99/max, whether
every client got every event exactly once and in order, and the API process RSS before/with/after the clients.
Goal: p99 < 250 ms for 1,000 clients. Every phase has a time bound.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

SECRET_KEY = base64.b64encode(b"s" * 32).decode()
CONNECT_BATCH = 100


def _raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _settings(workdir: Path, redis_url: str | None) -> Any:
    from lxc_manager.core.config import Environment, Settings

    return Settings(
        environment=Environment.test,
        data_dir=workdir,
        database_url=f"sqlite+aiosqlite:///{workdir / 'bench.db'}",
        redis_url=redis_url,
        secret_key=SECRET_KEY,  # type: ignore[arg-type]
        templates_sync_on_startup=False,
        log_level="WARNING",
        frontend_dir=workdir / "no-spa",  # the SPA's catch-all route would shadow the bench routes added below
    )


# ------------------------------------------------------------------------------------------------ server side


def serve(workdir: Path, port: int, redis_url: str | None, gc_freeze: bool, python_gc_defaults: bool) -> None:
    """The API process, plus two bench-only routes: emit events, report RSS and the stream gauges."""
    import uvicorn
    from fastapi import FastAPI

    from lxc_manager.core.db import unit_of_work
    from lxc_manager.core.runtime import tune_gc_for_server
    from lxc_manager.events.publisher import EventSpec, emit_many
    from lxc_manager.events.service import OPEN_STREAMS
    from lxc_manager.main import create_app
    from lxc_manager.models import Deployment

    _raise_fd_limit()
    app: FastAPI = create_app(_settings(workdir, redis_url))
    gc_pauses: list[tuple[int, float]] = []  # (generation, seconds) of each collection in this process
    gc_started = [0.0]

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            gc_pauses.append((info["generation"], time.perf_counter() - gc_started[0]))

    gc.callbacks.append(on_gc)
    if not python_gc_defaults:  # as `lxc-manager serve` runs
        tune_gc_for_server()
    if gc_freeze:  # what a server could do once started: keep start-up objects out of every collection
        app.router.on_startup.append(gc.freeze)

    async def bench_emit(deployment_id: str, count: int, rate: float, batch: int) -> dict[str, Any]:
        """``count`` log lines in commits of ``batch`` lines, ``rate`` commits per second, then the result."""
        state = app.state.lxcm
        started = time.monotonic()
        emitted = commits = 0
        while emitted <= count:
            async with unit_of_work(state.sessionmaker) as db:
                deployment = await db.get(Deployment, deployment_id)
                assert deployment is not None
                now = time.time()
                lines = min(batch, count - emitted)
                specs = [
                    EventSpec("log", phase="provision", status="stdout", message=f"line {emitted + i} " + "x" * 80)
                    for i in range(lines)
                ]
                if emitted + lines == count:
                    deployment.status = "succeeded"
                    specs.append(EventSpec("result", phase="finalize", status="succeeded", message="done"))
                specs = [EventSpec(s.type, s.phase, s.status, s.message, {"t": now}) for s in specs]
                await emit_many(db, deployment, specs)
                emitted += len(specs)
            commits += 1
            delay = started + commits / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        return {"emitted": emitted, "commits": commits, "seconds": time.monotonic() - started}

    def bench_stats() -> dict[str, Any]:  # sync: FastAPI runs it in a thread (file read)
        rss_kb = 0
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
        events = app.state.lxcm.events
        full = [seconds for generation, seconds in gc_pauses if generation == 2]
        return {
            "rss_kb": rss_kb,
            "open_streams": OPEN_STREAMS.value,
            "subscribers": events.subscriber_count(),
            "gc_full": len(full),
            "gc_full_max_s": max(full, default=0.0),
            "gc_max_s": max((seconds for _, seconds in gc_pauses), default=0.0),
            "gc_objects": len(gc.get_objects()),
        }

    app.add_api_route("/bench/emit", bench_emit, methods=["POST"], operation_id="bench_emit")
    app.add_api_route("/bench/stats", bench_stats, methods=["GET"], operation_id="bench_stats")
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, log_level="warning", backlog=4096)


# ------------------------------------------------------------------------------------------------ client side


async def setup_database(workdir: Path) -> tuple[str, str]:
    """Migrate, then an admin with an API token and a running deployment; returns (token, deployment id)."""
    from lxc_manager.core.db import create_engine, create_sessionmaker, unit_of_work
    from lxc_manager.core.migrate import upgrade_to_head
    from lxc_manager.core.models import utcnow
    from lxc_manager.models import APIToken, Deployment, Role, Template, TemplateRevision, User
    from lxc_manager.tokens import format as token_format

    url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    await asyncio.to_thread(upgrade_to_head, url)
    engine = create_engine(url)
    plaintext, parts = token_format.generate()
    async with unit_of_work(create_sessionmaker(engine)) as db:
        user = User(username="bench", role=Role.admin.value, password_hash=None)
        template = Template(name="bench")
        db.add_all([user, template])
        await db.flush()
        db.add(
            APIToken(
                user_id=user.id,
                name="bench",
                lookup=parts.lookup,
                secret_hash=token_format.hash_secret(parts.secret),
                scopes="read",
            )
        )
        revision = TemplateRevision(template_id=template.id, number=1, content_hash="0" * 64, manifest={}, files={})
        db.add(revision)
        await db.flush()
        deployment = Deployment(
            node_id=None,
            node_name="bench",
            template_id=template.id,
            template_revision_id=revision.id,
            template_name="bench",
            template_revision=1,
            template_hash="0" * 64,
            status="running",
            # Leased to the bench (it plays the pipeline), so the app's reconciler leaves it alone.
            lease_owner="bench",
            lease_expires_at=utcnow() + timedelta(hours=1),
            heartbeat_at=utcnow(),
        )
        db.add(deployment)
        await db.flush()
        deployment_id = deployment.id
    await engine.dispose()
    return plaintext, deployment_id


@dataclass
class Client:
    seqs: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    error: str | None = None


async def sse_client(port: int, path: str, token: str, client: Client) -> None:
    """A bare HTTP/1.1 SSE reader: one event per chunk, we only need the ``data:`` lines."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as exc:
        client.error = f"connect: {exc}"
        client.connected.set()
        return
    try:
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
            "Accept: text/event-stream\r\n\r\n"
        )
        writer.write(request.encode())
        await writer.drain()
        status = await reader.readline()
        if b" 200 " not in status:
            client.error = status.decode(errors="replace").strip()
            return
        while (await reader.readline()) not in (b"\r\n", b""):
            pass  # headers
        client.connected.set()
        # Read whatever has arrived and pick the data lines out of it: the clients share one process, so
        # their own cost must stay small next to the server's (chunk-size lines are simply ignored).
        pending = b""
        while chunk := await reader.read(65536):
            now = time.time()
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            for line in lines:
                if line.startswith(b"data: "):
                    event = json.loads(line[6:])
                    client.seqs.append(event["seq"])
                    client.latencies.append(now - event["data"]["t"])
                    if event["type"] == "result":
                        return  # the server ends the stream here (the connection itself may stay alive)
    except (OSError, ValueError) as exc:
        client.error = str(exc)
    finally:
        client.connected.set()
        writer.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def run(args: argparse.Namespace, workdir: Path) -> int:
    token, deployment_id = await setup_database(workdir)
    port = args.port
    cmd = [sys.executable, __file__, "--serve", "--workdir", str(workdir), "--port", str(port)]
    if args.redis:
        cmd += ["--redis", args.redis]
    if args.gc_freeze:
        cmd.append("--gc-freeze")
    if args.python_gc_defaults:
        cmd.append("--python-gc-defaults")
    server = await asyncio.create_subprocess_exec(*cmd, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            for _ in range(300):
                try:
                    if (await http.get("/healthz")).status_code < 500:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise SystemExit("the API did not start")
            idle = (await http.get("/bench/stats")).json()
            rss_idle = idle["rss_kb"]

            path = f"/api/v1/deployments/{deployment_id}/events"
            clients = [Client() for _ in range(args.clients)]
            tasks: list[asyncio.Task[None]] = []
            connect_started = time.monotonic()
            for start in range(0, args.clients, CONNECT_BATCH):
                batch = clients[start : start + CONNECT_BATCH]
                tasks += [asyncio.create_task(sse_client(port, path, token, c)) for c in batch]
                await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in batch)), 120)
            errors = [c.error for c in clients if c.error]
            if errors:
                raise SystemExit(f"{len(errors)} clients failed to connect, e.g. {errors[0]}")
            for _ in range(600):  # every stream subscribed
                stats = (await http.get("/bench/stats")).json()
                if stats["open_streams"] >= args.clients:
                    break
                await asyncio.sleep(0.1)
            connect_s = time.monotonic() - connect_started
            rss_connected = stats["rss_kb"]

            emit = await http.post(
                "/bench/emit",
                params={"deployment_id": deployment_id, "count": args.events, "rate": args.rate, "batch": args.batch},
                timeout=args.events / args.batch / args.rate + 120,
            )
            emitted = emit.json()
            await asyncio.wait_for(asyncio.gather(*tasks), 60)  # every stream ends after the result event
            stats_after = (await http.get("/bench/stats")).json()
            for _ in range(100):
                if stats_after["open_streams"] == 0:
                    break
                await asyncio.sleep(0.1)
                stats_after = (await http.get("/bench/stats")).json()
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 30)

    expected = list(range(1, args.events + 2))
    exact = sum(1 for c in clients if c.seqs == expected)
    latencies = [x for c in clients for x in c.latencies]
    broker = "redis streams" if args.redis else "in-process"
    print(f"SSE fan-out — {args.clients} clients, 1 deployment, broker {broker}, one uvicorn process")
    print(f"  connect {args.clients} streams            {connect_s:8.1f} s")
    print(
        f"  events emitted                   {emitted['emitted']:8d} in {emitted['commits']} commits of "
        f"{args.batch}, {emitted['seconds']:.1f} s (goal {args.events / args.batch / args.rate:.1f} s)"
    )
    print(f"  deliveries                       {len(latencies):8d}")
    print(f"  clients with every event exactly once, in order  {exact}/{args.clients}")
    print(f"  delivery latency p50             {pct(latencies, 0.50) * 1000:8.1f} ms")
    print(f"  delivery latency p99             {pct(latencies, 0.99) * 1000:8.1f} ms   (goal < 250 ms)")
    print(f"  delivery latency max             {max(latencies) * 1000:8.1f} ms")
    print(f"  mean latency                     {statistics.fmean(latencies) * 1000:8.1f} ms")
    print(f"  API RSS idle                     {rss_idle / 1024:8.1f} MiB")
    print(f"  API RSS with {args.clients} streams       {rss_connected / 1024:8.1f} MiB")
    per_stream = (stats["gc_objects"] - idle["gc_objects"]) / args.clients
    print(f"  GC-tracked objects per stream    {per_stream:8.0f}")
    print(f"  API RSS after the streams ended  {stats_after['rss_kb'] / 1024:8.1f} MiB")
    print(f"  open streams / subscribers after {stats_after['open_streams']:8d} / {stats_after['subscribers']}")
    full_max_ms, any_max_ms = stats_after["gc_full_max_s"] * 1000, stats_after["gc_max_s"] * 1000
    print(f"  API full GC runs                 {stats_after['gc_full']:8d}, longest {full_max_ms:.0f} ms")
    notes = ["gc.freeze() at start-up"] if args.gc_freeze else []
    notes.append("CPython's default GC thresholds" if args.python_gc_defaults else "serve's GC thresholds")
    print(f"  API longest GC pause (any gen)   {any_max_ms:8.0f} ms  ({', '.join(notes)})")
    ok = exact == args.clients and stats_after["open_streams"] == 0 and stats_after["subscribers"] == 0
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="commits per second")
    parser.add_argument("--batch", type=int, default=1, help="log lines per commit (emit_many)")
    parser.add_argument("--redis", default=None, help="Redis URL: use the Redis Streams broker")
    parser.add_argument("--gc-freeze", action="store_true", help="gc.freeze() in the API process after start-up")
    parser.add_argument(
        "--python-gc-defaults",
        action="store_true",
        help="keep CPython's GC thresholds in the API process (compare with the tuned ones serve uses)",
    )
    parser.add_argument("--port", type=int, default=18765)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.workdir, args.port, args.redis, args.gc_freeze, args.python_gc_defaults)
        return
    _raise_fd_limit()
    try:  # the same event loop as uvicorn's default when installed: keeps the clients' own overhead low
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    with tempfile.TemporaryDirectory(prefix="bench-sse-") as tmp:
        sys.exit(asyncio.run(run(args, Path(tmp))))


if __name__ == "__main__":
    main()
