"""The URL2PNG worker loop of section 15.2.5: receive, render, upload, and only then delete.

It talks to the cloud only through boto3's SQS and S3 clients (``lab.aws.client``), so it runs
the same against the emulator, LocalStack and AWS. boto3 is synchronous, so each call runs in a
thread and a long poll never stalls the renders in flight.

Deliberately not done here: deleting a message that failed. A failure leaves the message to
come back after its visibility timeout; after the queue's maxReceiveCount SQS moves it to the
dead-letter queue. That is the chapter's at-least-once contract, and why processing must be
idempotent (section 15.2.6): a job whose PNG already exists is acknowledged without rendering it
again, and the upload itself is conditional (``If-None-Match: *``), so two workers rendering the
same job at once still leave the first PNG and record the second as a duplicate.

What the worker writes besides the PNG (status records, failure records, gallery records, see
``lab.url2png``) is append-only, so a worker killed between any two calls leaves nothing that a
later delivery of the same message cannot finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lab.url2png import records as rec
from lab.url2png.gallery import Entry
from lab.url2png.store import Gallery, JobStore
from lab.worker.job import Job, PoisonMessage, parse_job
from lab.worker.renderer import DEFAULT_HEIGHT, DEFAULT_WIDTH, Renderer, RenderError
from lab.worker.reporting import Reporter, about, queue_name
from lab.worker.url_policy import PolicyError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker runs. The defaults here are the ones `lab worker` offers (its options take
    them from this class), so the loop and the command cannot disagree."""

    queue_url: str
    bucket: str
    max_messages: int = 1  # as the book
    visibility_timeout: int = 120  # as the book: about 4 times the processing time
    wait_time: int = 20  # long polling
    parallel: int = 2  # messages in flight at once (the renderer has its own page limit)
    render_timeout: float = 30.0
    heartbeat: bool = False  # extend visibility while a job runs
    idle_sleep: float = 1.0  # after an empty receive without long polling, as the book's loop
    width: int = DEFAULT_WIDTH
    height: int = DEFAULT_HEIGHT
    max_receive: int | None = None  # the queue's maxReceiveCount: tells a last attempt
    name: str = "worker"
    gallery: bool = True  # keep index.html current
    gallery_interval: float = 2.0  # at most one gallery rebuild this often
    max_backoff: float = 30.0  # between receives while the cloud does not answer


@dataclass(frozen=True)
class Outcome:
    kind: str  # done | duplicate | poison | refused | failed
    message_id: str
    job: Job | None = None
    reason: str = ""
    receive_count: int = 0


@dataclass
class WorkerStats:
    counts: Counter[str] = field(default_factory=Counter)
    outcomes: list[Outcome] = field(default_factory=list)

    def record(self, outcome: Outcome) -> None:
        self.counts[outcome.kind] += 1
        self.outcomes = [*self.outcomes[-999:], outcome]


class Worker:
    def __init__(
        self,
        sqs: Any,
        s3: Any,
        renderer: Renderer,
        settings: WorkerSettings,
        clock: Callable[[], float] = time.time,
        reporter: Reporter | None = None,
    ) -> None:
        self.sqs = sqs
        # each step goes to the lab's event stream, if there is one (lab.worker.reporting)
        self.reporter = reporter or Reporter(None, settings.name)
        self.queue = queue_name(settings.queue_url)
        self.store = JobStore(s3, settings.bucket)
        self.gallery = Gallery(s3, settings.bucket) if settings.gallery else None
        self.renderer = renderer
        self.settings = settings
        self.clock = clock
        self.stats = WorkerStats()
        self._slots = asyncio.Semaphore(settings.parallel)
        self._tasks: set[asyncio.Task[Outcome]] = set()
        self._gallery_dirty = False
        self._gallery_task: asyncio.Task[None] | None = None
        self._gallery_last = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set, then finish what is in flight. A cloud that does not
        answer is retried with backoff: the worker outlives restarts of the emulator."""
        backoff = 1.0
        while not stop.is_set():
            try:
                received = await self.poll_once()
            except Exception as exc:
                log.warning("receive failed (%s); retrying in %.0f s", _short(exc), backoff)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(backoff * 2, self.settings.max_backoff)
                continue
            backoff = 1.0
            if received:
                continue
            await self._on_idle()
            if self.settings.wait_time < 1:
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
        self.reporter.report("polling", queue=self.queue)
        try:
            reply = await asyncio.to_thread(
                self.sqs.receive_message,
                QueueUrl=self.settings.queue_url,
                MaxNumberOfMessages=free,
                VisibilityTimeout=self.settings.visibility_timeout,
                WaitTimeSeconds=self.settings.wait_time,
                AttributeNames=["ApproximateReceiveCount"],
                MessageAttributeNames=["All"],
            )
        except BaseException:
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
        """Wait for the jobs in flight, then bring the gallery up to date."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._gallery_task is not None:  # do not sit out the throttle: publish now
            self._gallery_task.cancel()
            await asyncio.gather(self._gallery_task, return_exceptions=True)
        if self._gallery_dirty:
            await self._publish_gallery()

    async def _handle_in_slot(self, message: dict[str, Any]) -> Outcome:
        try:
            return await self.handle(message)
        finally:
            self._slots.release()

    async def handle(self, message: dict[str, Any]) -> Outcome:
        """Process one message; never raises: a bad message, a bad page or a failing cloud call
        leaves the message on the queue and is recorded with its reason."""
        message_id = message.get("MessageId", "?")
        receive_count = _receive_count(message)
        try:
            job = parse_job(message.get("Body", ""))
        except PoisonMessage as exc:
            self._report("received", message, exc.job_id)
            outcome = Outcome("poison", message_id, None, exc.reason, receive_count)
            return await self._failed(outcome, message, exc.job_id)
        self._report("received", message, job.id, job.seq)
        heartbeat = self._start_heartbeat(message) if self.settings.heartbeat else None
        try:
            return await self._process(message, message_id, job, receive_count)
        except Exception as exc:
            log.exception("job %s failed", job.id)
            reason = f"{type(exc).__name__}: {_short(exc)}"
            return await self._failed(
                Outcome("failed", message_id, job, reason, receive_count), message, job.id
            )
        finally:
            if heartbeat is not None:
                heartbeat.cancel()

    async def _process(
        self, message: dict[str, Any], message_id: str, job: Job, receive_count: int
    ) -> Outcome:
        existing = await asyncio.to_thread(self.store.png_info, job.id)
        if existing is not None:
            rendered = existing.get("LastModified")
            rendered_ms = int(rendered.timestamp() * 1000) if rendered else self._now_ms()
            return await self._duplicate(
                message, message_id, job, receive_count, rendered_ms, rendered=False
            )
        await self._status(job, rec.RECEIVED, receive_count, message_id)
        self._report("rendering", message, job.id, job.seq, url=job.url)
        started = time.monotonic()
        try:
            png = await self.renderer.render(
                job.url, self.settings.width, self.settings.height, self.settings.render_timeout
            )
        except PolicyError as exc:
            outcome = Outcome("refused", message_id, job, exc.reason, receive_count)
            return await self._failed(outcome, message, job.id)
        except RenderError as exc:
            outcome = Outcome("failed", message_id, job, exc.reason, receive_count)
            return await self._failed(outcome, message, job.id)
        rendered_ms = self._now_ms()
        created = await asyncio.to_thread(self.store.put_png, job.id, png)
        if not created:  # another delivery of this message uploaded first
            return await self._duplicate(
                message, message_id, job, receive_count, rendered_ms, rendered=True
            )
        self._report("uploaded", message, job.id, job.seq, key=job.key, bytes=len(png))
        if self.gallery is not None:
            await asyncio.to_thread(self.gallery.add, Entry(job.id, job.url, rendered_ms))
        await self._status(job, rec.DONE, receive_count, message_id)
        await self._delete(message, job)
        log.info(
            "done job=%s seq=%s receive=%d url=%s in %.2f s",
            job.id, job.seq, receive_count, job.url, time.monotonic() - started,
        )  # fmt: skip
        self._gallery_changed()
        return self._record(Outcome("done", message_id, job, "", receive_count))

    async def _duplicate(
        self,
        message: dict[str, Any],
        message_id: str,
        job: Job,
        receive_count: int,
        rendered_ms: int,
        rendered: bool = False,
    ) -> Outcome:
        """The PNG is there already: finish what the first delivery may not have (its gallery
        record, if that worker died after the upload), record the duplicate, acknowledge."""
        self._report("duplicate", message, job.id, job.seq, rendered=rendered)
        if self.gallery is not None and await asyncio.to_thread(
            self.gallery.add, Entry(job.id, job.url, rendered_ms)
        ):
            self._gallery_changed()
        await self._status(job, rec.DUPLICATE, receive_count, message_id)
        await self._delete(message, job)
        log.info(
            "duplicate job=%s seq=%s receive=%d: %s already exists; acknowledged without "
            "rendering again", job.id, job.seq, receive_count, job.key,
        )  # fmt: skip
        return self._record(Outcome("duplicate", message_id, job, "", receive_count))

    # --- helpers ---------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _report(
        self,
        step: str,
        message: dict[str, Any],
        job_id: str | None,
        seq: int | None = None,
        **fields: Any,
    ) -> None:
        """Report a step about this delivery of ``message`` (never waits, never raises)."""
        try:
            self.reporter.report(step, **about(message, self.queue, job_id, seq), **fields)
        except Exception:  # a report is a view of the work, never a reason to fail it
            log.debug("could not report %s", step, exc_info=True)

    def _record(self, outcome: Outcome) -> Outcome:
        self.stats.record(outcome)
        return outcome

    def _last_attempt(self, receive_count: int) -> bool:
        limit = self.settings.max_receive
        return limit is not None and receive_count >= limit

    async def _failed(
        self, outcome: Outcome, message: dict[str, Any], job_id: str | None
    ) -> Outcome:
        """Leave the message: it comes back, and after maxReceiveCount goes to the DLQ. The
        reason goes to the log, to the job's status and to a record the DLQ listing reads.

        A URL the policy refuses is refused on every attempt: that job fails at once (its
        status says why) and its message is deleted, instead of waiting out the visibility
        timeout three times on its way to the dead-letter queue."""
        permanent = outcome.kind == "refused" and outcome.job is not None
        final = permanent or self._last_attempt(outcome.receive_count)
        limit = self.settings.max_receive
        self._report(
            "failed",
            message,
            job_id,
            outcome.job.seq if outcome.job else None,
            kind=outcome.kind,
            reason=outcome.reason,
            final=final,
        )
        log.warning(
            "%s: message=%s job=%s kind=%s receive=%d%s reason=%s%s",
            "failed for good, deleted" if permanent else "left on the queue",
            outcome.message_id, job_id or "-", outcome.kind, outcome.receive_count,
            f"/{limit}" if limit else "", outcome.reason,
            "; last attempt, SQS moves it to the dead-letter queue"
            if final and not permanent else "",
        )  # fmt: skip
        self._record(outcome)
        record = rec.FailureRecord(
            message_id=outcome.message_id,
            kind=outcome.kind,
            reason=outcome.reason,
            receive_count=outcome.receive_count,
            at_ms=self._now_ms(),
            job_id=job_id,
            worker=self.settings.name,
            body_excerpt=str(message.get("Body", ""))[:300],
        )
        try:
            await asyncio.to_thread(self.store.record_failure, record)
            if job_id is not None:
                status = rec.StatusRecord(
                    job_id,
                    rec.FAILED if final else rec.ERROR,
                    self._now_ms(),
                    outcome.receive_count,
                    url=outcome.job.url if outcome.job else None,
                    seq=outcome.job.seq if outcome.job else None,
                    reason=f"{outcome.kind}: {outcome.reason}",
                    max_receive=limit,
                    worker=self.settings.name,
                    message_id=outcome.message_id,
                )
                await asyncio.to_thread(self.store.record, status)
        except Exception as exc:  # the reason is in the log; the message comes back anyway
            log.warning("could not record the failure of %s: %s", outcome.message_id, _short(exc))
        if permanent and outcome.job is not None:
            await self._delete(message, outcome.job)
        return outcome

    async def _status(self, job: Job, kind: str, receive_count: int, message_id: str) -> None:
        """Add this step to the job's status records in the bucket."""
        status = rec.StatusRecord(
            job.id,
            kind,
            self._now_ms(),
            receive_count,
            url=job.url,
            seq=job.seq,
            max_receive=self.settings.max_receive,
            worker=self.settings.name,
            message_id=message_id,
        )
        await asyncio.to_thread(self.store.record, status)

    async def _delete(self, message: dict[str, Any], job: Job) -> None:
        """A failed delete is not a failed job: the PNG is there, and the next delivery is
        acknowledged as a duplicate."""
        try:
            await asyncio.to_thread(
                self.sqs.delete_message,
                QueueUrl=self.settings.queue_url,
                ReceiptHandle=message["ReceiptHandle"],
            )
            self._report("deleted", message, job.id, job.seq)
        except Exception as exc:
            log.warning(
                "job %s is done but its message was not deleted (%s); it will come back and be "
                "acknowledged as a duplicate", job.id, _short(exc),
            )  # fmt: skip

    def _start_heartbeat(self, message: dict[str, Any]) -> asyncio.Task[None]:
        async def beat() -> None:
            every = max(1.0, self.settings.visibility_timeout / 2)
            while True:
                await asyncio.sleep(every)
                try:
                    await asyncio.to_thread(
                        self.sqs.change_message_visibility,
                        QueueUrl=self.settings.queue_url,
                        ReceiptHandle=message["ReceiptHandle"],
                        VisibilityTimeout=self.settings.visibility_timeout,
                    )
                except Exception as exc:
                    log.warning("heartbeat for %s failed: %s", message.get("MessageId"), exc)

        return asyncio.ensure_future(beat())

    # --- gallery ---------------------------------------------------------------------------

    def _gallery_changed(self) -> None:
        """Rebuild soon, but at most once per ``gallery_interval``: with several pages a second,
        rebuilding after each upload would cost more than the renders."""
        if self.gallery is None:
            return
        self._gallery_dirty = True
        if self._gallery_task is None or self._gallery_task.done():
            self._gallery_task = asyncio.ensure_future(self._gallery_soon())

    async def _gallery_soon(self) -> None:
        while self._gallery_dirty:
            wait = self._gallery_last + self.settings.gallery_interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            await self._publish_gallery()

    async def _publish_gallery(self) -> None:
        if self.gallery is None:
            return
        self._gallery_dirty = False
        self._gallery_last = time.monotonic()
        try:
            count = await asyncio.to_thread(self.gallery.publish)
            log.debug("gallery published with %d pictures", count)
        except Exception as exc:
            self._gallery_dirty = True
            log.warning("could not publish the gallery: %s", _short(exc))
            await asyncio.sleep(self.settings.gallery_interval)

    async def _on_idle(self) -> None:
        """Nothing to do: make sure the gallery lists what the bucket holds (another worker's
        older rebuild may have landed after ours)."""
        if self.gallery is None or (self._gallery_task and not self._gallery_task.done()):
            return
        try:
            if await asyncio.to_thread(self.gallery.converge):
                log.info("gallery republished (it was missing pictures)")
        except Exception as exc:
            log.warning("could not check the gallery: %s", _short(exc))


def _receive_count(message: dict[str, Any]) -> int:
    try:
        return int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0))
    except (TypeError, ValueError):
        return 0


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
