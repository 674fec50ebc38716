"""Kill -9 of a real arq worker (``lxc-manager worker`` subprocess, real Redis) in the middle of provisioning: a
second worker's start-up reconciler resumes the deployment, which finishes with exactly one container."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pipekit import Sim, eventually

from lxc_manager.core.jobs import ArqJobQueue, json_deserializer, json_serializer

pytestmark = [pytest.mark.redis, pytest.mark.slow]

WORKER_DB = 12  # a Redis database of its own: no other test's worker may take these jobs


def _worker_env(sim: Sim, redis_url: str) -> dict[str, str]:
    settings = sim.settings
    assert settings.secret_key is not None
    return {
        **os.environ,
        "LXCM_ENVIRONMENT": "test",
        "LXCM_DATABASE_URL": settings.effective_database_url,
        "LXCM_REDIS_URL": redis_url,
        "LXCM_DATA_DIR": str(settings.data_dir),
        "LXCM_SECRET_KEY": settings.secret_key.get_secret_value(),
        "LXCM_LOG_JSON": "true",
        "LXCM_DEPLOY_LEASE_TTL_S": "3",
        "LXCM_DEPLOY_HEARTBEAT_INTERVAL_S": "0.5",
        "LXCM_DEPLOY_STALE_AFTER_S": "3",
        "LXCM_DEPLOY_TASK_POLL_S": "0.05",
        "LXCM_DEPLOY_IP_POLL_S": "0.05",
        "LXCM_DEPLOY_VERIFY_INTERVAL_S": "0.1",
        "LXCM_DEPLOY_LOG_FLUSH_INTERVAL_S": "0.05",
    }


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    cli = Path(sys.executable).with_name("lxc-manager")
    handle = log.open("wb")
    return subprocess.Popen([str(cli), "worker"], env=env, stdout=handle, stderr=subprocess.STDOUT)


async def test_kill_9_mid_provisioning_resumes_with_one_container(sim: Sim, redis_url: str, tmp_path: Path) -> None:
    from arq import create_pool
    from arq.connections import RedisSettings

    url = redis_url.rsplit("/", 1)[0] + f"/{WORKER_DB}"
    pool = await create_pool(
        RedisSettings.from_dsn(url), job_serializer=json_serializer, job_deserializer=json_deserializer
    )
    await pool.flushdb()
    env = _worker_env(sim, url)
    deployment_id = await sim.create_deployment(inputs={"pause": 4})
    first = _start_worker(env, tmp_path / "worker1.log")
    second: subprocess.Popen[bytes] | None = None
    try:
        assert await ArqJobQueue(pool).enqueue("run_deployment", deployment_id, job_id=f"deployment:{deployment_id}")

        async def provisioning() -> bool:
            return any(e.message.startswith("pausing") for e in await sim.events(deployment_id))

        await eventually(provisioning, timeout=120)
        first.send_signal(signal.SIGKILL)
        await asyncio.to_thread(first.wait, 10)
        killed = await sim.deployment(deployment_id)
        assert killed.status == "running" and killed.phases["provision"]["status"] == "running"

        async def lease_expired() -> bool:
            row = await sim.deployment(deployment_id)
            return row.lease_expires_at is not None and row.lease_expires_at < datetime.now(UTC)

        await eventually(lease_expired, timeout=30)
        await asyncio.sleep(3.5)  # and its heartbeat is stale (LXCM_DEPLOY_STALE_AFTER_S)
        second = _start_worker(env, tmp_path / "worker2.log")

        async def finished() -> bool:
            return (await sim.deployment(deployment_id)).status in {"succeeded", "failed", "cancelled"}

        await eventually(finished, timeout=180, interval=0.5)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                await asyncio.to_thread(process.wait, 30)
        await pool.flushdb()
        await pool.aclose()
    deployment = await sim.deployment(deployment_id)
    log = (tmp_path / "worker2.log").read_text()[-3000:]
    assert deployment.status == "succeeded", (deployment.error_code, deployment.error_message, log)
    assert deployment.phases["provision"]["attempts"] == 2
    assert deployment.phases["create"]["attempts"] == 1
    assert list(await sim.guests()) == [deployment.vmid]
    (container,) = await sim.containers()
    assert container.vmid == deployment.vmid
    messages = [e.message for e in await sim.events(deployment_id)]
    assert any("rolling back to snapshot" in m for m in messages)
    events = await sim.events(deployment_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


async def test_transient_failure_under_arq_is_retried_by_the_worker(sim: Sim, redis_url: str, tmp_path: Path) -> None:
    from arq import create_pool
    from arq.connections import RedisSettings

    url = redis_url.rsplit("/", 1)[0] + f"/{WORKER_DB}"
    pool = await create_pool(
        RedisSettings.from_dsn(url), job_serializer=json_serializer, job_deserializer=json_deserializer
    )
    await pool.flushdb()
    await sim.fault(kind="error", endpoint="POST /nodes/{node}/lxc/{vmid}/status/start", status=503,
                    message="Service Unavailable", count=1)  # fmt: skip
    deployment_id = await sim.create_deployment()
    env = {**_worker_env(sim, url), "LXCM_DEPLOY_RETRY_BACKOFF_S": "0.5"}
    worker = _start_worker(env, tmp_path / "worker.log")
    try:
        assert await ArqJobQueue(pool).enqueue("run_deployment", deployment_id, job_id=f"deployment:{deployment_id}")

        async def finished() -> bool:
            return (await sim.deployment(deployment_id)).status in {"succeeded", "failed", "cancelled"}

        await eventually(finished, timeout=120, interval=0.3)
    finally:
        worker.terminate()
        await asyncio.to_thread(worker.wait, 30)
        await pool.flushdb()
        await pool.aclose()
    deployment = await sim.deployment(deployment_id)
    assert deployment.status == "succeeded", (tmp_path / "worker.log").read_text()[-3000:]
    assert deployment.phases["start"]["attempts"] == 2
    assert deployment.attempts == 2  # the job ran twice: arq Retry(defer=…) re-queued it
    assert len(await sim.guests()) == 1
