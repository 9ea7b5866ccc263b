"""Background loops in the emulator sleep until their next round or until someone pokes them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable


async def sleep_or_wake(event: asyncio.Event, seconds: float) -> None:
    """Sleep until ``event`` is set or ``seconds`` pass, then clear it. Not ``wait_for``: on
    Python 3.11 it can swallow a cancellation that coincides with the event."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=seconds)
    finally:
        waiter.cancel()
    event.clear()


async def sync_forever(
    sync: Callable[[], Awaitable[None]],
    wake: asyncio.Event,
    interval: float,
    stopping: Callable[[], bool],
    log: logging.Logger,
    what: str,
) -> None:
    """Run ``sync`` every ``interval`` seconds, or sooner when ``wake`` is set, until
    ``stopping()``: how the emulator keeps what it runs in step with moto's records. A failed
    round is logged and the next one tries again."""
    while not stopping():
        try:
            await sync()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s sync failed; retrying", what)
        await sleep_or_wake(wake, interval)
