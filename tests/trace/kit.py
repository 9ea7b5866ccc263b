"""What the trace tests share: a URL2PNG cloud of the test's own on a real emulator, workers
that report to its event stream, and readers of that stream.

Chromium is the only stand-in: ``FakeRenderer`` from the worker tests (``/slow/SECONDS`` takes
that long, ``/fail`` does not load, anything else renders at once)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from lab import aws
from lab import events as stream
from lab.config import LabConfig
from lab.url2png.producer import Producer
from lab.url2png.resources import Url2Png, ensure
from lab.worker.loop import Worker, WorkerSettings
from lab.worker.reporting import Reporter
from tests.conftest import free_port
from tests.worker.test_loop import SITE, FakeRenderer

__all__ = ["SITE", "Cloud", "FakeRenderer", "NoStreamServer", "post", "until"]


class Cloud:
    """One test's own queue, dead-letter queue and bucket on an emulator, and its producer."""

    def __init__(self, emulator: Any, tmp_path: Path, max_receive: int = 3) -> None:
        name = uuid.uuid4().hex[:10]
        self.emulator = emulator
        self.config = LabConfig(
            port=emulator.port,
            state_dir=tmp_path / "state",
            url2png_queue=f"t-{name}",
            url2png_dlq=f"t-{name}-dlq",
            url2png_bucket=f"t-{name}",
            url2png_max_receive=max_receive,
        )
        self.sqs = aws.client("sqs", self.config)
        self.s3 = aws.client("s3", self.config)
        self.resources: Url2Png = ensure(self.config, self.sqs, self.s3)
        self.queue = self.config.url2png_queue
        self.producer = Producer(self.sqs, self.s3, self.resources, producer_id="prod-1")
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
        options.setdefault("render_timeout", 10)
        options.setdefault("gallery", False)
        return WorkerSettings(
            self.resources.queue_url,
            self.resources.bucket,
            max_receive=self.resources.max_receive,
            **options,
        )

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
    await until_async(lambda: cloud.counts() == (0, 0), timeout)
    stop.set()
    await asyncio.wait_for(runner, timeout)
    await asyncio.to_thread(worker.reporter.close)


async def until_async(predicate: Callable[[], Any], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(predicate):
        assert time.monotonic() < deadline, f"not reached within {timeout} s"
        await asyncio.sleep(0.1)


def until(predicate: Callable[[], Any], timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"not reached within {timeout} s (last: {value!r})"
        time.sleep(0.05)


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
