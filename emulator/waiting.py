"""Background loops in the emulator sleep until their next round or until someone pokes them."""

from __future__ import annotations

import asyncio


async def sleep_or_wake(event: asyncio.Event, seconds: float) -> None:
    """Sleep until ``event`` is set or ``seconds`` pass, then clear it. Not ``wait_for``: on
    Python 3.11 it can swallow a cancellation that coincides with the event."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=seconds)
    finally:
        waiter.cancel()
    event.clear()
