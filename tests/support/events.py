"""The event log's HTTP adapter on a real socket, alone: a log the test publishes to, served by
the same ``emulator.events.http`` component the emulator mounts. For what only the endpoint
decides (query checks, long polls, overflow) without starting the whole emulator."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

from aiohttp import web

from emulator.clock import Clock, SystemClock
from emulator.events import Event, EventLog
from emulator.events import http as events_http
from lab.config import LabConfig
from tests.support.ports import free_port


class LogServer:
    def __init__(self, capacity: int = 1000, clock: Clock | None = None) -> None:
        self.log = EventLog(clock or SystemClock(), capacity)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self, state_dir: Path) -> LabConfig:
        """A lab configuration whose emulator endpoint is this server."""
        return LabConfig(host="127.0.0.1", port=self.port, state_dir=state_dir)

    def start(self) -> LogServer:
        self._thread.start()

        async def up() -> None:
            app = web.Application()

            async def release_long_polls(_app: web.Application) -> None:
                self.log.close()

            app.on_shutdown.append(release_long_polls)
            for path, handler in events_http.component(self.log).control_routes.items():
                app.router.add_route("*", path, handler)
            self._runner = web.AppRunner(app)
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

        asyncio.run_coroutine_threadsafe(up(), self.loop).result(10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def long_polled(self) -> bool:
        """Whether a reader sleeps in a long poll (or did since the last publish: the log keeps
        one future for every sleeping reader, resolved by the next publish)."""

        async def check() -> bool:
            waiter = self.log._wakeup
            return waiter is not None and not waiter.done()

        return asyncio.run_coroutine_threadsafe(check(), self.loop).result(10)

    def publish(self, *events: Event) -> None:
        """Publish on the server's loop, as the emulator's services do."""

        async def publish_all() -> None:
            for event in events:
                self.log.publish(event)

        asyncio.run_coroutine_threadsafe(publish_all(), self.loop).result(10)

    def get(self, query: str = "", method: str = "GET") -> tuple[int, dict]:
        request = urllib.request.Request(f"{self.endpoint}/_lab/events?{query}", method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())
