"""Exercises 5 and 9 on LocalStack's core, run as a student runs them there: ``lab up``,
``lab exercise start N`` and ``lab check N --target localstack --endpoint URL`` (the cloud on
the command line only, so the checker must hand it to the student's producer and to the
worker it runs). Each checker fails the starting state and a plausible wrong solution, passes
a right one, and its ``--json`` gives points per check with each reason one plain sentence.
LocalStack has no event stream: these runs are the checkers' SQS-and-S3 side, the tests in
tests/exercises/ their event-stream side on the lab's own cloud."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.exercises.producers import HEAD, OTHER_ID, PLAIN_BODY, RIGHT, STATUS, TEMPLATE
from tests.support.lab import WEB_IPS
from tests.support.ports import free_port
from tests.support.waiting import wait_until
from tests.targets.conftest import LAB, LocalStack, lab_env, ok, one_sentence, run_lab

F = TypeVar("F", bound=Callable[..., Any])


def checker_run(test: F) -> F:
    """A checker run on LocalStack: slow (real workers on real Chromium; for exercise 9 a
    poison job through three receives, twice), and the first run also makes LocalStack's
    virtualenv."""
    test = pytest.mark.slow(test)
    test = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs chromium")(test)
    return pytest.mark.timeout(900)(test)


AFTER_WORKER = [
    "the worker reads your id and URL from the message",
    "the worker renders the PNG",
    "status then says done with the PNG's URL",
]


class Student:
    """A lab of the test's own on the shared LocalStack: its queue, dead-letter queue and
    bucket named after the test, its sample pages and web servers on free ports."""

    def __init__(self, tmp_path: Path, localstack: LocalStack) -> None:
        tag = re.sub(r"[^a-z0-9]", "", tmp_path.name.lower())[-20:]
        self.queue, self.dlq, self.bucket = f"ex-{tag}", f"ex-{tag}-dlq", f"ex-pictures-{tag}"
        self.localstack = localstack
        self.env = lab_env(
            tmp_path,
            LAB_URL2PNG_QUEUE=self.queue,
            LAB_URL2PNG_DLQ=self.dlq,
            LAB_URL2PNG_BUCKET=self.bucket,
            LAB_WEB_PORT=str(free_port(WEB_IPS)),
        )
        self.cloud = ("--target", "localstack", "--endpoint", localstack.endpoint)

    def lab(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """``lab ARGS --target localstack --endpoint URL``: nothing in the environment says
        where the cloud is."""
        return subprocess.run(
            [LAB, *args, *self.cloud],
            env=self.env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def check(self, number: int, cwd: Path | None = None) -> tuple[int, dict[str, Any]]:
        """``lab check N --target localstack --json``: its exit status and its report, whose
        every check has points and a reason in one plain sentence."""
        done = self.lab("check", str(number), "--json", cwd=cwd)
        assert "Traceback" not in done.stderr, done.stderr
        report = json.loads(done.stdout)
        assert report["stopped"] is None, report["stopped"]
        assert report["points"] == sum(c["points"] for c in report["checks"] if c["passed"])
        assert report["max_points"] == sum(c["points"] for c in report["checks"])
        for outcome in report["checks"]:
            assert isinstance(outcome["points"], int) and outcome["points"] >= 1, outcome
            reason = outcome["reason"]
            assert reason and reason == reason.strip() and "\n" not in reason, outcome
            assert "Traceback" not in reason and "the checker itself" not in reason, outcome
        return done.returncode, report

    def sqs(self) -> Any:
        return self.localstack.client("sqs")

    def dead_letters(self) -> int:
        sqs = self.sqs()
        dlq = sqs.get_queue_url(QueueName=self.dlq)["QueueUrl"]
        found = sqs.get_queue_attributes(
            QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(found["Attributes"]["ApproximateNumberOfMessages"])

    def policy(self, tries: int) -> None:
        """What the student sets with aws sqs set-queue-attributes."""
        sqs = self.sqs()
        url = sqs.get_queue_url(QueueName=self.queue)["QueueUrl"]
        dlq = sqs.get_queue_url(QueueName=self.dlq)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]
        redrive = {"deadLetterTargetArn": arn["QueueArn"], "maxReceiveCount": str(tries)}
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(redrive)})


def failed(report: dict[str, Any]) -> list[str]:
    return [c["title"] for c in report["checks"] if not c["passed"]]


def reason(report: dict[str, Any], title: str) -> str:
    [found] = [c["reason"] for c in report["checks"] if c["title"] == title]
    return str(found)


@pytest.fixture
def student(tmp_path: Path, localstack: LocalStack) -> Iterator[Student]:
    found = Student(tmp_path, localstack)
    assert "LocalStack running at" in ok(found.lab("up"))
    yield found
    found.lab("down")


@checker_run
def test_exercise_5_producer_on_localstack(student: Student, tmp_path: Path) -> None:
    assert "emptied the queue" in ok(student.lab("exercise", "start", "5"))

    def check_with(name: str, text: str) -> tuple[int, dict[str, Any]]:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "producer.py").write_text(text)
        return student.check(5, cwd=folder)

    # the starting state: the template
    status, report = check_with("template", TEMPLATE.read_text())
    assert status == 1 and report["max_points"] == 9 and report["points"] == 1, report
    assert reason(report, "submit returns a job id") == (
        "submit raised NotImplementedError: fill in the TODO in producer.py"
    )

    # wrong: the URL alone as the body; an id other than the message's
    status, report = check_with("plain", HEAD + PLAIN_BODY + STATUS)
    assert status == 1 and failed(report) == AFTER_WORKER, report
    assert reason(report, AFTER_WORKER[0]).startswith(
        "the worker could not read the message: body is not JSON"
    )
    assert reason(report, "a message went to the url2png queue") == (
        f"submit sent 1 message(s) to the queue {student.queue}"
    )
    status, report = check_with("other", HEAD + OTHER_ID + STATUS)
    assert status == 1 and failed(report) == AFTER_WORKER, report
    assert "but submit returned" in reason(report, AFTER_WORKER[0])

    # right: the book's producer, with a status that looks for the PNG
    status, report = check_with("right", HEAD + RIGHT + STATUS)
    assert status == 0 and report["points"] == 9, report
    website = f"http://{student.bucket}.s3-website.localhost.localstack.cloud:"
    assert f"returned 'done: {website}" in reason(report, AFTER_WORKER[2])

    # and in a terminal: the same checks, one line each
    shown = student.lab("check", "5", cwd=tmp_path / "right")
    assert shown.returncode == 0 and "9/9 points: all checks hold" in shown.stdout, shown.stdout


@checker_run
def test_exercise_9_dead_letters_on_localstack(student: Student) -> None:
    env = student.env
    assert "a web server that is down" in ok(student.lab("exercise", "start", "9"))
    status, report = student.check(9)
    assert status == 1 and report["points"] == 0, report
    assert reason(report, "the queue has a dead-letter queue").endswith("RedrivePolicy: none")

    student.policy(10)  # wrong: ten tries
    status, report = student.check(9)
    assert status == 1 and "a job gets 3 tries" in failed(report), report
    [tries] = [c for c in report["checks"] if c["title"] == "a job gets 3 tries"]
    assert tries["actual"] == "10"

    student.policy(3)
    worker = subprocess.Popen(
        [LAB, "worker", *student.cloud, "--visibility-timeout", "2", "--wait-time", "1"]
        + ["--no-gallery"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: student.dead_letters() == 1, timeout=90, interval=0.5)
        status, report = student.check(9)
        assert failed(report) == ["its cause is fixed", "it was moved back and rendered"], report
        assert reason(report, "the poison job went to the dead-letter queue") == (
            "its message was received 3 time(s) and moved to the dead-letter queue"
        )

        ok(student.lab("url2png", "dlq", "--redrive"))  # wrong: before the fix
        wait_until(lambda: student.dead_letters() == 1, 90, 0.5)  # set aside again
        status, report = student.check(9)
        assert status == 1 and failed(report) == [
            "its cause is fixed",
            "it was moved back and rendered",
        ], report

        # right: fix the cause (a web server on this machine, whatever the cloud), move it back
        ok(run_lab(env, "web", "start", WEB_IPS[2]))
        ok(student.lab("url2png", "dlq", "--redrive"))
        poison = json.loads((Path(env["LAB_STATE_DIR"]) / "exercise-09.json").read_text())
        wait_until(
            lambda: student.lab("url2png", "status", poison["id"]).stdout.startswith("done"),
            60,
            1.0,
        )
        status, report = student.check(9)
        assert status == 0 and report["points"] == report["max_points"] == 7, report
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
        run_lab(env, "web", "stop", WEB_IPS[2])


def test_exercises_5_and_9_are_listed_for_localstack_and_refused_on_aws(tmp_path: Path) -> None:
    """Where they run: the lab and LocalStack; on AWS, untried, still one sentence."""
    env = lab_env(tmp_path, LAB_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}")
    listing = ok(run_lab(env, "exercise", "list"))
    for number in (5, 9):
        assert re.search(rf"^ ?{number} .*\[lab, localstack\]", listing, re.M), listing
        line = one_sentence(run_lab(env, "check", str(number), "--target", "aws"))
        assert line.startswith(f"lab: exercise {number} does not run on aws:"), line
