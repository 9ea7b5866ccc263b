"""A test's own URL2PNG cloud: a queue, its dead-letter queue and a website bucket with unique
names on an emulator, made through the lab's own resource code, with a producer and a job
store, and workers built on it (the renderer is the test's: real or fake)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from lab import aws
from lab.config import LabConfig
from lab.url2png.producer import Producer
from lab.url2png.resources import Url2Png, ensure
from lab.url2png.store import JobStore
from lab.worker.loop import WorkerSettings


class Url2PngCloud:
    def __init__(self, emulator: Any, tmp_path: Path, max_receive: int = 3) -> None:
        name = uuid.uuid4().hex[:10]
        self.emulator = emulator
        self.config = LabConfig(
            port=emulator.port,
            state_dir=tmp_path / "state",
            url2png_queue=f"q-{name}",
            url2png_dlq=f"q-{name}-dlq",
            url2png_bucket=f"b-{name}",
            url2png_max_receive=max_receive,
        )
        self.queue = self.config.url2png_queue
        self.sqs = aws.client("sqs", self.config)
        self.s3 = aws.client("s3", self.config)
        self.resources: Url2Png = ensure(self.config, self.sqs, self.s3)
        self.store = JobStore(self.s3, self.resources.bucket)
        self.producer = Producer(self.sqs, self.s3, self.resources, producer_id="prod-1")

    def settings(self, **options: Any) -> WorkerSettings:
        """A worker's settings for this cloud; quick to give up on a slow page by default."""
        options.setdefault("render_timeout", 10)
        return WorkerSettings(
            self.resources.queue_url,
            self.resources.bucket,
            max_receive=self.resources.max_receive,
            **options,
        )
