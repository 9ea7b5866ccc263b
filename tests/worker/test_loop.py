"""The worker loop against in-memory stand-ins for boto3's SQS and S3 clients and a fake
renderer: the order of cloud calls and what happens to each kind of bad message. The real
SQS engine and Chromium meet in the end-to-end tests once the engine exists."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from lab.worker.job import PoisonMessage, parse_job
from lab.worker.loop import Worker, WorkerSettings
from lab.worker.renderer import RenderTimeout
from lab.worker.url_policy import PolicyError

PNG = b"\x89PNG\r\n\x1a\n fake"


class NotFound(Exception):
    response = {"Error": {"Code": "404"}}


class FakeCloud:
    def __init__(self, bodies: list[str]) -> None:
        self.queue = [
            {"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": body}
            for i, body in enumerate(bodies)
        ]
        self.objects: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    # SQS
    def receive_message(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(("receive_message", kw))
        taken, self.queue = (
            self.queue[: kw["MaxNumberOfMessages"]],
            self.queue[kw["MaxNumberOfMessages"] :],
        )
        return {"Messages": taken} if taken else {}

    def delete_message(self, **kw: Any) -> None:
        self.calls.append(("delete_message", kw))

    def change_message_visibility(self, **kw: Any) -> None:
        self.calls.append(("change_message_visibility", kw))

    # S3
    def head_object(self, **kw: Any) -> dict[str, Any]:
        if kw["Key"] not in self.objects:
            raise NotFound()
        return {}

    def put_object(self, **kw: Any) -> None:
        self.calls.append(("put_object", kw))
        self.objects[kw["Key"]] = kw

    def names(self) -> list[str]:
        return [name for name, _ in self.calls if name != "receive_message"]


class FakeRenderer:
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.urls: list[str] = []

    async def render(self, url: str, width: int = 1280, height: int = 800, timeout: float = 30):
        self.urls.append(url)
        await asyncio.sleep(self.delay)
        if "169.254" in url:
            raise PolicyError(url, "169.254.169.254 is the instance metadata service")
        if "hang" in url:
            raise RenderTimeout(url, f"no page after {timeout:g} s")
        return PNG

    async def close(self) -> None:
        pass


def job(job_id: str, url: str = "http://127.0.0.1:8081/sunrise.html") -> str:
    return json.dumps({"id": job_id, "url": url, "seq": 1})


def make(bodies: list[str], **settings: Any) -> tuple[Worker, FakeCloud, FakeRenderer]:
    cloud, renderer = FakeCloud(bodies), FakeRenderer(settings.pop("delay", 0.0))
    worker = Worker(cloud, cloud, renderer, WorkerSettings("q", "bucket", **settings))
    return worker, cloud, renderer


async def run_all(worker: Worker) -> None:
    while await worker.poll_once():
        pass
    await worker.drain()


def test_render_upload_then_delete() -> None:
    worker, cloud, _ = make([job("a1")])
    asyncio.run(run_all(worker))
    assert cloud.names() == ["put_object", "delete_message"]
    put = cloud.objects["a1.png"]
    assert put["ContentType"] == "image/png" and put["ACL"] == "public-read"
    assert put["Body"] == PNG and put["Bucket"] == "bucket"
    receive = cloud.calls[0][1]
    assert receive["MaxNumberOfMessages"] == 1 and receive["VisibilityTimeout"] == 120
    assert worker.stats.counts["done"] == 1


@pytest.mark.parametrize(
    ("body", "kind", "words"),
    [
        ("not json", "poison", "not JSON"),
        ('{"url": "http://x/"}', "poison", "'id'"),
        ('["a"]', "poison", "not an object"),
        (job("../etc"), "poison", "id"),
        (job("b2", "http://169.254.169.254/latest/meta-data/"), "refused", "metadata"),
        (job("b3", "http://127.0.0.1:8081/hang"), "failed", "no page after"),
    ],
)
def test_bad_messages_are_left_on_the_queue_with_a_reason(body: str, kind: str, words: str) -> None:
    worker, cloud, _ = make([body, job("ok")])
    asyncio.run(run_all(worker))
    outcomes = {o.message_id: o for o in worker.stats.outcomes}
    assert outcomes["m0"].kind == kind and words in outcomes["m0"].reason
    assert outcomes["m1"].kind == "done"  # the worker carried on
    deleted = [kw["ReceiptHandle"] for name, kw in cloud.calls if name == "delete_message"]
    assert deleted == ["r1"]


def test_duplicate_delivery_is_acknowledged_without_rendering_again() -> None:
    worker, cloud, renderer = make([job("d1"), job("d1")])
    asyncio.run(run_all(worker))
    assert renderer.urls == ["http://127.0.0.1:8081/sunrise.html"]
    assert list(cloud.objects) == ["d1.png"]
    assert worker.stats.counts == {"done": 1, "duplicate": 1}
    assert cloud.names() == ["put_object", "delete_message", "delete_message"]


def test_parallel_slots_receive_several_messages_at_once() -> None:
    worker, cloud, _ = make([job(f"p{i}") for i in range(6)], max_messages=3, parallel=3, delay=0.2)

    async def main() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await run_all(worker)
        return loop.time() - start

    elapsed = asyncio.run(main())
    assert worker.stats.counts["done"] == 6
    assert elapsed < 1.0  # 2 rounds of 3, not 6 in a row
    assert cloud.calls[0][1]["MaxNumberOfMessages"] == 3


def test_heartbeat_extends_visibility_while_rendering() -> None:
    worker, cloud, _ = make([job("h1")], heartbeat=True, visibility_timeout=2, delay=1.3)
    asyncio.run(run_all(worker))
    beats = [kw for name, kw in cloud.calls if name == "change_message_visibility"]
    assert beats and beats[0] == {"QueueUrl": "q", "ReceiptHandle": "r0", "VisibilityTimeout": 2}


def test_stop_event_ends_the_run() -> None:
    worker, _, _ = make([job("s1")], wait_time=0)

    async def main() -> None:
        stop = asyncio.Event()
        runner = asyncio.ensure_future(worker.run(stop))
        await asyncio.sleep(0.2)
        stop.set()
        await asyncio.wait_for(runner, 2)

    asyncio.run(main())
    assert worker.stats.counts["done"] == 1


def test_parse_job() -> None:
    parsed = parse_job(job("abc-1"))
    assert (parsed.id, parsed.key, parsed.seq) == ("abc-1", "abc-1.png", 1)
    for bad in ['{"id": "x", "url": ""}', '{"id": "x", "url": "u", "seq": "1"}', "", "null"]:
        with pytest.raises(PoisonMessage):
            parse_job(bad)
