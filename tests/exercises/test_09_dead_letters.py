"""Exercise 9: the checker fails the starting state (no dead-letter queue), fails a policy of
10 tries and a redrive before the cause is fixed, and passes the whole way: policy with 3
tries, the poison job set aside, its web server started, the job moved back and rendered."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from lab import aws
from lab.config import LabConfig
from lab.url2png.status import get as job_status
from tests.exercises.conftest import check, failed, start
from tests.support.lab import LAB, run_lab
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow  # a poison job through three receives

CHROMIUM = Path("/usr/bin/chromium")


def policy(config: LabConfig, tries: int) -> None:
    sqs = aws.client("sqs", config)
    url = sqs.get_queue_url(QueueName=config.url2png_queue)["QueueUrl"]
    dlq = sqs.get_queue_url(QueueName=config.url2png_dlq)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]
    redrive = {"deadLetterTargetArn": arn["QueueArn"], "maxReceiveCount": str(tries)}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(redrive)})


def dead_letters(config: LabConfig) -> int:
    sqs = aws.client("sqs", config)
    dlq = sqs.get_queue_url(QueueName=config.url2png_dlq)["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def poison_id(config: LabConfig) -> str:
    return json.loads((config.state_dir / "exercise-09.json").read_text())["id"]


def test_dead_letters(lab_env: dict[str, str], config: LabConfig) -> None:
    assert "a web server that is down" in start(lab_env, 9)
    status, shown, report = check(lab_env, 9)
    assert status == 1 and "RedrivePolicy: none" in shown and report["points"] == 0

    policy(config, 10)  # wrong: ten tries
    status, shown, report = check(lab_env, 9)
    assert "a job gets 3 tries" in failed(report) and "saw 10" in shown

    policy(config, 3)
    worker = subprocess.Popen(
        [LAB, "worker", "--visibility-timeout", "2", "--wait-time", "1", "--no-gallery"],
        env=lab_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until(lambda: dead_letters(config) == 1, timeout=90)
        status, shown, report = check(lab_env, 9)
        assert failed(report) == ["its cause is fixed", "it was moved back and rendered"], shown

        run_lab(lab_env, "url2png", "dlq", "--redrive")  # wrong: before the fix
        wait_until(lambda: dead_letters(config) == 1, timeout=90)  # set aside again
        status, shown, report = check(lab_env, 9)
        assert status == 1 and "its cause is fixed" in failed(report)

        run_lab(lab_env, "web", "start", config.web_ips[2])  # right: fix, then move back
        run_lab(lab_env, "url2png", "dlq", "--redrive")
        wait_until(lambda: job_status(poison_id(config), config)["state"] == "done", 60)
        status, shown, report = check(lab_env, 9)
        assert status == 0, shown
        assert report["points"] == report["max_points"] == 7
    finally:
        worker.terminate()
        worker.wait(30)
