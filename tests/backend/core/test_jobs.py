"""Jobs run through real arq + Redis with the JSON serializer, and in-process without Redis."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from lxc_manager.core.jobs import JOB_REGISTRY, ArqJobQueue, InProcessJobQueue, job, json_deserializer, json_serializer

RESULTS: list[Any] = []


@job
async def _record_for_test(ctx: dict[str, Any], value: str) -> str:
    RESULTS.append((value, ctx.get("job_try")))
    return value


async def test_in_process_queue_runs_registered_job() -> None:
    RESULTS.clear()
    queue = InProcessJobQueue()
    assert await queue.enqueue("_record_for_test", "a", job_id="j1")
    await queue.drain()
    assert RESULTS == [("a", 1)]
    with pytest.raises(LookupError):
        await queue.enqueue("no_such_job")


@pytest.mark.redis
async def test_arq_queue_with_real_worker(redis_url: str) -> None:
    from arq import create_pool
    from arq.connections import RedisSettings
    from arq.worker import Worker

    RESULTS.clear()
    queue_name = f"lxcm-test-{uuid.uuid4().hex}"
    settings = RedisSettings.from_dsn(redis_url)
    pool = await create_pool(
        settings, job_serializer=json_serializer, job_deserializer=json_deserializer, default_queue_name=queue_name
    )
    queue = ArqJobQueue(pool)
    job_id = uuid.uuid4().hex
    assert await queue.enqueue("_record_for_test", "b", job_id=job_id)
    assert not await queue.enqueue("_record_for_test", "b", job_id=job_id)  # de-duplicated by _job_id
    raw = await pool.get(f"arq:job:{job_id}")
    assert raw is not None and raw.startswith(b"{")  # JSON, not pickle
    worker = Worker(
        functions=[JOB_REGISTRY["_record_for_test"]],
        redis_pool=pool,
        burst=True,
        poll_delay=0,
        queue_name=queue_name,
        job_serializer=json_serializer,
        job_deserializer=json_deserializer,
    )
    await worker.main()
    await worker.close()
    assert RESULTS == [("b", 1)]
    await queue.close()
