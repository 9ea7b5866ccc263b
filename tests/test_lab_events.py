"""The lab's side of the event stream: ``lab.events`` (fetch, follow) and ``lab events``, as a
notebook or a student in a shell uses them, against real servers: the event log's endpoint
alone (``LogServer``), a server that is not the emulator, and the emulator stopped and started
again."""

from __future__ import annotations

import http.server
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.events.sqs import SqsQueueCreated, SqsSend
from lab import events
from lab.config import LabConfig
from lab.runtime import LabError
from tests.support.emulator import EmulatorProcess
from tests.support.events import LogServer
from tests.support.ports import free_port
from tests.support.waiting import wait_until

LAB = str(Path(sys.executable).parent / "lab")


def send(n: int, queue_name: str = "q") -> SqsSend:
    return SqsSend(queue=queue_name, message_id=f"m{n}", seq=n, delay=0)


@pytest.fixture
def server() -> Iterator[LogServer]:
    srv = LogServer(capacity=5).start()
    yield srv
    srv.stop()


@pytest.fixture
def not_the_emulator() -> Iterator[int]:
    """An HTTP server that answers 404 to everything, as LocalStack does for /_lab/."""

    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()


def config_for(port: int, tmp_path: Path) -> LabConfig:
    return LabConfig(host="127.0.0.1", port=port, state_dir=tmp_path / "state")


def lab_env(port: int, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAB_"))}
    env.update(LAB_PORT=str(port), LAB_STATE_DIR=str(tmp_path / "state"))
    return env


def lab(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([LAB, *args], env=env, capture_output=True, text=True, timeout=60)


class Follower:
    """``lab.events.follow`` on a thread, its items in a queue the test reads."""

    def __init__(self, config: LabConfig, **kwargs: object) -> None:
        self.items: queue.Queue = queue.Queue()
        self.error: BaseException | None = None
        self.stopping = False
        self.thread = threading.Thread(target=self._run, args=(config, kwargs), daemon=True)
        self.thread.start()

    def _run(self, config: LabConfig, kwargs: dict) -> None:
        try:
            for item in events.follow(config, wait=1, **kwargs):
                self.items.put(item)
                if self.stopping:
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self.error = exc

    def next(self, timeout: float = 20) -> object:
        return self.items.get(timeout=timeout)

    def next_event(self, timeout: float = 20) -> dict:
        """The next event, skipping notices."""
        deadline = time.monotonic() + timeout
        while True:
            item = self.next(max(0.1, deadline - time.monotonic()))
            if isinstance(item, dict):
                return item

    def stop(self) -> None:
        self.stopping = True


# -- fetch -------------------------------------------------------------------------------------


def test_fetch_reads_one_batch(server: LogServer, tmp_path: Path) -> None:
    server.publish(send(1), SqsQueueCreated(queue="jobs"), send(2))
    config = server.config(tmp_path)
    batch = events.fetch(config)
    assert batch.stream == server.log.stream and batch.last_id == 3 and batch.missed == 0
    assert [e["type"] for e in batch.events] == ["sqs.send", "sqs.queue_created", "sqs.send"]
    only = events.fetch(config, after=1, type_prefix="sqs.send")
    assert [e["id"] for e in only.events] == [3] and only.next_after == 3


def test_fetch_says_plainly_when_nothing_answers(tmp_path: Path) -> None:
    with pytest.raises(events.EmulatorUnreachable) as err:
        events.fetch(config_for(free_port(), tmp_path))
    assert "is not answering (connection refused)" in str(err.value)
    assert "lab up" in str(err.value)


def test_an_endpoint_without_the_stream_is_named(not_the_emulator: int, tmp_path: Path) -> None:
    with pytest.raises(LabError) as err:
        events.fetch(config_for(not_the_emulator, tmp_path))
    assert "has no lab event stream" in str(err.value)
    assert not isinstance(err.value, events.EmulatorUnreachable)


def test_a_refused_query_carries_the_reason(server: LogServer, tmp_path: Path) -> None:
    with pytest.raises(LabError) as err:
        events.fetch(server.config(tmp_path), limit=0)
    assert "limit must be from 1 to 10,000" in str(err.value)


# -- follow ------------------------------------------------------------------------------------


def test_follow_yields_events_as_they_come_and_reports_a_gap(
    server: LogServer, tmp_path: Path
) -> None:
    server.publish(*(send(n) for n in range(1, 9)))  # the ring holds 5: 3 are gone
    follower = Follower(server.config(tmp_path))
    gap = follower.next()
    assert isinstance(gap, events.Gap)
    assert (gap.after, gap.missed, gap.first_id) == (0, 3, 4)
    assert "3 events after #0 were dropped" in gap.sentence()
    assert [follower.next_event()["id"] for _ in range(5)] == [4, 5, 6, 7, 8]
    server.publish(SqsQueueCreated(queue="later"))
    assert follower.next_event()["queue"] == "later"
    follower.stop()


def test_follow_refuses_an_emulator_that_is_not_up(tmp_path: Path) -> None:
    with pytest.raises(events.EmulatorUnreachable):
        next(events.follow(config_for(free_port(), tmp_path)))


def test_follow_can_wait_for_the_emulator_to_come_up(tmp_path: Path) -> None:
    srv = LogServer(capacity=10)
    follower = Follower(config_for(srv.port, tmp_path), wait_for_emulator=True)
    assert isinstance(follower.next(), events.Disconnected)
    srv.start()
    try:
        srv.publish(SqsQueueCreated(queue="first"))
        assert follower.next_event()["queue"] == "first"
    finally:
        follower.stop()
        srv.stop()


def test_follow_continues_across_an_emulator_restart_and_says_so(
    fresh_emulator: EmulatorProcess, tmp_path: Path
) -> None:
    sqs = fresh_emulator.client("sqs")
    config = config_for(fresh_emulator.port, tmp_path)
    follower = Follower(config, type_prefix="sqs.queue_created")
    sqs.create_queue(QueueName="before-restart")
    before = follower.next_event()
    assert before["queue"] == "before-restart"

    fresh_emulator.stop()
    down = follower.next()
    assert isinstance(down, events.Disconnected), down
    fresh_emulator.start()
    restarted = follower.next()
    assert isinstance(restarted, events.Restarted), restarted
    assert restarted.old_stream == before["stream"] != restarted.new_stream

    fresh_emulator.client("sqs").create_queue(QueueName="after-restart")
    after = follower.next_event()
    assert (after["queue"], after["stream"]) == ("after-restart", restarted.new_stream)
    follower.stop()
    assert follower.error is None


def test_a_cursor_from_an_earlier_run_is_noticed(server: LogServer, tmp_path: Path) -> None:
    server.publish(send(1), send(2))
    follower = Follower(server.config(tmp_path), after=40, stream="an-earlier-run")
    restarted = follower.next()
    assert isinstance(restarted, events.Restarted) and restarted.new_stream == server.log.stream
    assert [follower.next_event()["id"] for _ in range(2)] == [1, 2]
    follower.stop()


# -- lab events --------------------------------------------------------------------------------


def test_lab_events_prints_one_line_per_event(server: LogServer, tmp_path: Path) -> None:
    server.publish(SqsQueueCreated(queue="jobs"), send(1, "jobs"), send(2, "jobs"))
    env = lab_env(server.port, tmp_path)
    run = lab(env, "events")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 3
    assert "sqs.queue_created" in lines[0] and "queue=jobs" in lines[0]
    assert "sqs.send" in lines[2] and "message_id=m2" in lines[2] and " 3 " in lines[2]
    assert run.stderr == ""

    as_json = lab(env, "events", "--json", "--type", "sqs.send", "--after", "1")
    records = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [(r["id"], r["type"], r["message_id"]) for r in records] == [
        (2, "sqs.send", "m1"),
        (3, "sqs.send", "m2"),
    ]
    assert all(r["stream"] == server.log.stream for r in records)

    limited = lab(env, "events", "--limit", "1")
    assert len(limited.stdout.splitlines()) == 1
    assert "more events after #1: lab events --after 1" in limited.stderr


def test_lab_events_notes_what_the_ring_dropped(server: LogServer, tmp_path: Path) -> None:
    server.publish(*(send(n) for n in range(1, 8)))
    run = lab(lab_env(server.port, tmp_path), "events", "--json")
    assert [json.loads(line)["id"] for line in run.stdout.splitlines()] == [3, 4, 5, 6, 7]
    assert "2 events after #0 were dropped" in run.stderr


def test_lab_events_without_an_emulator_is_one_sentence(tmp_path: Path) -> None:
    for args in (["events"], ["events", "--follow"]):
        run = lab(lab_env(free_port(), tmp_path), *args)
        assert run.returncode == 1
        assert run.stderr.startswith("lab: the emulator at http://127.0.0.1:")
        assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr
        assert run.stdout == ""


def test_lab_events_against_another_endpoint_says_so(not_the_emulator: int, tmp_path: Path) -> None:
    run = lab(lab_env(not_the_emulator, tmp_path), "events")
    assert run.returncode == 1 and "has no lab event stream" in run.stderr
    assert "Traceback" not in run.stderr


def test_lab_events_follow_stops_after_limit(server: LogServer, tmp_path: Path) -> None:
    server.publish(send(1))
    proc = subprocess.Popen(
        [LAB, "events", "--follow", "--limit", "2", "--json"],
        env=lab_env(server.port, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert json.loads(proc.stdout.readline())["id"] == 1
    server.publish(send(2))
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert [json.loads(line)["id"] for line in out.splitlines()] == [2]


def test_ctrl_c_ends_lab_events_follow_cleanly(server: LogServer, tmp_path: Path) -> None:
    server.publish(send(1))
    proc = subprocess.Popen(
        [LAB, "events", "--follow"],
        env=lab_env(server.port, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert "sqs.send" in proc.stdout.readline()
    wait_until(server.long_polled, 10, 0.02)  # the follower is in its long poll now
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert "Traceback" not in err and "Aborted" not in err
