"""Exercise 7: the checker fails the template (a result per delivery), fails a worker that
remembers the ids it saw in its own memory (two consumers share none), and passes one that
lets the shared store refuse a second result."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.exercises.conftest import check, failed, start

pytestmark = pytest.mark.slow  # the checker runs the student's worker on real Chromium

ONE = "every job leaves exactly one result"
IN_MEMORY = """
seen = set()


def process(job, results):
    if job["id"] in seen:
        return
    seen.add(job["id"])
    results.add(job["id"], "rendered")
"""
SHARED = """
def process(job, results):
    results.add(job["id"], "rendered " + job["url"], only_if_new=True)
"""


def worker(folder: Path, code: str) -> Path:
    folder.mkdir()
    (folder / "worker.py").write_text(code)
    return folder


def test_idempotency(lab_env: dict[str, str], tmp_path: Path) -> None:
    start(lab_env, 7)
    status, shown, report = check(lab_env, 7)  # the template: a result per delivery
    assert status == 1 and failed(report) == [ONE], shown
    assert "more than one: job-" in shown

    status, _, report = check(lab_env, 7, cwd=worker(tmp_path / "memory", IN_MEMORY), text=False)
    assert status == 1 and failed(report) == [ONE], report

    status, _, report = check(lab_env, 7, cwd=worker(tmp_path / "shared", SHARED), text=False)
    assert status == 0 and report["points"] == report["max_points"] == 5, report
