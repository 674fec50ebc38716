"""Small asyncio helpers shared by the integrations and the domains."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class PerLoop(Generic[K, V]):
    """Objects shared by everything in one process on one event loop, one per key (a semaphore per node …).

    asyncio primitives bind to the loop that first waits on them; keyed by the running loop, a test suite's many
    loops each get their own, and a closed loop's entries go with it."""

    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[K, V]] = weakref.WeakKeyDictionary()

    def values(self) -> list[V]:
        """Every object held, on every loop still alive (e.g. to close them all)."""
        return [value for per_loop in list(self._by_loop.values()) for value in per_loop.values()]

    def get(self, key: K, factory: Callable[[], V]) -> V:
        per_loop = self._by_loop.setdefault(asyncio.get_running_loop(), {})
        value = per_loop.get(key)
        if value is None:
            value = per_loop[key] = factory()
        return value
