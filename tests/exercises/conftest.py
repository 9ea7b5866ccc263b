"""A whole lab for the exercise tests (`lab up` as a subprocess, in a state folder of the
module's own), and `lab exercise start` / `lab check` run as a student runs them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab.config import LabConfig
from tests.support.lab import isolated_env, lab_down, run_lab


@pytest.fixture(scope="module")
def lab_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    env = isolated_env(Path(tmp_path_factory.mktemp("lab")))
    run_lab(env, "up")
    yield env
    lab_down(env)


@pytest.fixture(scope="module")
def config(lab_env: dict[str, str]) -> LabConfig:
    return LabConfig.from_env(lab_env)


def start(env: dict[str, str], number: int) -> str:
    return run_lab(env, "exercise", "start", str(number), timeout=180).stdout


def check(
    env: dict[str, str], number: int, cwd: Path | None = None, text: bool = True
) -> tuple[int, str, dict[str, Any]]:
    """``lab check N`` as a student runs it (exit status, what it printed), and the same
    checker's ``--json``; ``text`` False: the JSON run only (a checker that takes long)."""
    graded = run_lab(env, "check", str(number), "--json", check=False, timeout=300, cwd=cwd)
    report = json.loads(graded.stdout)
    if not text:
        assert "Traceback" not in graded.stderr
        return graded.returncode, "", report
    shown = run_lab(env, "check", str(number), check=False, timeout=300, cwd=cwd)
    assert "Traceback" not in shown.stdout + shown.stderr
    return shown.returncode, shown.stdout, report


def failed(report: dict[str, Any]) -> list[str]:
    return [c["title"] for c in report["checks"] if not c["passed"]]
