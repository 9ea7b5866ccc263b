"""One stream of what happens in the emulator (sends, receives, deletes, visibility expiries,
later load-balancer requests and health changes), kept in a bounded ring so the TUI, notebooks
and checkers can read it through ``GET /_lab/events?after=N`` without touching internals.

An event is a flat JSON object with at least ``type`` (``service.what``, e.g. ``sqs.receive``)
and ``at`` (epoch seconds); the bus adds ``id``, increasing from 1."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from aiohttp import web

from emulator.waiting import sleep_or_wake

Event = dict[str, Any]


class EventBus:
    def __init__(self, capacity: int = 100_000) -> None:
        self.ring: deque[Event] = deque(maxlen=capacity)
        self.last_id = 0
        self._changed = asyncio.Event()

    def publish(self, event: Event) -> None:
        self.last_id += 1
        self.ring.append({"id": self.last_id, **event})
        self._changed.set()

    def after(self, event_id: int, limit: int = 1000, prefix: str = "") -> list[Event]:
        first = self.ring[0]["id"] if self.ring else self.last_id + 1
        start = max(0, event_id + 1 - first)
        out = []
        for index in range(start, len(self.ring)):
            event = self.ring[index]
            if event["type"].startswith(prefix):
                out.append(event)
                if len(out) >= limit:
                    break
        return out

    async def wait(self, timeout: float) -> None:
        self._changed.clear()
        await sleep_or_wake(self._changed, timeout)

    async def handle(self, request: web.Request) -> web.Response:
        """``after`` (id), ``limit`` (≤ 10000), ``type`` (prefix), ``wait`` (seconds ≤ 20)."""
        try:
            after = int(request.query.get("after", "0"))
            limit = min(int(request.query.get("limit", "1000")), 10_000)
            wait = min(float(request.query.get("wait", "0")), 20.0)
        except ValueError:
            return web.json_response({"error": "after, limit and wait must be numbers"}, status=400)
        prefix = request.query.get("type", "")
        events = self.after(after, limit, prefix)
        if not events and wait > 0:
            await self.wait(wait)
            events = self.after(after, limit, prefix)
        return web.json_response({"last_id": self.last_id, "events": events})
