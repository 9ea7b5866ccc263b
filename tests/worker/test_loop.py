"""The worker loop in this process against the real emulator (SQS and S3 over HTTP, through
boto3) and real Chromium: what happens to each message, in the cloud, not in a stand-in."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from lab import aws
from lab.config import LabConfig
from lab.pages.server import SAMPLE_PAGES, generated_colours
from lab.url2png import events as ev
from lab.url2png.producer import Producer
from lab.url2png.resources import Url2Png, ensure
from lab.url2png.store import JobStore
from lab.worker.job import PoisonMessage, parse_job
from lab.worker.loop import Worker, WorkerSettings

from . import png
from .test_renderer import close_to

pytestmark = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs chromium")


class Cloud:
    """One test's own queue, dead-letter queue and bucket on the shared emulator."""

    def __init__(self, emulator: Any, tmp_path: Path, max_receive: int = 3) -> None:
        name = uuid.uuid4().hex[:10]
        self.config = LabConfig(
            port=emulator.port,
            state_dir=tmp_path / "state",
            url2png_queue=f"q-{name}",
            url2png_dlq=f"q-{name}-dlq",
            url2png_bucket=f"b-{name}",
            url2png_max_receive=max_receive,
        )
        self.sqs = aws.client("sqs", self.config)
        self.s3 = aws.client("s3", self.config)
        self.resources: Url2Png = ensure(self.config, self.sqs, self.s3)
        self.store = JobStore(self.s3, self.resources.bucket)
        self.producer = Producer(self.sqs, self.s3, self.resources)

    def worker(self, renderer: Any, **settings: Any) -> Worker:
        settings.setdefault("wait_time", 0)
        settings.setdefault("idle_sleep", 0.1)
        settings.setdefault("render_timeout", 10)
        return Worker(
            self.sqs,
            self.s3,
            renderer,
            WorkerSettings(
                self.resources.queue_url,
                self.resources.bucket,
                max_receive=self.resources.max_receive,
                **settings,
            ),
        )

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

    def receive(self, visibility: int = 30) -> dict[str, Any]:
        reply = self.sqs.receive_message(
            QueueUrl=self.resources.queue_url,
            VisibilityTimeout=visibility,
            WaitTimeSeconds=2,
            AttributeNames=["ApproximateReceiveCount"],
        )
        [message] = reply["Messages"]
        return message


@pytest.fixture
def cloud(emulator, tmp_path: Path) -> Cloud:
    return Cloud(emulator, tmp_path)


async def run_all(worker: Worker) -> None:
    while await worker.poll_once():
        pass
    await worker.drain()


def test_render_upload_then_delete(cloud: Cloud, renderer, run, pages) -> None:
    page = SAMPLE_PAGES["sunrise"]
    [job] = cloud.producer.submit([pages.url(page.path)])
    worker = cloud.worker(renderer)
    run(run_all(worker))
    assert worker.stats.counts == {"done": 1}
    obj = cloud.s3.get_object(Bucket=cloud.resources.bucket, Key=f"{job.id}.png")
    assert obj["ContentType"] == "image/png"
    image = png.decode(obj["Body"].read())
    assert close_to(image.pixel(1200, 20), page.band)
    assert close_to(image.pixel(1000, 700), page.block)
    grants = cloud.s3.get_object_acl(Bucket=cloud.resources.bucket, Key=f"{job.id}.png")["Grants"]
    assert any(
        g["Grantee"].get("URI", "").endswith("/global/AllUsers") and g["Permission"] == "READ"
        for g in grants
    ), grants
    assert cloud.counts() == (0, 0)  # deleted, not merely hidden
    status = cloud.store.status(job.id)
    assert status.state == ev.STATE_DONE and status.receive_count == 1 and status.duplicates == 0
    assert (status.url, status.seq) == (job.url, 1)


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
        ('{"id": "p4", "url": "PAGES/hang"}', "failed", "no page after", True),
    ],
)
def test_bad_messages_are_left_on_the_queue_with_a_reason(
    cloud: Cloud, renderer, run, pages, body: str, kind: str, words: str, has_id: bool
) -> None:
    bad_id = cloud.send_raw(body.replace("PAGES", pages.base_url))
    [good] = cloud.producer.submit([pages.url("/sample/7")])
    worker = cloud.worker(renderer, render_timeout=1.0, visibility_timeout=30)
    run(run_all(worker))
    outcomes = {o.message_id: o for o in worker.stats.outcomes}
    assert outcomes[bad_id].kind == kind and words in outcomes[bad_id].reason
    assert cloud.store.status(good.id).state == ev.STATE_DONE  # the worker carried on
    assert cloud.counts() == (0, 1)  # the bad one is hidden, not deleted: it will come back
    record = cloud.store.failure(bad_id)
    assert record is not None and record.kind == kind and words in record.reason
    if has_id:
        job_id = json.loads(body)["id"]
        status = cloud.store.status(job_id)
        assert status.state == ev.STATE_FAILED and not status.final
        assert words in (status.reason or "") and status.receive_count == 1


def test_the_same_message_twice_leaves_one_object_and_records_the_duplicate(
    cloud: Cloud, renderer, run, pages
) -> None:
    [job] = cloud.producer.submit([pages.url("/sample/11")])
    message = cloud.receive()
    worker = cloud.worker(renderer)
    first = run(worker.handle(message))
    png_before = cloud.s3.head_object(Bucket=cloud.resources.bucket, Key=f"{job.id}.png")
    second = run(worker.handle(message))  # the same delivery again
    assert (first.kind, second.kind) == ("done", "duplicate")
    assert cloud.pngs() == [f"{job.id}.png"]
    png_after = cloud.s3.head_object(Bucket=cloud.resources.bucket, Key=f"{job.id}.png")
    assert png_after["ETag"] == png_before["ETag"]
    status = cloud.store.status(job.id)
    assert status.state == ev.STATE_DONE and status.duplicates == 1


def test_two_workers_rendering_the_same_job_at_once_keep_the_first_png(
    cloud: Cloud, renderer, run, pages
) -> None:
    """A visibility timeout shorter than the render: both render, the conditional upload lets
    only one PNG in, the other worker records a duplicate."""
    [job] = cloud.producer.submit([pages.url("/slow?ms=1500")])
    first = cloud.receive(visibility=1)
    time.sleep(1.2)
    second = cloud.receive(visibility=30)
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"
    a, b = cloud.worker(renderer), cloud.worker(renderer)

    async def both() -> list[Any]:
        return await asyncio.gather(a.handle(first), b.handle(second))

    kinds = sorted(o.kind for o in run(both()))
    assert kinds == ["done", "duplicate"]
    assert cloud.pngs() == [f"{job.id}.png"]
    status = cloud.store.status(job.id)
    assert status.state == ev.STATE_DONE and status.duplicates == 1


def test_parallel_slots_receive_several_messages_at_once(
    cloud: Cloud, renderer, run, pages
) -> None:
    jobs = cloud.producer.submit([pages.url(f"/slow?ms={1000 + i}") for i in range(3)])
    worker = cloud.worker(renderer, max_messages=3, parallel=3)
    pages.peak_in_flight["/slow"] = 0
    run(run_all(worker))
    assert worker.stats.counts["done"] == 3
    assert pages.peak_in_flight["/slow"] == 3, "the 3 slow pages were never served at once"
    for job in jobs:
        band, _ = generated_colours(int(job.url.rsplit("=", 1)[1]))
        obj = cloud.s3.get_object(Bucket=cloud.resources.bucket, Key=f"{job.id}.png")
        assert close_to(png.decode(obj["Body"].read()).pixel(1200, 20), band)


@pytest.mark.parametrize("heartbeat", [True, False])
def test_heartbeat_keeps_a_slow_job_from_a_second_worker(
    cloud: Cloud, renderer, run, pages, heartbeat: bool
) -> None:
    """Section 15.2.6's warning, shown: a render longer than the visibility timeout is handed
    to another worker unless the first keeps extending the timeout."""
    [job] = cloud.producer.submit([pages.url(f"/slow?ms={3500 + heartbeat}")])
    worker = cloud.worker(renderer, visibility_timeout=2, heartbeat=heartbeat)

    async def scenario() -> int:
        assert await worker.poll_once() == 1
        await asyncio.sleep(2.6)  # past the visibility timeout, render still running
        other = await asyncio.to_thread(
            cloud.sqs.receive_message, QueueUrl=cloud.resources.queue_url, VisibilityTimeout=10
        )
        await worker.drain()
        return len(other.get("Messages", []))

    stolen = run(scenario())
    assert worker.stats.counts == {"done": 1}
    assert stolen == (0 if heartbeat else 1)
    assert cloud.store.status(job.id).state == ev.STATE_DONE


def test_last_failed_attempt_is_final_and_the_message_reaches_the_dlq(
    emulator, tmp_path: Path, renderer, run, pages
) -> None:
    cloud = Cloud(emulator, tmp_path, max_receive=2)
    bad = cloud.send_raw('{"id": "dead1", "url": "http://169.254.169.254/"}')
    worker = cloud.worker(renderer, visibility_timeout=1)

    async def until_dead() -> None:
        deadline = time.monotonic() + 15
        while cloud.counts(cloud.resources.dlq_url)[0] == 0 and time.monotonic() < deadline:
            await worker.poll_once()
        await worker.drain()

    run(until_dead())
    assert cloud.counts(cloud.resources.dlq_url) == (1, 0)
    assert [o.receive_count for o in worker.stats.outcomes] == [1, 2]
    status = cloud.store.status("dead1")
    assert status.state == ev.STATE_FAILED and status.final and "metadata" in (status.reason or "")
    assert "dead-letter" in ev.describe(status, "http://x/dead1.png")
    assert cloud.store.failure(bad).receive_count == 2  # type: ignore[union-attr]


def test_stop_event_ends_the_run_and_publishes_the_gallery(
    cloud: Cloud, renderer, run, pages
) -> None:
    [job] = cloud.producer.submit([pages.url("/forest.html")])
    worker = cloud.worker(renderer, wait_time=1)

    async def main() -> None:
        stop = asyncio.Event()
        runner = asyncio.ensure_future(worker.run(stop))
        deadline = time.monotonic() + 10
        while not worker.stats.counts["done"] and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(runner, 5)

    run(main())
    assert worker.stats.counts["done"] == 1
    page = cloud.s3.get_object(Bucket=cloud.resources.bucket, Key="index.html")["Body"].read()
    assert f"{job.id}.png".encode() in page and job.url.encode() in page


def test_the_worker_outlives_a_restart_of_the_cloud(fresh_emulator, tmp_path, renderer, run, pages):
    cloud = Cloud(fresh_emulator, tmp_path)
    worker = cloud.worker(renderer, wait_time=1)
    worker.settings = WorkerSettings(**{**worker.settings.__dict__, "max_backoff": 1.0})

    async def main() -> None:
        stop = asyncio.Event()
        runner = asyncio.ensure_future(worker.run(stop))
        await asyncio.sleep(0.5)
        # stopped, not killed: S3 state is saved debounced, so a kill -9 right after the
        # bucket was made could lose it, and this test is about the worker, not the emulator
        await asyncio.to_thread(fresh_emulator.stop)
        await asyncio.sleep(2.5)  # receives fail meanwhile
        assert not runner.done()
        await asyncio.to_thread(fresh_emulator.start)
        [job] = await asyncio.to_thread(cloud.producer.submit, [pages.url("/ocean.html")])
        deadline = time.monotonic() + 20
        while not worker.stats.counts["done"] and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        stop.set()
        await asyncio.wait_for(runner, 10)
        assert cloud.store.status(job.id).state == ev.STATE_DONE

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
