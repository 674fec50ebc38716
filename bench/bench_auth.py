"""Authentication benchmark: login timing for known / unknown / password-less users (enumeration
oracle), argon2 cost, and the per-request cost of resolving a session cookie or an API token.

    .venv/bin/python bench/bench_auth.py [--rounds 30]

Runs the real app in-process (ASGI) on a fresh migrated SQLite database. Rounds interleave the three
failed-login kinds so machine load affects them alike; throttling is disabled for the run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from lxc_manager.auth.passwords import hash_password
from lxc_manager.core.config import Environment, Settings
from lxc_manager.core.db import unit_of_work
from lxc_manager.core.migrate import upgrade_to_head
from lxc_manager.main import create_app
from lxc_manager.models import APIToken, Role, User
from lxc_manager.tokens import format as token_format

PASSWORD = "benchmark password 1"


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"median {statistics.median(values) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms"


async def run(rounds: int, workdir: Path) -> None:
    url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    settings = Settings(
        environment=Environment.test,
        data_dir=workdir,
        database_url=url,
        secret_key=base64.b64encode(b"b" * 32).decode(),  # type: ignore[arg-type]
        login_max_failures=10**9,  # measure the password path, not the throttle
        log_level="WARNING",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        plaintext, parts = token_format.generate()
        async with unit_of_work(app.state.lxcm.sessionmaker) as db:
            user = User(username="known", password_hash=hash_password(PASSWORD), role=Role.admin.value)
            db.add(user)
            db.add(User(username="sso-only", password_hash=None, role=Role.viewer.value))
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
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            kinds = {"known user, wrong password": "known", "unknown user": "nobody", "SSO-only user": "sso-only"}
            timings: dict[str, list[float]] = {label: [] for label in kinds}
            for _ in range(rounds):
                for label, username in kinds.items():
                    started = time.perf_counter()
                    response = await http.post(
                        "/api/v1/auth/login", json={"username": username, "password": "wrong pw"}
                    )
                    timings[label].append(time.perf_counter() - started)
                    assert response.status_code == 401, response.text
            started = time.perf_counter()
            response = await http.post("/api/v1/auth/login", json={"username": "known", "password": PASSWORD})
            login_ok = time.perf_counter() - started
            assert response.status_code == 200

            session_calls, token_calls = [], []
            for _ in range(rounds * 5):
                started = time.perf_counter()
                assert (await http.get("/api/v1/auth/me")).status_code == 200
                session_calls.append(time.perf_counter() - started)
                started = time.perf_counter()
                me = await http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {plaintext}"})
                assert me.status_code == 200
                token_calls.append(time.perf_counter() - started)

    hash_times = []
    for _ in range(5):
        started = time.perf_counter()
        hash_password(PASSWORD)
        hash_times.append(time.perf_counter() - started)

    out = sys.stdout
    out.write(f"failed logins, {rounds} rounds each (interleaved)\n")
    for label, values in timings.items():
        out.write(f"  {label:28s} {ms(values)}\n")
    medians = [statistics.median(v) for v in timings.values()]
    out.write(f"  spread of medians: {(max(medians) - min(medians)) * 1000:.1f} ms\n")
    out.write(f"successful login: {login_ok * 1000:.1f} ms\n")
    out.write(f"argon2id hash (m=19 MiB, t=2, p=1): {ms(hash_times)}\n")
    out.write(f"GET /auth/me via session cookie: {ms(session_calls)}\n")
    out.write(f"GET /auth/me via API token:      {ms(token_calls)}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    workdir = Path(tempfile.mkdtemp(prefix="lxcm-bench-auth-"))
    upgrade_to_head(f"sqlite+aiosqlite:///{workdir / 'bench.db'}")  # runs its own event loop
    asyncio.run(run(args.rounds, workdir))


if __name__ == "__main__":
    main()
