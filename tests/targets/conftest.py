"""Fixtures for the other targets: LocalStack's core running on the host (no Docker, no auth
token: bench/localstack.py), and the lab's emulator standing in for AWS.

LocalStack's core needs Python 3.13 and a virtualenv of its own; the fixture makes it the
first time (``~/.cache/decoupling-lab/localstack-venv``, kept for every later run), so a fresh
CI machine runs these tests too. Where it cannot be made (no Python 3.13, no package index),
the tests are skipped with the reason, except under CI (``CI`` set), where that fails them:
CI must not pass by skipping."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from tests.stack.conftest import StackEmulator
from tests.support.ports import free_port
from tests.support.waiting import wait_until

LAB = str(Path(sys.executable).parent / "lab")


@dataclass
class LocalStack:
    """A LocalStack core of the tests' own on a free port."""

    port: int

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )


@pytest.fixture(scope="session")
def localstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    from bench import localstack as core

    try:
        python = core.ensure_venv(say=lambda line: print(line, file=sys.stderr))
    except core.Unavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"LocalStack's core cannot be set up on this CI machine: {exc}")
        pytest.skip(f"LocalStack's core cannot be set up here: {exc}")
    port = free_port()
    root = tmp_path_factory.mktemp("localstack")
    proc = core.start(python, port, root)
    try:
        wait_until(
            lambda: (
                proc.poll() is not None
                or core.services_available(f"http://127.0.0.1:{port}", ("sqs", "s3"))
            ),
            timeout=90,
        )
        assert proc.poll() is None, f"LocalStack's core exited with {proc.returncode}"
        yield LocalStack(port)
    finally:
        core.stop(proc)


def lab_env(tmp_path: Path, **more: str) -> dict[str, str]:
    """A lab of the test's own: its state folder and sample pages' port, no AWS_ or LAB_
    variable of the caller; AWS's credential files pointed away, so nothing of the machine's
    own account can be used."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAB_"))}
    (tmp_path / "home").mkdir(exist_ok=True)
    env.update(
        LAB_STATE_DIR=str(tmp_path / "state"),
        LAB_PAGES_PORT=str(free_port()),
        HOME=str(tmp_path / "home"),
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    env.update(more)
    return env


def run_lab(
    env: dict[str, str], *args: str, input: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LAB, *args], env=env, capture_output=True, text=True, timeout=timeout, input=input
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    """What a command that must succeed printed."""
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def one_sentence(done: subprocess.CompletedProcess[str]) -> str:
    """A failure as a user sees it: exit status 1, one ``lab: ...`` line, no traceback."""
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lab: "), done.stderr
    return lines[0]


@pytest.fixture
def stand_in(tmp_path: Path) -> Iterator[StackEmulator]:
    """The lab's emulator standing in for AWS (--target aws --endpoint ...): its instances on
    a loopback network of their own, its listener 80 on a free port."""
    proc = StackEmulator(tmp_path / "emulator").start()
    yield proc
    proc.stop()
