"""The emulator as a real server process on a free loopback port, as ``lab up`` starts it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

from bench.common import stop_process
from tests.support.ports import free_port

REPO = Path(__file__).resolve().parent.parent.parent


class EmulatorProcess:
    """One ``python -m emulator`` process; can be stopped, killed and started again on the same
    port and state folder, as ``lab down`` / ``lab up`` and a crash would."""

    def __init__(self, state_dir: Path, port: int | None = None) -> None:
        self.state_dir = state_dir
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.log = state_dir.parent / f"emulator-{self.port}.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def options(self) -> list[str]:
        """The emulator's settings, as ``lab up`` passes them: on its command line."""
        return [
            "--port",
            str(self.port),
            "--state-dir",
            str(self.state_dir),
            # EC2 instances' web servers get addresses of this emulator's own, so two emulators
            # in one test run never fight over 127.0.1.x:80.
            "--instance-network",
            f"127.{self.port >> 8}.{self.port & 255}.0/24",
        ]

    def start(self) -> EmulatorProcess:
        argv = [sys.executable, "-m", "emulator", *self.options()]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"emulator exited: {self.log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(self.endpoint + "/_lab/health", timeout=0.5).read()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("emulator did not answer within 30 s")

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def client(self, service: str, **config: object):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 0}, read_timeout=60, **config),
        )
