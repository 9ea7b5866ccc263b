"""URL2PNG as a user runs it: ``lab worker`` processes and ``lab url2png`` commands in their
own processes, configured only through ``LAB_*`` variables, against the shared emulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lab import aws
from lab.config import LabConfig
from lab.pages.server import BackgroundPageServer, PageServer
from lab.url2png.resources import Url2Png, ensure
from lab.url2png.store import JobStore

LAB = str(Path(sys.executable).parent / "lab")
CHROMIUM = "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium")


@pytest.fixture(scope="session")
def pages() -> Iterator[PageServer]:
    with BackgroundPageServer() as server:
        yield server


@dataclass
class LabCloud:
    config: LabConfig
    env: dict[str, str]
    resources: Url2Png
    sqs: Any
    s3: Any
    store: JobStore
    tmp: Path

    def lab(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [LAB, *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def worker(self, *args: str, name: str = "w") -> WorkerProcess:
        return WorkerProcess(self, name, list(args)).start()

    def queue_counts(self, url: str) -> tuple[int, int]:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return (
            int(attrs["ApproximateNumberOfMessages"]),
            int(attrs["ApproximateNumberOfMessagesNotVisible"]),
        )

    def pngs(self) -> set[str]:
        keys = set()
        token = None
        while True:
            kwargs = {"Bucket": self.resources.bucket, "Delimiter": "/"}
            if token:
                kwargs["ContinuationToken"] = token
            page = self.s3.list_objects_v2(**kwargs)
            keys |= {o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(".png")}
            if not page.get("IsTruncated"):
                return keys
            token = page["NextContinuationToken"]


def make_cloud(emulator: Any, tmp: Path, max_receive: int = 3) -> LabCloud:
    name = uuid.uuid4().hex[:10]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAB_"))}
    env.update(
        LAB_PORT=str(emulator.port),
        LAB_STATE_DIR=str(tmp / "state"),
        LAB_URL2PNG_QUEUE=f"u2p-{name}",
        LAB_URL2PNG_DLQ=f"u2p-{name}-dlq",
        LAB_URL2PNG_BUCKET=f"u2p-{name}",
        LAB_URL2PNG_MAX_RECEIVE=str(max_receive),
    )
    config = LabConfig.from_env(env)
    sqs, s3 = aws.client("sqs", config), aws.client("s3", config)
    resources = ensure(config, sqs, s3)
    return LabCloud(config, env, resources, sqs, s3, JobStore(s3, resources.bucket), tmp)


@pytest.fixture
def cloud(emulator, tmp_path: Path) -> LabCloud:
    return make_cloud(emulator, tmp_path)


class WorkerProcess:
    """``lab worker ARGS`` with its log in a file (which survives a SIGKILL)."""

    def __init__(self, cloud: LabCloud, name: str, args: list[str]) -> None:
        self.cloud = cloud
        self.name = name
        self.args = args
        self.log = cloud.tmp / f"worker-{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [LAB, "worker", "--name", self.name, *self.args],
                env=self.cloud.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_ready(self, timeout: float = 30) -> WorkerProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready: worker" in self.text():
                return self
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited {self.proc.returncode}:\n{self.text()}")
            time.sleep(0.1)
        raise AssertionError(f"worker not ready after {timeout} s:\n{self.text()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 20) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
        return self.proc.returncode

    def kill9(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    """Every worker a test starts goes in here, so none outlives the test."""
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        if worker.alive():
            worker.stop(timeout=10)


def chromium_children_of(pid: int) -> list[int]:
    """Live Chromium processes whose profile names the worker ``pid`` (lab-chromium-PID-...)."""
    found = []
    marker = f"lab-chromium-{pid}-".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found.append(int(entry.name))
    return found
