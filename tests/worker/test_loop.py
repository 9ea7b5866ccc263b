"""The worker loop in this process against the real emulator (SQS and S3 over HTTP, through
boto3): what happens to each message, in the cloud, not in a stand-in.

The subject here is the queue, not the page, so a ``FakeRenderer``
(``tests/support/fake_renderer.py``) stands in for Chromium: it
answers at once (or after the delay a test asks for) with a real PNG, or fails as a renderer
does. Real Chromium is tested in ``test_renderer.py`` (the renderer's contract) and in
``tests/url2png/`` (the worker as a process, end to end).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from lab.url2png import status as job_status
from lab.worker.job import PoisonMessage, parse_job
from lab.worker.loop import Worker
from tests.support.fake_renderer import SITE, FakeRenderer, picture_colour
from tests.support.png import Image, decode
from tests.support.url2png import Url2PngCloud
from tests.support.waiting import wait_until_async


class Cloud(Url2PngCloud):
    """One test's own queue, dead-letter queue and bucket on the shared emulator."""

    def worker(self, renderer: FakeRenderer, **options: Any) -> Worker:
        options.setdefault("wait_time", 0)
        options.setdefault("idle_sleep", 0.1)
        return Worker(self.sqs, self.s3, renderer, self.settings(**options))

    def send_raw(self, body: str) -> str:
        return self.sqs.send_message(QueueUrl=self.resources.queue_url, MessageBody=body)[
            "MessageId"
        ]

    def counts(self, url: str | None = None) -> tuple[int, int]:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=url or self.resources.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return (
            int(attrs["ApproximateNumberOfMessages"]),
            int(attrs["ApproximateNumberOfMessagesNotVisible"]),
        )

    def pngs(self) -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=self.resources.bucket)
        return sorted(o["Key"] for o in listing.get("Contents", []) if o["Key"].endswith(".png"))

    def picture(self, job_id: str) -> Image:
        obj = self.s3.get_object(Bucket=self.resources.bucket, Key=f"{job_id}.png")
        assert obj["ContentType"] == "image/png"
        return decode(obj["Body"].read())

    def status(self, job_id: str) -> dict[str, Any]:
        """What ``lab url2png status --json`` and notebooks see."""
        return job_status.get(job_id, self.config)

    def receive(self, visibility: int = 30, wait: int = 2) -> dict[str, Any]:
        reply = self.sqs.receive_message(
            QueueUrl=self.resources.queue_url,
            VisibilityTimeout=visibility,
            WaitTimeSeconds=wait,
            AttributeNames=["ApproximateReceiveCount"],
        )
        [message] = reply["Messages"]
        return message


@pytest.fixture
def cloud(emulator, tmp_path: Path) -> Cloud:
    return Cloud(emulator, tmp_path)


@pytest.fixture
def renderer() -> FakeRenderer:
    return FakeRenderer()


async def run_all(worker: Worker) -> None:
    while await worker.poll_once():
        pass
    await worker.drain()


def test_render_upload_then_delete(cloud: Cloud, renderer: FakeRenderer, run) -> None:
    [job] = cloud.producer.submit([f"{SITE}/sunrise.html"])
    worker = cloud.worker(renderer, width=800, height=600, render_timeout=7)
    run(run_all(worker))
    assert worker.stats.counts == {"done": 1}
    assert renderer.sizes == [(800, 600, 7)]  # the worker's settings reach the renderer
    image = cloud.picture(job.id)
    assert (image.width, image.height) == (800, 600)
    assert image.pixel(799, 599) == picture_colour(job.url)
    grants = cloud.s3.get_object_acl(Bucket=cloud.resources.bucket, Key=f"{job.id}.png")["Grants"]
    assert any(
        g["Grantee"].get("URI", "").endswith("/global/AllUsers") and g["Permission"] == "READ"
        for g in grants
    ), grants
    assert cloud.counts() == (0, 0)  # deleted, not merely hidden
    status = cloud.status(job.id)
    assert (status["state"], status["receive_count"], status["duplicates"]) == ("done", 1, 0)
    assert (status["url"], status["seq"]) == (job.url, 1)
    assert str(status["png_url"]).endswith(f"/{job.id}.png")


@pytest.mark.parametrize(
    ("body", "kind", "words", "has_id"),
    [
        ("not json", "poison", "not JSON", False),
        ('{"url": "http://127.0.0.1/"}', "poison", "'id'", False),
        ('{"id": "p1"}', "poison", "'url'", True),
        ('["a"]', "poison", "not an object", False),
        ('{"id": "../etc", "url": "http://127.0.0.1/"}', "poison", "id", False),
        (
            '{"id": "p2", "url": "http://169.254.169.254/latest/meta-data/"}',
            "refused",
            "metadata",
            True,
        ),
        ('{"id": "p3", "url": "file:///etc/passwd"}', "refused", "scheme", True),
        ('{"id": "p4", "url": "SITE/redirect-to-metadata"}', "refused", "redirected", True),
        ('{"id": "p5", "url": "SITE/hang"}', "failed", "no page after", True),
        ('{"id": "p6", "url": "SITE/fail"}', "failed", "ERR_CONNECTION_REFUSED", True),
    ],
)
def test_bad_messages_fail_with_a_reason_and_refused_ones_at_once(
    cloud: Cloud, renderer: FakeRenderer, run, body: str, kind: str, words: str, has_id: bool
) -> None:
    """Poison and failed pages are left on the queue (they come back, and after
    maxReceiveCount reach the dead-letter queue); a URL the policy refuses is refused every
    time, so its job fails at once and its message is deleted."""
    body = body.replace("SITE", SITE)
    bad_id = cloud.send_raw(body)
    [good] = cloud.producer.submit([f"{SITE}/sample/7"])
    worker = cloud.worker(renderer, render_timeout=1.0, visibility_timeout=30)
    run(run_all(worker))
    outcomes = {o.message_id: o for o in worker.stats.outcomes}
    assert outcomes[bad_id].kind == kind and words in outcomes[bad_id].reason
    assert cloud.status(good.id)["state"] == "done"  # the worker carried on
    refused = kind == "refused"
    # refused: deleted at once; the others hidden, not deleted: they will come back
    assert cloud.counts() == (0, 0 if refused else 1)
    record = cloud.store.failure(bad_id)
    assert record is not None and record.kind == kind and words in record.reason
    if has_id:
        status = cloud.status(json.loads(body)["id"])
        assert status["state"] == "failed" and status["final"] == refused
        assert words in str(status["reason"]) and status["receive_count"] == 1


def test_the_same_message_twice_leaves_one_object_and_records_the_duplicate(
    cloud: Cloud, renderer: FakeRenderer, run
) -> None:
    [job] = cloud.producer.submit([f"{SITE}/sample/11"])
    message = cloud.receive()
    worker = cloud.worker(renderer)
    first = run(worker.handle(message))
    png_before = cloud.s3.head_object(Bucket=cloud.resources.bucket, Key=f"{job.id}.png")
    second = run(worker.handle(message))  # the same delivery again
    assert (first.kind, second.kind) == ("done", "duplicate")
    assert worker.stats.counts == {"done": 1, "duplicate": 1}
    assert renderer.calls[job.url] == 1  # acknowledged without rendering again
    assert cloud.pngs() == [f"{job.id}.png"]
    png_after = cloud.s3.head_object(Bucket=cloud.resources.bucket, Key=f"{job.id}.png")
    assert png_after["ETag"] == png_before["ETag"]
    status = cloud.status(job.id)
    assert status["state"] == "done" and status["duplicates"] == 1


def test_two_workers_rendering_the_same_job_at_once_keep_the_first_png(
    cloud: Cloud, renderer: FakeRenderer, run
) -> None:
    """A visibility timeout shorter than the render: both render, the conditional upload lets
    only one PNG in, the other worker records a duplicate."""
    [job] = cloud.producer.submit([f"{SITE}/slow/1.5"])
    first = cloud.receive(visibility=1)
    second = cloud.receive(visibility=30, wait=5)  # the long poll ends when it is visible again
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"
    a, b = cloud.worker(renderer), cloud.worker(renderer)

    async def both() -> list[Any]:
        return await asyncio.gather(a.handle(first), b.handle(second))

    kinds = sorted(o.kind for o in run(both()))
    assert kinds == ["done", "duplicate"]
    assert renderer.calls[job.url] == 2  # both rendered: neither saw the other's PNG in time
    assert cloud.pngs() == [f"{job.id}.png"]
    status = cloud.status(job.id)
    assert status["state"] == "done" and status["duplicates"] == 1


def test_parallel_slots_receive_several_messages_at_once(
    cloud: Cloud, renderer: FakeRenderer, run
) -> None:
    jobs = cloud.producer.submit([f"{SITE}/slow/1.{i}" for i in range(3)])
    worker = cloud.worker(renderer, max_messages=3, parallel=3)
    run(run_all(worker))
    assert worker.stats.counts["done"] == 3
    assert renderer.peak_in_flight == 3, "the 3 slow pages were never rendered at once"
    for job in jobs:
        assert cloud.picture(job.id).pixel(1200, 20) == picture_colour(job.url)


@pytest.mark.parametrize("heartbeat", [True, False])
def test_heartbeat_keeps_a_slow_job_from_a_second_worker(
    cloud: Cloud, renderer: FakeRenderer, run, heartbeat: bool
) -> None:
    """Section 15.2.6's warning, shown: a render longer than the visibility timeout is handed
    to another worker unless the first keeps extending the timeout."""
    [job] = cloud.producer.submit([f"{SITE}/slow/3.5"])
    worker = cloud.worker(renderer, visibility_timeout=2, heartbeat=heartbeat)

    async def scenario() -> int:
        assert await worker.poll_once() == 1
        # Another consumer long-polls for most of the render: without a heartbeat the message
        # is visible again after 2 s and reaches it; with one it never is before the delete.
        other = await asyncio.to_thread(
            cloud.sqs.receive_message,
            QueueUrl=cloud.resources.queue_url,
            VisibilityTimeout=10,
            WaitTimeSeconds=3,
        )
        await worker.drain()
        return len(other.get("Messages", []))

    stolen = run(scenario())
    assert worker.stats.counts == {"done": 1}
    assert stolen == (0 if heartbeat else 1)
    assert cloud.status(job.id)["state"] == "done"


def test_a_failing_page_comes_back_then_reaches_the_dlq_and_its_last_attempt_is_final(
    emulator, tmp_path: Path, renderer: FakeRenderer, run
) -> None:
    cloud = Cloud(emulator, tmp_path, max_receive=2)
    bad = cloud.send_raw(json.dumps({"id": "dead1", "url": f"{SITE}/fail"}))
    worker = cloud.worker(renderer, visibility_timeout=1)

    async def until_dead() -> None:
        deadline = time.monotonic() + 15
        while cloud.counts(cloud.resources.dlq_url)[0] == 0 and time.monotonic() < deadline:
            await worker.poll_once()
        await worker.drain()

    run(until_dead())
    assert cloud.counts(cloud.resources.dlq_url) == (1, 0)
    assert cloud.counts() == (0, 0)
    assert [(o.kind, o.receive_count) for o in worker.stats.outcomes] == [
        ("failed", 1),
        ("failed", 2),
    ]
    assert renderer.calls[f"{SITE}/fail"] == 2  # rendered again on the second delivery
    status = cloud.status("dead1")
    assert status["state"] == "failed" and status["final"]
    assert "ERR_CONNECTION_REFUSED" in str(status["reason"])
    assert cloud.store.failure(bad).receive_count == 2  # type: ignore[union-attr]


def test_stop_event_ends_the_run_and_publishes_the_gallery(
    cloud: Cloud, renderer: FakeRenderer, run
) -> None:
    [job] = cloud.producer.submit([f"{SITE}/forest.html"])
    worker = cloud.worker(renderer, wait_time=1)

    async def main() -> None:
        stop = asyncio.Event()
        runner = asyncio.ensure_future(worker.run(stop))
        await wait_until_async(lambda: worker.stats.counts["done"], 10)
        stop.set()
        await asyncio.wait_for(runner, 5)

    run(main())
    assert worker.stats.counts["done"] == 1
    page = cloud.s3.get_object(Bucket=cloud.resources.bucket, Key="index.html")["Body"].read()
    assert f"{job.id}.png".encode() in page and job.url.encode() in page


def test_the_worker_outlives_a_restart_of_the_cloud(
    fresh_emulator, tmp_path: Path, renderer: FakeRenderer, run, caplog
) -> None:
    cloud = Cloud(fresh_emulator, tmp_path)
    worker = cloud.worker(renderer, wait_time=1, max_backoff=1.0)
    caplog.set_level(logging.WARNING, logger="lab.worker.loop")

    def receive_failures() -> int:
        return sum("receive failed" in r.getMessage() for r in caplog.records)

    async def main() -> None:
        stop = asyncio.Event()
        runner = asyncio.ensure_future(worker.run(stop))
        [before] = await asyncio.to_thread(cloud.producer.submit, [f"{SITE}/sunrise.html"])
        await wait_until_async(lambda: worker.stats.counts["done"], 10)
        # stopped, not killed: S3 state is saved debounced, so a kill -9 right after the
        # bucket was made could lose it, and this test is about the worker, not the emulator
        await asyncio.to_thread(fresh_emulator.stop)
        # it retries, and is still running
        await wait_until_async(lambda: receive_failures() >= 2, 10)
        assert not runner.done()
        await asyncio.to_thread(fresh_emulator.start)
        [after] = await asyncio.to_thread(cloud.producer.submit, [f"{SITE}/ocean.html"])
        await wait_until_async(lambda: worker.stats.counts["done"] == 2, 20)
        stop.set()
        await asyncio.wait_for(runner, 10)
        assert cloud.status(before.id)["state"] == cloud.status(after.id)["state"] == "done"

    run(main())


def test_parse_job() -> None:
    parsed = parse_job(json.dumps({"id": "abc-1", "url": "http://x/", "seq": 1}))
    assert (parsed.id, parsed.key, parsed.seq) == ("abc-1", "abc-1.png", 1)
    for bad in ['{"id": "x", "url": ""}', '{"id": "x", "url": "u", "seq": "1"}', "", "null"]:
        with pytest.raises(PoisonMessage):
            parse_job(bad)
    with pytest.raises(PoisonMessage) as info:
        parse_job('{"id": "named"}')
    assert info.value.job_id == "named"
