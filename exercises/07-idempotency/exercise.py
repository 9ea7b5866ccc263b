"""Exercise 7 (section 15.2.6): idempotency. The delivery model delivers some jobs twice, as
SQS may; the checker runs the student's ``process`` in two consumer processes and counts the
results each job left: exactly one, whoever got which copy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from lab.exercises import Grader, Stop
from lab.exercises.context import Lab, delivery_model, from_template, student_file
from lab.runtime import child_env

TITLE = "Idempotency: every job leaves exactly one result, however often it is delivered"
SECTION = "15.2.6"
RUNS_ON = ("lab",)  # the duplicates come from the lab's delivery model
FOLDER = Path(__file__).resolve().parent
WORKER, TEMPLATE = "worker.py", "worker.template.py"
QUEUE, BUCKET = "exercise-7", "exercise-7-results"
JOBS, CONSUMERS, SEED = 20, 2, 7  # about 10 copies: two consumers both get some
DUPLICATES = {"duplicate": 0.5, "duplicate_after": "0.5-2"}

NOTEBOOK_CELLS = (
    ("markdown", "## Your worker\nEdit `worker.py` (in this folder), then run the checker below."),
    ("code", 'from pathlib import Path\n\nprint(Path("worker.py").read_text())'),
)


def worker_file() -> Path:
    return student_file(FOLDER, WORKER)


def start(lab: Lab) -> None:
    lab.client("sqs").create_queue(QueueName=QUEUE)
    s3 = lab.client("s3")
    if lab.config.region == "us-east-1":
        s3.create_bucket(Bucket=BUCKET)
    else:
        s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": lab.config.region}
        )
    from_template(lab, FOLDER, WORKER, TEMPLATE)
    lab.say(f"queue {QUEUE} and bucket {BUCKET} are ready; lab check 7 runs your worker")


def _empty(lab: Lab, queue_url: str) -> None:
    """A run starts from nothing: no results, no messages left from a run before."""
    s3, sqs = lab.client("s3"), lab.client("sqs")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    while True:
        found = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
        if not found.get("Messages"):
            return
        for message in found["Messages"]:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def check(lab: Lab, grade: Grader) -> None:
    sqs = lab.client("sqs")
    try:
        queue_url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
        lab.client("s3").head_bucket(Bucket=BUCKET)
    except Exception:  # noqa: BLE001 (not started: say how)
        raise Stop(f"queue {QUEUE} or bucket {BUCKET} is missing: lab exercise start 7") from None
    worker = worker_file()
    if not worker.exists():
        raise Stop(f"there is no {WORKER}: lab exercise start 7 writes one")
    _empty(lab, queue_url)
    mark = lab.mark()
    lab.say(f"running your process() in {CONSUMERS} consumers on {JOBS} jobs...")
    with delivery_model(lab, QUEUE, SEED, **DUPLICATES):
        ids = [f"job-{n:02d}" for n in range(JOBS)]
        for job_id in ids:
            body = f'{{"id": "{job_id}", "url": "{lab.config.pages_url}/sample/{job_id[-2:]}"}}'
            sqs.send_message(QueueUrl=queue_url, MessageBody=body)
        runs = [
            subprocess.Popen(
                [sys.executable, str(FOLDER / "consumer.py"), str(worker), queue_url, BUCKET],
                env=child_env(lab.config),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )  # fmt: skip
            for _ in range(CONSUMERS)
        ]
        said = [run.communicate(timeout=150)[0] for run in runs]
    errors = [line for out in said for line in out.splitlines() if line.strip()]
    grade.that(
        "process() runs",
        not errors,
        "it returned for every delivery"
        if not errors
        else f"{errors[0]} (and {len(errors) - 1} more)",
        hint="fill in the TODO of worker.py; an exception leaves the message for another try",
    )
    copies = [
        e
        for e in lab.events("sqs.receive", after=mark)
        if e.get("queue") == QUEUE and e.get("injected")
    ]
    grade.that(
        "some jobs were delivered twice",
        bool(copies),
        f"the delivery model delivered {len(copies)} copies again (seed {SEED})",
        hint="nothing to do: the checker turns duplicates on for its queue",
    )
    s3 = lab.client("s3")
    counts = {
        job_id: int(s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{job_id}/").get("KeyCount", 0))
        for job_id in ids
    }
    twice = sorted(j for j, n in counts.items() if n > 1)
    none = sorted(j for j, n in counts.items() if n == 0)
    grade.that(
        "every job leaves exactly one result",
        not twice and not none,
        f"{sum(n == 1 for n in counts.values())} of {JOBS} jobs have one result"
        + (f"; more than one: {', '.join(twice)}" if twice else "")
        + (f"; none: {', '.join(none)}" if none else ""),
        hint="two consumers share no memory, only the bucket: ask it (results.count) or let it "
        "refuse a second result (only_if_new=True)",
        expected=f"1 result for each of {JOBS} jobs",
        actual=f"{len(twice)} with more, {len(none)} with none",
        points=3,
    )
