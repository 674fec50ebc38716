"""PerLoop: one object per key and event loop, made once."""

from __future__ import annotations

import asyncio
import gc

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


def test_values_lists_the_objects_of_every_live_loop() -> None:
    registry: PerLoop[str, object] = PerLoop()

    async def fill() -> list[object]:
        a, b = registry.get("a", object), registry.get("b", object)
        assert registry.values() == [a, b]
        return [a, b]

    asyncio.run(fill())
    gc.collect()  # the finished loop is gone, and its objects with it
    assert registry.values() == []
