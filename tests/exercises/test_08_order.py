"""Exercise 8: the checker fails the template (applies as it comes), fails an orderer that
sorts each receive's batch only, and passes one that holds early events until their turn, and
a FIFO queue with the template's pass-through."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab import aws
from lab.config import LabConfig
from tests.exercises.conftest import check, failed, start

pytestmark = pytest.mark.slow  # the checker runs the student's consumer on real Chromium

IN_ORDER = "apply saw every event once, in order"
BATCH_SORT = """
class Orderer:
    def __init__(self, apply):
        self.apply, self.batch = apply, []

    def receive(self, event):
        self.batch.append(event)
        if len(self.batch) >= 5:
            for held in sorted(self.batch, key=lambda e: e["seq"]):
                self.apply(held)
            self.batch = []
"""
HOLD = """
class Orderer:
    def __init__(self, apply):
        self.apply, self.early, self.next = apply, {}, 0

    def receive(self, event):
        self.early[event["seq"]] = event
        while self.next in self.early:
            self.apply(self.early.pop(self.next))
            self.next += 1
"""


def orderer(folder: Path, code: str) -> Path:
    folder.mkdir()
    (folder / "orderer.py").write_text(code)
    return folder


def test_order(lab_env: dict[str, str], config: LabConfig, tmp_path: Path) -> None:
    start(lab_env, 8)
    status, shown, report = check(lab_env, 8)
    assert status == 1 and failed(report) == [IN_ORDER], shown
    assert "delivered them out of order" in shown and "pair(s) out of order" in shown

    status, _, report = check(lab_env, 8, cwd=orderer(tmp_path / "sort", BATCH_SORT), text=False)
    assert status == 1 and failed(report) == [IN_ORDER], report

    status, _, report = check(lab_env, 8, cwd=orderer(tmp_path / "hold", HOLD), text=False)
    assert status == 0 and report["points"] == report["max_points"] == 5, report

    # the other way: a FIFO queue, and the template that applies as it comes
    aws.client("sqs", config).create_queue(
        QueueName="exercise-8.fifo", Attributes={"FifoQueue": "true"}
    )
    status, shown, report = check(lab_env, 8)
    assert status == 0 and "a FIFO queue kept the order" in shown, shown
