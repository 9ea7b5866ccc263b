"""Exercise 6: the checker runs two real workers on 20 slow pages with the student's
worker.json: it fails the starting settings (2 s for a 3-second page), fails a timeout that
only just covers the render, and passes one that hides the message longer than a render."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.exercises.conftest import check, failed, start

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs chromium"),
]  # 20 slow jobs on real workers, several times
TIMEOUTS = "no duplicates caused by a visibility timeout"


def settings(folder: Path, timeout: int, heartbeat: bool = False) -> Path:
    folder.mkdir(exist_ok=True)
    data = {"visibility_timeout": timeout, "heartbeat": heartbeat}
    (folder / "worker.json").write_text(json.dumps(data))
    return folder


def test_visibility_timeout(lab_env: dict[str, str], tmp_path: Path) -> None:
    start(lab_env, 6)
    status, shown, report = check(lab_env, 6, cwd=settings(tmp_path / "given", 2))
    assert status == 1 and failed(report) == [TIMEOUTS], shown
    assert "because a visibility timeout ran out while a worker rendered" in shown

    status, _, report = check(lab_env, 6, cwd=settings(tmp_path / "tight", 3), text=False)
    assert status == 1 and failed(report) == [TIMEOUTS]  # a render takes more than 3 s

    status, _, report = check(lab_env, 6, cwd=settings(tmp_path / "right", 30), text=False)
    assert status == 0 and report["points"] == report["max_points"] == 5, report

    status, _, report = check(lab_env, 6, cwd=settings(tmp_path / "beat", 2, True), text=False)
    assert status == 0, report  # a short timeout the worker keeps extending
