"""Shared fixtures: the emulator as a real server process on a free loopback port."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.emulator import EmulatorProcess


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """One emulator shared by the tests that do not restart it."""
    proc = EmulatorProcess(tmp_path_factory.mktemp("shared") / "state").start()
    yield proc
    proc.stop()


@pytest.fixture
def fresh_emulator(tmp_path: Path) -> Iterator[EmulatorProcess]:
    """An emulator of the test's own, for tests that stop, kill or restart it."""
    proc = EmulatorProcess(tmp_path / "state").start()
    yield proc
    proc.stop()


@pytest.fixture
def aws_env(emulator: EmulatorProcess) -> dict[str, str]:
    """Environment for child processes (the AWS CLI, node) that reach the shared emulator."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(emulator.env())
    return env
