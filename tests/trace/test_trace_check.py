"""``lab trace check`` and ``lab.trace.check`` on real runs: jobs sent with the URL2PNG
producer, a worker (its renderer faked, nothing else) processing them against the emulator,
and the checker reading what happened from the event stream."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from lab import trace
from lab.cli import main
from lab.worker.cli import serve
from lab.worker.loop import WorkerSettings
from tests.support.emulator import EmulatorProcess
from tests.support.fake_renderer import SITE, FakeRenderer
from tests.support.ports import free_port
from tests.support.waiting import wait_until_async
from tests.trace.kit import Cloud, post, run_until_empty


def lab(cloud: Cloud | None, *args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, list(args), env=env or (cloud.env() if cloud else {}))


def check_args(cloud: Cloud, *more: str) -> list[str]:
    return ["trace", "check", "--queue", cloud.queue, "--since", str(cloud.start), *more]


def test_a_clean_run_is_reported_clean(emulator, tmp_path: Path) -> None:
    cloud = Cloud(emulator, tmp_path)
    jobs = cloud.producer.submit([f"{SITE}/page/{n}" for n in range(8)])
    options = WorkerSettings(
        queue_url="", bucket="", wait_time=1, parallel=2, gallery=False, name="w-clean"
    )

    async def run() -> Any:
        stop = asyncio.Event()
        worker = asyncio.ensure_future(serve(cloud.config, options, stop, renderer=FakeRenderer()))
        await wait_until_async(lambda: cloud.counts() == (0, 0), 20, 0.1, blocking=True)
        stop.set()
        return await asyncio.wait_for(worker, 20)

    worker = asyncio.run(run())
    assert worker.stats.counts == {"done": 8}

    result = lab(cloud, *check_args(cloud))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"Queue {cloud.queue} (events #{cloud.start + 1} to #")
    assert lines[1] == "  No job was delivered twice (8 sent)."
    assert "  Every job was first delivered in the order it was sent." in lines
    assert lines[-1].startswith(
        "  sent 8, delivered 8 (8 receives), deleted 8, lost 0, duplicated 0, out of order "
    )
    assert lines[-1].endswith("queued 0, in flight 0")
    assert not any("dropped" in line for line in lines)

    [report] = trace.check(cloud.config, queue=cloud.queue, since=cloud.start)
    assert (report.sent, report.delivered, report.deleted, report.deliveries) == (8, 8, 8, 8)
    assert not report.lost and not report.duplicated and report.missed == 0
    assert report.producer_pairs == 8 * 7 // 2  # the workers reported the producer's seq
    assert {j.id for j in jobs} == {
        e["job_id"] for e in cloud.events("worker.deleted") if e["worker"] == "w-clean"
    }

    # serve() says when the worker began and ended, around its steps
    mine = [e for e in cloud.events("worker.") if e["worker"] == "w-clean"]
    started, stopped = mine[0], mine[-1]
    assert started["type"] == "worker.started"
    assert (started["queue"], started["visibility_timeout"], started["parallel"]) == (
        cloud.queue,
        120,
        2,
    )
    assert (started["heartbeat"], started["renderer"]) == (False, "FakeRenderer")
    assert stopped["type"] == "worker.stopped" and stopped["counts"] == {"done": 8}

    as_json = lab(cloud, *check_args(cloud, "--json"))
    assert as_json.exit_code == 0, as_json.output
    [found] = json.loads(as_json.stdout)
    assert found["queue"] == cloud.queue
    assert (found["sent"], found["delivered"], found["deleted"], found["lost"]) == (8, 8, 8, [])
    assert found["duplicated"] == {"messages": 0, "by_cause": {}, "extra_deliveries": []}
    assert found["out_of_order"]["producer_pairs"] == 28
    assert found["events"] == {
        "after": cloud.start,
        "last_id": found["events"]["last_id"],
        "missed": 0,
        "complete": True,
    }
    assert found["events"]["last_id"] > cloud.start
    assert found["summary"][0] == "No job was delivered twice (8 sent)."


def test_a_visibility_timeout_running_out_during_a_render_is_named_as_the_cause(
    emulator, tmp_path: Path
) -> None:
    """Section 15.2.6's warning: a render longer than the visibility timeout, no heartbeat."""
    cloud = Cloud(emulator, tmp_path, max_receive=10)  # redelivered, never dead-lettered
    [job] = cloud.producer.submit([f"{SITE}/slow/3"])
    renderer = FakeRenderer()
    worker = cloud.worker(
        renderer, name="w-slow", visibility_timeout=1, parallel=2, heartbeat=False
    )
    asyncio.run(run_until_empty(worker, cloud))
    assert renderer.calls[job.url] >= 2  # rendered again while the first render went on
    assert worker.stats.counts["done"] == 1 and worker.stats.counts["duplicate"] >= 1

    result = lab(cloud, *check_args(cloud))
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[1].strip()
    assert first.startswith("1 of 1 jobs were delivered "), first
    assert f"because its visibility timeout ran out while job {job.id} was being worked on" in first

    [found] = json.loads(lab(cloud, *check_args(cloud, "--json")).stdout)
    extra = found["duplicated"]["extra_deliveries"]
    assert found["duplicated"]["messages"] == 1
    assert found["duplicated"]["by_cause"] == {"visibility_timeout": len(extra)}
    assert {(e["job_id"], e["previous_worker"]) for e in extra} == {(job.id, "w-slow")}
    assert [e["receive_count"] for e in extra] == list(range(2, len(extra) + 2))
    assert found["deleted"] == 1 and found["lost"] == []


def test_nothing_after_the_cursor_and_a_queue_that_does_not_exist(emulator, tmp_path: Path) -> None:
    cloud = Cloud(emulator, tmp_path)
    quiet = lab(cloud, *check_args(cloud))  # the queue exists; nothing happened to it yet
    assert quiet.exit_code == 0, quiet.output
    assert "No message was delivered twice (0 sent)." in quiet.stdout
    typo = lab(cloud, "trace", "check", "--queue", "no-such-queue-here")
    assert typo.exit_code == 1
    assert typo.stderr.strip() == (
        "lab: there is no queue named 'no-such-queue-here' (`lab events --type sqs.` shows the "
        "queues)"
    )
    beyond = lab(cloud, "trace", "check", "--since", "999999999")
    assert beyond.exit_code == 1 and "there is no event after #999999999" in beyond.stderr


def test_without_an_emulator_one_sentence_and_exit_1(tmp_path: Path) -> None:
    env = {"LAB_PORT": str(free_port()), "LAB_STATE_DIR": str(tmp_path / "state")}
    result = lab(None, "trace", "check", env=env)
    assert result.exit_code == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("lab: the emulator at http://127.0.0.1:") and "not answering" in line
    assert "Traceback" not in result.output


class SmallRing(EmulatorProcess):
    """An emulator that keeps only the last 100 events."""

    def options(self) -> list[str]:
        return [*super().options(), "--events-capacity", "100"]


def test_events_the_ring_dropped_are_said_plainly(tmp_path: Path) -> None:
    emulator = SmallRing(tmp_path / "state").start()
    try:
        cloud = Cloud(emulator, tmp_path)
        cloud.producer.submit([f"{SITE}/page/{n}" for n in range(20)])
        polling = {"type": "worker.polling", "worker": "w-busy", "queue": cloud.queue}
        assert post(emulator.endpoint, {"events": [polling] * 150})[0] == 200
        result = lab(cloud, *check_args(cloud))
        assert result.exit_code == 0, result.output
        first = result.stdout.splitlines()[1].strip()
        assert first.startswith("The emulator dropped ")
        assert first.endswith("events before they could be read (it keeps the last "
                              "LAB_EVENTS_CAPACITY), so these counts may be incomplete.")  # fmt: skip
        [found] = json.loads(lab(cloud, *check_args(cloud, "--json")).stdout)
        assert found["events"]["missed"] >= 20 and not found["events"]["complete"]
    finally:
        emulator.stop()
