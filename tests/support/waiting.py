"""Waiting for a condition instead of sleeping and hoping: poll a predicate until it holds,
fail with an ``AssertionError`` after a timeout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.1) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
        time.sleep(interval)


async def wait_until_async(
    predicate: Callable[[], Any], timeout: float, interval: float = 0.05, *, blocking: bool = False
) -> Any:
    """``wait_until`` on an event loop, which keeps running while it waits. ``blocking``: the
    predicate blocks (an HTTP call, say), so it runs on a thread, not on the loop."""
    deadline = time.monotonic() + timeout
    while True:
        value = await asyncio.to_thread(predicate) if blocking else predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
        await asyncio.sleep(interval)
