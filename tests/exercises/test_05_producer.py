"""Exercise 5: the checker fails the template, a producer that sends the URL alone as the body
and one that returns an id other than the message's; it passes the book's producer with a
status that looks for the PNG. Each is a producer.py in a folder of its own, where `lab check
5` runs (the checker prefers the current folder's producer.py)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab.config import LabConfig
from tests.exercises.conftest import failed, start
from tests.exercises.producers import HEAD, OTHER_ID, PLAIN_BODY, RIGHT, STATUS, TEMPLATE
from tests.support.lab import LAB, isolated_env, lab_down, run_lab
from tests.support.ports import free_port

pytestmark = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs chromium")


@pytest.fixture(scope="module")
def lab_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A lab of the module's own, its sample pages on a port of their own too."""
    env = isolated_env(Path(tmp_path_factory.mktemp("lab")))
    env.update(LAB_PAGES_PORT=str(free_port()))
    try:
        run_lab(env, "up")
        yield env
    finally:  # a lab up that failed half-way may have started its emulator
        lab_down(env)


AFTER_WORKER = [
    "the worker reads your id and URL from the message",
    "the worker renders the PNG",
    "status then says done with the PNG's URL",
]


def check_in(
    env: dict[str, str], folder: Path, text: str | None = None
) -> tuple[int, str, dict[str, Any]]:
    """``lab check 5`` (and ``--json``) run in ``folder``, with ``text`` as its producer.py."""
    folder.mkdir(exist_ok=True)
    (folder / "producer.py").write_text(text if text is not None else TEMPLATE.read_text())
    shown, graded = (
        subprocess.run(
            [LAB, "check", "5", *more],
            env=env,
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=240,
        )  # fmt: skip
        for more in ([], ["--json"])
    )
    assert "Traceback" not in shown.stdout + shown.stderr, shown.stdout + shown.stderr
    return shown.returncode, shown.stdout, json.loads(graded.stdout)


def test_producer(lab_env: dict[str, str], config: LabConfig, tmp_path: Path) -> None:
    shown = start(lab_env, 5)
    assert "producer.py" in shown and "emptied the queue url2png" in shown, shown

    status, shown, report = check_in(lab_env, tmp_path / "template")
    assert status == 1 and report["max_points"] == 9 and report["points"] == 1, shown
    assert "submit raised NotImplementedError: fill in the TODO in producer.py" in shown, shown

    status, shown, report = check_in(lab_env, tmp_path / "plain", HEAD + PLAIN_BODY + STATUS)
    assert status == 1 and failed(report) == AFTER_WORKER, shown
    assert "the worker could not read the message: body is not JSON" in shown, shown

    status, shown, report = check_in(lab_env, tmp_path / "other", HEAD + OTHER_ID + STATUS)
    assert status == 1 and failed(report) == AFTER_WORKER, shown
    assert "but submit returned" in shown, shown

    status, shown, report = check_in(lab_env, tmp_path / "right", HEAD + RIGHT + STATUS)
    assert status == 0 and report["points"] == 9, shown
