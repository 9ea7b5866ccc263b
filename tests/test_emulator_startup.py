"""The emulator answers as soon as it listens: SQS and ``/_lab/`` at once, while moto still
loads in the background; requests for moto made meanwhile wait for it and see the state it
restored. The load is held back here by a gate file, so the test sees the in-between state
for as long as it needs."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from tests.support.emulator import REPO, EmulatorProcess

# ``python -m emulator``, with moto's load waiting until the file argv[1] exists.
GATED = """
import sys, time
from pathlib import Path
import emulator.__main__ as entry
import emulator.moto_bridge as bridge

gate, real = Path(sys.argv[1]), bridge.create_moto_app

def held(settings):
    while not gate.exists():
        time.sleep(0.02)
    return real(settings)

bridge.create_moto_app = held
entry.main(sys.argv[2:])
"""


def health(emulator: EmulatorProcess) -> dict:
    with urllib.request.urlopen(emulator.endpoint + "/_lab/health", timeout=5) as resp:
        return json.loads(resp.read())


def start_gated(emulator: EmulatorProcess, gate: Path) -> subprocess.Popen:
    argv = [sys.executable, "-c", GATED, str(gate), *emulator.options()]
    with open(emulator.log, "ab") as log:
        proc = subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, emulator.log.read_text()[-2000:]
        try:
            health(emulator)
            return proc
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the emulator did not answer within 30 s")


def test_sqs_answers_while_moto_loads_and_moto_requests_wait_for_its_state(tmp_path):
    emulator = EmulatorProcess(tmp_path / "state").start()
    emulator.client("s3").create_bucket(Bucket="kept")
    emulator.stop()

    gate = tmp_path / "gate"
    proc = start_gated(emulator, gate)
    try:
        services = health(emulator)["services"]
        assert services["sqs"] == "running"
        for name in ("s3", "s3web", "ec2", "elasticloadbalancing", "cloudformation"):
            assert services[name] == "starting", services
        sqs = emulator.client("sqs")
        url = sqs.create_queue(QueueName="early")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="before moto")
        assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "before moto"

        buckets: list[list[str]] = []
        ask = threading.Thread(
            target=lambda: buckets.append(
                [b["Name"] for b in emulator.client("s3").list_buckets()["Buckets"]]
            )
        )
        ask.start()
        time.sleep(0.5)
        assert buckets == []  # waits for moto ...
        gate.touch()
        ask.join(30)
        assert buckets == [["kept"]]  # ... and sees what it restored
        assert set(health(emulator)["services"].values()) == {"running"}
    finally:
        gate.touch()
        proc.terminate()
        proc.wait(15)
