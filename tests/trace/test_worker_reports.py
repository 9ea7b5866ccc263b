"""Workers report their steps to the emulator's event stream: each step after the SQS event it
follows, with the job it is about, batched in the background, and not at all where the
endpoint has no stream (LocalStack, AWS)."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from lab.worker.reporting import MAX_REPORTS, Reporter, about
from tests.support.fake_renderer import SITE, FakeRenderer
from tests.support.ports import free_port
from tests.support.waiting import wait_until
from tests.trace.kit import Cloud, NoStreamServer

REPORTING = "lab.worker.reporting"


async def run_all(worker: Any) -> None:
    """Poll until a receive comes back empty, finish what is in flight, send the reports."""
    while await worker.poll_once():
        pass
    await worker.drain()
    await asyncio.to_thread(worker.reporter.close)


def of_message(events: list[dict[str, Any]], message_id: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("message_id") == message_id]


def test_each_step_is_reported_after_the_sqs_event_it_follows(emulator, tmp_path: Path) -> None:
    cloud = Cloud(emulator, tmp_path)
    [good] = cloud.producer.submit([f"{SITE}/sunrise.html"])
    poison = cloud.sqs.send_message(QueueUrl=cloud.resources.queue_url, MessageBody="not json")
    [failing] = cloud.producer.submit([f"{SITE}/fail"])
    worker = cloud.worker(FakeRenderer(), name="w-steps", wait_time=0, visibility_timeout=30)
    asyncio.run(run_all(worker))
    assert worker.stats.counts == {"done": 1, "poison": 1, "failed": 1}
    assert worker.reporter.dropped == 0 and worker.reporter.sent > 0
    events = cloud.events()

    steps = of_message(events, good.message_id)
    mine = [e for e in steps if e["type"].startswith("worker.")]
    assert [e["type"] for e in mine] == [
        "worker.received",
        "worker.rendering",
        "worker.uploaded",
        "worker.deleted",
    ]
    kinds = [e["type"] for e in steps]
    assert kinds.index("sqs.receive") < kinds.index("worker.received")
    assert kinds.index("sqs.delete") < kinds.index("worker.deleted")
    receive = next(e for e in steps if e["type"] == "sqs.receive")
    for event in mine:
        assert event["worker"] == "w-steps" and event["queue"] == cloud.queue
        assert (event["job_id"], event["seq"], event["producer"]) == (good.id, 1, "prod-1")
        assert event["receive_count"] == 1 and len(event["receipt"]) == 16
        if "receipt" in receive:  # the engine names the delivery by the same digest
            assert event["receipt"] == receive["receipt"]
    rendering, uploaded = mine[1], mine[2]
    assert rendering["url"] == good.url
    assert uploaded["key"] == f"{good.id}.png" and uploaded["bytes"] > 100

    bad = [e for e in of_message(events, poison["MessageId"]) if e["type"].startswith("worker.")]
    assert [e["type"] for e in bad] == ["worker.received", "worker.failed"]
    assert bad[1]["kind"] == "poison" and "not JSON" in bad[1]["reason"]
    assert (bad[1]["job_id"], bad[1]["seq"], bad[1]["final"]) == (None, None, False)

    failed = [e for e in of_message(events, failing.message_id) if e["type"] == "worker.failed"]
    assert [(e["kind"], e["job_id"], e["seq"]) for e in failed] == [("failed", failing.id, 2)]
    assert "ERR_CONNECTION_REFUSED" in failed[0]["reason"] and not failed[0]["final"]

    types = [e["type"] for e in events if e.get("worker") == "w-steps"]
    assert types[0] == "worker.polling"  # alive, asking, before it had anything
    # and the receive that came back empty, after the last message it got (a job still
    # finishing may report after it: the worker polls again while a page renders)
    last_received = max(i for i, kind in enumerate(types) if kind == "worker.received")
    assert "worker.polling" in types[last_received + 1 :]


def test_the_last_attempt_is_reported_final(emulator, tmp_path: Path) -> None:
    cloud = Cloud(emulator, tmp_path, max_receive=1)
    [job] = cloud.producer.submit([f"{SITE}/fail"])
    worker = cloud.worker(FakeRenderer(), name="w-final", wait_time=0, visibility_timeout=30)
    asyncio.run(run_all(worker))
    [failed] = [e for e in cloud.events("worker.failed") if e["job_id"] == job.id]
    assert failed["final"] and failed["receive_count"] == 1


def test_a_duplicate_is_reported_and_acknowledged(emulator, tmp_path: Path) -> None:
    cloud = Cloud(emulator, tmp_path)
    [job] = cloud.producer.submit([f"{SITE}/sample/11"])
    message = cloud.sqs.receive_message(
        QueueUrl=cloud.resources.queue_url,
        VisibilityTimeout=30,
        AttributeNames=["ApproximateReceiveCount"],
        MessageAttributeNames=["All"],
    )["Messages"][0]
    worker = cloud.worker(FakeRenderer(), name="w-dup")

    async def twice() -> list[str]:
        first = await worker.handle(message)
        second = await worker.handle(message)  # the same delivery again: the PNG is there
        await asyncio.to_thread(worker.reporter.close)
        return [first.kind, second.kind]

    assert asyncio.run(twice()) == ["done", "duplicate"]
    steps = [e["type"] for e in cloud.events("worker.") if e.get("job_id") == job.id]
    assert steps == [
        "worker.received",
        "worker.rendering",
        "worker.uploaded",
        "worker.deleted",
        "worker.received",
        "worker.duplicate",
        "worker.deleted",
    ]
    [duplicate] = [e for e in cloud.events("worker.duplicate") if e["job_id"] == job.id]
    assert duplicate["rendered"] is False


def test_reports_are_batched_and_keep_their_order(emulator, tmp_path: Path) -> None:
    cloud = Cloud(emulator, tmp_path)
    reporter = Reporter(emulator.endpoint, "w-batch")
    message = {"MessageId": "m-batch", "ReceiptHandle": "rh", "Attributes": {}}
    started = time.monotonic()
    total = 2 * MAX_REPORTS + 500
    for n in range(total):
        fields = about(message, cloud.queue, f"job{n}", n)
        reporter.report("received", **{**fields, "receive_count": n})
    assert time.monotonic() - started < 2.0  # queued, not sent, while the caller goes on
    reporter.close(timeout=30)
    assert (reporter.sent, reporter.dropped) == (total, 0)
    counts = [e["receive_count"] for e in cloud.events("worker.") if e["worker"] == "w-batch"]
    assert counts == list(range(total))


def test_a_worker_against_an_endpoint_without_the_stream_stops_reporting_quietly(
    emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=REPORTING)
    cloud = Cloud(emulator, tmp_path)
    cloud.producer.submit([f"{SITE}/ocean.html", f"{SITE}/forest.html"])
    for status in (404, 405):
        with NoStreamServer(status) as elsewhere:
            reporter = Reporter(elsewhere.endpoint, f"w-{status}", linger=0.01)
            worker = cloud.worker(FakeRenderer(), reporter, wait_time=0)
            if status == 404:
                asyncio.run(run_all(worker))
                assert worker.stats.counts == {"done": 2}  # the work does not depend on it
            else:
                for _ in range(5):
                    reporter.report("polling", queue=cloud.queue)
                wait_until(lambda r=reporter: not r.enabled, 10, 0.05)
                for _ in range(5):
                    reporter.report("polling", queue=cloud.queue)
                reporter.close()
            assert not reporter.enabled
            assert elsewhere.requests == [("POST", "/_lab/events")]  # asked once, then never
        lines = [r for r in caplog.records if "has no lab event stream" in r.getMessage()]
        assert len(lines) == 1 and lines[0].levelno == logging.INFO
        assert f"answered {status}" in lines[0].getMessage()
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        caplog.clear()


def test_a_failed_post_is_dropped_and_a_hanging_endpoint_never_blocks_the_worker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=REPORTING)
    nobody = Reporter(f"http://127.0.0.1:{free_port()}", "w-nobody", linger=0.01)
    nobody.report("polling", queue="q")
    wait_until(lambda: nobody.dropped == 1, 10, 0.05)
    assert nobody.enabled  # the emulator may come back: only 404/405 end reporting
    nobody.report("polling", queue="q")
    nobody.close()
    assert (nobody.sent, nobody.dropped) == (0, 2)
    assert any("could not report" in r.getMessage() for r in caplog.records)
    assert all(r.levelno == logging.DEBUG for r in caplog.records)

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        hanging = Reporter(f"http://127.0.0.1:{port}", "w-hang", timeout=30)
        started = time.monotonic()
        for _ in range(5000):
            hanging.report("polling", queue="q")
        assert time.monotonic() - started < 1.0
        hanging.close(timeout=0.5)
        assert time.monotonic() - started < 3.0


def test_an_unknown_step_is_a_bug_at_once() -> None:
    with pytest.raises(ValueError, match="no worker step 'done'"):
        Reporter(None, "w").report("done")
