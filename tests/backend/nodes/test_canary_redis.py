"""With Redis configured, node secrets never reach Redis: no key, value, stream entry or job payload holds them."""

from __future__ import annotations

import asyncssh
import httpx
import pytest
import redis.asyncio as aioredis
from node_fakes import CANARY_TOKEN_SECRET, FakePVE, node_payload

from lxc_manager.core.config import Settings

pytestmark = pytest.mark.redis


@pytest.fixture
def settings(settings: Settings, redis_url: str) -> Settings:
    return settings.model_copy(update={"redis_url": redis_url})


async def _redis_dump(url: str) -> bytes:
    client = aioredis.from_url(url)
    chunks: list[bytes] = []
    try:
        async for key in client.scan_iter(count=500):
            chunks.append(key)
            kind = (await client.type(key)).decode()
            if kind == "string":
                chunks.append(await client.get(key) or b"")
            elif kind == "list":
                chunks.extend(await client.lrange(key, 0, -1))
            elif kind == "hash":
                for field, value in (await client.hgetall(key)).items():
                    chunks += [field, value]
            elif kind == "set":
                chunks.extend(await client.smembers(key))
            elif kind == "zset":
                chunks.extend(member for member, _ in await client.zrange(key, 0, -1, withscores=True))
            elif kind == "stream":
                for _, fields in await client.xrange(key):
                    for field, value in fields.items():
                        chunks += [field, value]
    finally:
        await client.aclose()
    return b"\n".join(chunks)


async def test_node_secrets_never_reach_redis(
    settings: Settings, admin_client: httpx.AsyncClient, fake_pve: FakePVE
) -> None:
    assert settings.redis_url
    private_key = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    key_lines = [line for line in private_key.splitlines() if not line.startswith("-----")]
    body = node_payload(fake_pve, ssh_host="127.0.0.1", ssh_private_key=private_key)
    created = await admin_client.post("/api/v1/nodes", json=body)
    assert created.status_code == 201, created.text
    node_id = created.json()["id"]
    assert (await admin_client.post(f"/api/v1/nodes/{node_id}/test")).status_code == 200
    assert (await admin_client.patch(f"/api/v1/nodes/{node_id}", json={"ssh_port": 2222})).status_code == 200
    assert (await admin_client.get("/readyz")).json()["checks"]["redis"] == "ok"  # the app really uses Redis

    dump = await _redis_dump(settings.redis_url)
    for canary in [CANARY_TOKEN_SECRET, *key_lines]:
        assert canary.encode() not in dump
