"""What the trace tests share: a URL2PNG cloud of the test's own on a real emulator, workers
that report to its event stream, and readers of that stream.

Chromium is the only stand-in: ``FakeRenderer`` (``tests/support/fake_renderer.py``:
``/slow/SECONDS`` takes that long, ``/fail`` does not load, anything else renders at once)."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from aiohttp import web

from lab import events as stream
from lab.worker.loop import Worker, WorkerSettings
from lab.worker.reporting import Reporter
from tests.support.fake_renderer import FakeRenderer
from tests.support.ports import free_port
from tests.support.url2png import Url2PngCloud
from tests.support.waiting import wait_until_async


class Cloud(Url2PngCloud):
    """One test's own queue, dead-letter queue and bucket on an emulator, and its producer;
    what it sees of the event stream starts when it is made."""

    def __init__(self, emulator: Any, tmp_path: Path, max_receive: int = 3) -> None:
        super().__init__(emulator, tmp_path, max_receive)
        self.start = self.last_id()  # events before this test are not its business

    def env(self) -> dict[str, str]:
        """What ``lab`` reads to find this cloud."""
        return {
            "LAB_PORT": str(self.emulator.port),
            "LAB_STATE_DIR": str(self.config.state_dir),
            "LAB_URL2PNG_QUEUE": self.config.url2png_queue,
            "LAB_URL2PNG_DLQ": self.config.url2png_dlq,
            "LAB_URL2PNG_BUCKET": self.config.url2png_bucket,
        }

    def settings(self, **options: Any) -> WorkerSettings:
        options.setdefault("wait_time", 1)
        options.setdefault("gallery", False)
        return super().settings(**options)

    def worker(
        self, renderer: FakeRenderer, reporter: Reporter | None = None, **options: Any
    ) -> Worker:
        """A worker reporting to this emulator's stream (or to ``reporter``)."""
        settings = self.settings(**options)
        reporter = reporter or Reporter(self.emulator.endpoint, settings.name, linger=0.02)
        return Worker(self.sqs, self.s3, renderer, settings, reporter=reporter)

    def counts(self) -> tuple[int, int]:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.resources.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return (
            int(attrs["ApproximateNumberOfMessages"]),
            int(attrs["ApproximateNumberOfMessagesNotVisible"]),
        )

    def last_id(self) -> int:
        return stream.fetch(self.config, 0, "nothing.", 1).last_id

    def events(self, prefix: str = "") -> list[dict[str, Any]]:
        """This test's events (its queue's, and its workers' with no queue) since it began."""
        out: list[dict[str, Any]] = []
        cursor = self.start
        while True:
            batch = stream.fetch(self.config, cursor, prefix, stream.MAX_LIMIT)
            out += [e for e in batch.events if e.get("queue", self.queue) == self.queue]
            cursor = batch.next_after
            if cursor >= batch.last_id:
                return out


async def run_until_empty(worker: Worker, cloud: Cloud, timeout: float = 20) -> None:
    """Run ``worker`` until its queue is empty (nothing queued, nothing in flight), then stop
    it (it finishes what it holds) and send its last reports."""
    stop = asyncio.Event()
    runner = asyncio.ensure_future(worker.run(stop))
    await wait_until_async(lambda: cloud.counts() == (0, 0), timeout, 0.1, blocking=True)
    stop.set()
    await asyncio.wait_for(runner, timeout)
    await asyncio.to_thread(worker.reporter.close)


def post(endpoint: str, body: object, raw: bytes | None = None) -> tuple[int, dict[str, Any]]:
    """``POST /_lab/events`` as any HTTP client would send it."""
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{endpoint}/_lab/events",
        data=data,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


class NoStreamServer:
    """A plain HTTP server that answers every request ``status`` (404, as LocalStack does for a
    path it lacks, or 405), on its own thread, counting the requests."""

    def __init__(self, status: int = 404) -> None:
        self.status = status
        self.port = free_port()
        self.requests: list[tuple[str, str]] = []
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self, coro: Awaitable[Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)  # type: ignore[arg-type]

    def __enter__(self) -> NoStreamServer:
        self._thread.start()

        async def answer(request: web.Request) -> web.Response:
            self.requests.append((request.method, request.path))
            await request.read()
            return web.Response(status=self.status, text="no such thing")

        async def up() -> None:
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", answer)
            self._runner = web.AppRunner(app)
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

        self._run(up())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            self._run(self._runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
