"""The URL2PNG worker loop of section 15.2.5: receive, render, upload, and only then delete.

It talks to the cloud only through boto3-shaped SQS and S3 clients (``lab.aws.client``), so it
runs the same against the emulator, LocalStack and AWS. boto3 is synchronous, so each call runs
in a thread and a long poll never stalls the renders in flight.

Deliberately not done here: deleting a message that failed. A failure leaves the message to
come back after its visibility timeout; after the queue's maxReceiveCount SQS moves it to the
dead-letter queue. That is the chapter's at-least-once contract, and why processing must be
idempotent: a job whose PNG already exists is acknowledged without rendering it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from lab.worker.job import Job, PoisonMessage, parse_job
from lab.worker.renderer import DEFAULT_HEIGHT, DEFAULT_WIDTH, Renderer, RenderError
from lab.worker.url_policy import PolicyError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerSettings:
    queue_url: str
    bucket: str
    max_messages: int = 1  # as the book
    visibility_timeout: int = 120  # as the book: about 4 times the processing time
    wait_time: int = 10  # long polling
    parallel: int = 1  # messages in flight at once (the renderer has its own page limit)
    render_timeout: float = 60.0
    heartbeat: bool = False  # extend visibility while a render runs
    idle_sleep: float = 1.0  # after an empty receive without long polling, as the book's loop
    width: int = DEFAULT_WIDTH
    height: int = DEFAULT_HEIGHT


@dataclass(frozen=True)
class Outcome:
    kind: str  # done | duplicate | poison | refused | failed
    message_id: str
    job: Job | None = None
    reason: str = ""


@dataclass
class WorkerStats:
    counts: Counter[str] = field(default_factory=Counter)
    outcomes: list[Outcome] = field(default_factory=list)

    def record(self, outcome: Outcome) -> None:
        self.counts[outcome.kind] += 1
        self.outcomes = [*self.outcomes[-999:], outcome]


class Worker:
    def __init__(self, sqs: Any, s3: Any, renderer: Renderer, settings: WorkerSettings) -> None:
        self.sqs = sqs
        self.s3 = s3
        self.renderer = renderer
        self.settings = settings
        self.stats = WorkerStats()
        self._slots = asyncio.Semaphore(settings.parallel)
        self._tasks: set[asyncio.Task[Outcome]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set, then finish what is in flight."""
        while not stop.is_set():
            if not await self.poll_once() and self.settings.wait_time < 1:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.idle_sleep)
        await self.drain()

    async def poll_once(self) -> int:
        """One ReceiveMessage for as many messages as there are free slots; handling runs in the
        background. Returns how many messages arrived."""
        await self._slots.acquire()
        free = 1
        while free < self.settings.max_messages and not self._slots.locked():
            await self._slots.acquire()
            free += 1
        try:
            reply = await asyncio.to_thread(
                self.sqs.receive_message,
                QueueUrl=self.settings.queue_url,
                MaxNumberOfMessages=free,
                VisibilityTimeout=self.settings.visibility_timeout,
                WaitTimeSeconds=self.settings.wait_time,
                AttributeNames=["ApproximateReceiveCount"],
            )
        except Exception:
            for _ in range(free):
                self._slots.release()
            raise
        messages = reply.get("Messages", [])
        for _ in range(free - len(messages)):
            self._slots.release()
        for message in messages:
            task = asyncio.ensure_future(self._handle_in_slot(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(messages)

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle_in_slot(self, message: dict[str, Any]) -> Outcome:
        try:
            return await self.handle(message)
        finally:
            self._slots.release()

    async def handle(self, message: dict[str, Any]) -> Outcome:
        """Process one message; never raises: a bad message, a bad page or a failing cloud call
        leaves the message on the queue and is recorded with its reason."""
        message_id = message.get("MessageId", "?")
        try:
            job = parse_job(message.get("Body", ""))
        except PoisonMessage as exc:
            return self._failed(Outcome("poison", message_id, None, exc.reason))
        try:
            return await self._process(message, message_id, job)
        except Exception as exc:
            log.exception("job %s failed", job.id)
            return self._failed(Outcome("failed", message_id, job, f"{type(exc).__name__}: {exc}"))

    async def _process(self, message: dict[str, Any], message_id: str, job: Job) -> Outcome:
        if await self._exists(job.key):
            await self._delete(message)
            log.info("job %s: duplicate delivery, %s already exists", job.id, job.key)
            return self._done(Outcome("duplicate", message_id, job))
        heartbeat = self._start_heartbeat(message) if self.settings.heartbeat else None
        try:
            png = await self.renderer.render(
                job.url, self.settings.width, self.settings.height, self.settings.render_timeout
            )
        except PolicyError as exc:
            return self._failed(Outcome("refused", message_id, job, exc.reason))
        except RenderError as exc:
            return self._failed(Outcome("failed", message_id, job, exc.reason))
        finally:
            if heartbeat is not None:
                heartbeat.cancel()
        await asyncio.to_thread(
            self.s3.put_object,
            Bucket=self.settings.bucket,
            Key=job.key,
            Body=png,
            ContentType="image/png",
            ACL="public-read",
        )
        await self._delete(message)
        return self._done(Outcome("done", message_id, job))

    # --- helpers ---------------------------------------------------------------------------

    def _done(self, outcome: Outcome) -> Outcome:
        self.stats.record(outcome)
        return outcome

    def _failed(self, outcome: Outcome) -> Outcome:
        """Leave the message: it comes back, and after maxReceiveCount goes to the DLQ."""
        log.warning("message %s left on the queue (%s): %s", outcome.message_id, outcome.kind,
                    outcome.reason)  # fmt: skip
        self.stats.record(outcome)
        return outcome

    async def _exists(self, key: str) -> bool:
        try:
            await asyncio.to_thread(self.s3.head_object, Bucket=self.settings.bucket, Key=key)
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    async def _delete(self, message: dict[str, Any]) -> None:
        await asyncio.to_thread(
            self.sqs.delete_message,
            QueueUrl=self.settings.queue_url,
            ReceiptHandle=message["ReceiptHandle"],
        )

    def _start_heartbeat(self, message: dict[str, Any]) -> asyncio.Task[None]:
        async def beat() -> None:
            every = max(1.0, self.settings.visibility_timeout / 2)
            while True:
                await asyncio.sleep(every)
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(
                        self.sqs.change_message_visibility,
                        QueueUrl=self.settings.queue_url,
                        ReceiptHandle=message["ReceiptHandle"],
                        VisibilityTimeout=self.settings.visibility_timeout,
                    )

        return asyncio.ensure_future(beat())
