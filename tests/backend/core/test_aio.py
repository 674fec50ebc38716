"""PerLoop: one object per key and event loop, made once."""

from __future__ import annotations

import asyncio

from lxc_manager.core.aio import PerLoop


def test_one_object_per_key_per_loop() -> None:
    registry: PerLoop[str, asyncio.Lock] = PerLoop()
    made: list[asyncio.Lock] = []

    def factory() -> asyncio.Lock:
        made.append(asyncio.Lock())
        return made[-1]

    async def take() -> tuple[asyncio.Lock, asyncio.Lock, asyncio.Lock]:
        return registry.get("a", factory), registry.get("a", factory), registry.get("b", factory)

    first_a, again_a, first_b = asyncio.run(take())
    assert first_a is again_a and first_a is not first_b and len(made) == 2
    other_loop_a, _, _ = asyncio.run(take())  # a new loop: its own objects
    assert other_loop_a is not first_a and len(made) == 4
