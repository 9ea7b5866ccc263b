"""`lab chaos` and `lab clock` against a real emulator: the controls, their errors, what they
keep across a restart, and what they do to SQS as a client sees it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from emulator.clock import ScaledClock
from tests.support.emulator import EmulatorProcess
from tests.support.waiting import wait_until

LAB = str(Path(sys.executable).parent / "lab")
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(emu: EmulatorProcess, path: str, body: object | None = None) -> tuple[int, dict]:
    data = (
        None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    )
    request = urllib.request.Request(emu.endpoint + path, data=data)
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def lab(emu: EmulatorProcess, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAB_"))}
    env.update(LAB_PORT=str(emu.port), LAB_STATE_DIR=str(emu.state_dir))
    return subprocess.run([LAB, *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "path, body, words",
    [
        ("/_lab/chaos", {"queue": "nope"}, "there is no queue named 'nope'."),
        ("/_lab/chaos", {"duplicate": 1.5}, "duplicate must be a probability from 0 to 1"),
        ("/_lab/chaos", {"reorder": "often"}, "reorder must be a probability"),
        ("/_lab/chaos", {"delay": "3-1"}, "delay must be MIN-MAX seconds"),
        ("/_lab/chaos", {"preset": "storm"}, "there is no preset 'storm'"),
        ("/_lab/chaos", {"volume": 11}, "unknown setting 'volume'"),
        ("/_lab/chaos", {"queue": "jobs.fifo"}, "jobs.fifo is a FIFO queue."),
        ("/_lab/chaos", b"{not json", "the body is not JSON."),
        ("/_lab/chaos", [1, 2], "the body must be a JSON object."),
        ("/_lab/clock", {"speed": 101}, "speed must be from 1 to 100, not 101."),
        ("/_lab/clock", {"speed": 0.5}, "speed must be from 1 to 100"),
        ("/_lab/clock", {"speed": "fast"}, "speed must be a number from 1 to 100"),
        ("/_lab/clock", {}, "say how fast"),
        ("/_lab/clock", b"", "the body is not JSON."),
    ],
)
def test_bad_control_requests_say_why_and_change_nothing(emulator, path, body, words):
    emulator.client("sqs").create_queue(QueueName="jobs.fifo", Attributes={"FifoQueue": "true"})
    _, before = call(emulator, path)
    status, answer = call(emulator, path, body)
    assert status == 400 and words in answer["error"], answer
    _, after = call(emulator, path)
    before.pop("now", None), after.pop("now", None), before.pop("offset", None)
    after.pop("offset", None)
    assert after == before


def test_settings_survive_a_restart_and_show_in_health(fresh_emulator):
    sqs = fresh_emulator.client("sqs")
    sqs.create_queue(QueueName="jobs")
    status, state = call(fresh_emulator, "/_lab/chaos", {"preset": "classroom", "seed": 42})
    assert status == 200 and state["enabled"] and state["in_force"]["jobs"]["duplicate"] == 0.2
    call(fresh_emulator, "/_lab/clock", {"speed": 20})
    fresh_emulator.stop()
    fresh_emulator.start()
    _, state = call(fresh_emulator, "/_lab/chaos")
    assert state["enabled"] and state["seed"] == 42
    _, clock = call(fresh_emulator, "/_lab/clock")
    assert clock["speed"] == 20 and clock["offset"] >= 0
    _, health = call(fresh_emulator, "/_lab/health")
    assert health["clock"] == {"speed": 20.0} and health["chaos"] == {"enabled": True}


def test_the_cli_switches_and_reports(fresh_emulator):
    fresh_emulator.client("sqs").create_queue(QueueName="url2png")
    fresh_emulator.client("sqs").create_queue(
        QueueName="ordered.fifo", Attributes={"FifoQueue": "true"}
    )
    on = lab(fresh_emulator, "chaos", "on", "--seed", "7", "--duplicate", "0.3", "--delay", "0-2")
    assert on.returncode == 0, on.stderr
    assert "delivery model: on (seed 7)" in on.stdout
    assert "url2png: duplicates 30%" in on.stdout and "extra delay 0-2 s" in on.stdout
    status = lab(fresh_emulator, "chaos", "status").stdout
    assert "ordered.fifo: nothing (FIFO)" in status and "exactly-once" in status
    bad = lab(fresh_emulator, "chaos", "on", "--queue", "missing")
    assert bad.returncode == 1 and bad.stderr.strip() == "lab: there is no queue named 'missing'."
    assert "Traceback" not in bad.stderr
    off = lab(fresh_emulator, "chaos", "off")
    assert "delivery model: off" in off.stdout
    fast = lab(fresh_emulator, "clock", "--speed", "20")
    assert fast.stdout.strip() == "clock: 20x (120 s of visibility timeout last 6 s)"
    assert "clock: 20x faster" in lab(fresh_emulator, "status").stdout
    assert lab(fresh_emulator, "clock", "--speed", "500").returncode == 2


def test_the_same_seed_gives_the_same_effects_over_the_api(fresh_emulator):
    """One client, one fixed sequence of calls on a fresh queue: the injected effects are the
    same for the same seed and differ for another (copies appear only after the run)."""

    def run(seed: int) -> list[str]:
        fresh_emulator.stop()
        for path in fresh_emulator.state_dir.glob("sqs.sqlite3*"):
            path.unlink()
        fresh_emulator.start()
        sqs = fresh_emulator.client("sqs")
        url = sqs.create_queue(QueueName="seeded")["QueueUrl"]
        settings = {"queue": "seeded", "seed": seed, "duplicate": 0.3, "duplicate_after": 900}
        call(fresh_emulator, "/_lab/chaos", {**settings, "reorder": 0.6})
        for i in range(20):
            sqs.send_message(QueueUrl=url, MessageBody=f"job {i}")
        order = []
        while len(order) < 20:
            got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
            for message in got:
                order.append(message["Body"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return order

    first = run(11)
    assert first != [f"job {i}" for i in range(20)]
    assert run(11) == first
    assert run(12) != first


def test_a_duplicate_reaches_a_client_after_its_delete(fresh_emulator):
    sqs = fresh_emulator.client("sqs")
    url = sqs.create_queue(QueueName="dup")["QueueUrl"]
    call(fresh_emulator, "/_lab/chaos", {"queue": "dup", "duplicate": 1.0, "duplicate_after": 0.5})
    sqs.send_message(QueueUrl=url, MessageBody="once")
    first = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"][0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"][0]
    assert (again["MessageId"], again["Body"]) == (first["MessageId"], "once")


def test_at_20x_a_visibility_timeout_runs_out_twenty_times_sooner(fresh_emulator):
    sqs = fresh_emulator.client("sqs")
    url = sqs.create_queue(QueueName="slow", Attributes={"VisibilityTimeout": "20"})["QueueUrl"]
    call(fresh_emulator, "/_lab/clock", {"speed": 20})
    sqs.send_message(QueueUrl=url, MessageBody="render me")
    assert sqs.receive_message(QueueUrl=url)["Messages"]
    started = time.monotonic()
    wait_until(lambda: sqs.receive_message(QueueUrl=url).get("Messages"), 10, 0.05)
    took = time.monotonic() - started
    assert 0.7 <= took <= 3.0, took  # 20 emulated seconds are one real second
    # and a 20-second long poll on an empty queue lasts about one real second
    started = time.monotonic()
    sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20, VisibilityTimeout=600)
    sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)
    assert time.monotonic() - started < 4


def test_the_scaled_clock_runs_faster_without_jumping():
    real = [1000.0]
    clock = ScaledClock(lambda: real[0])
    real[0] += 10
    assert clock.now() == 1010.0
    clock.set_speed(20)
    assert clock.now() == 1010.0  # no jump when the speed changes
    real[0] += 1
    assert clock.now() == 1030.0 and clock.offset == 19.0
    assert clock.real_seconds(120) == 6.0
    resumed = ScaledClock(lambda: real[0], speed=20, offset=clock.offset)
    assert resumed.now() == clock.now()


def test_control_changes_are_events(fresh_emulator):
    fresh_emulator.client("sqs").create_queue(QueueName="jobs")
    call(fresh_emulator, "/_lab/clock", {"speed": 10})
    call(fresh_emulator, "/_lab/chaos", {"queue": "jobs", "reorder": 0.5, "seed": 3})
    call(fresh_emulator, "/_lab/chaos", {"queue": "nope"})  # refused: no event
    _, page = call(fresh_emulator, "/_lab/events?type=control.")
    kinds = [(e["type"], e.get("speed"), e.get("seed")) for e in page["events"]]
    assert kinds == [("control.clock_speed", 10.0, None), ("control.chaos", None, 3)]
    assert page["events"][1]["queues"]["jobs"]["reorder"] == 0.5
