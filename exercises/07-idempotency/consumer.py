"""The checker's consumer for exercise 7 (run as a process of its own, two at once): receives
from the exercise's queue, calls the student's ``process`` for each delivery, deletes the
message after it returns. Stops after a few seconds without messages.

    python consumer.py WORKER_PY QUEUE_URL BUCKET
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
import uuid

from lab import aws
from lab.config import LabConfig

IDLE = 6.0  # seconds without a message before it stops (injected copies come within 3 s)
LIMIT = 90.0


class Results:
    """The results store the student's ``process`` writes to: objects under ``JOB/``."""

    def __init__(self, s3: object, bucket: str) -> None:
        self.s3, self.bucket = s3, bucket

    def add(self, job_id: str, text: str, only_if_new: bool = False) -> bool:
        key = f"{job_id}/result.txt" if only_if_new else f"{job_id}/{uuid.uuid4().hex}.txt"
        extra = {"IfNoneMatch": "*"} if only_if_new else {}
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=text.encode(), **extra)  # type: ignore[attr-defined]
        except self.s3.exceptions.ClientError as exc:  # type: ignore[attr-defined]
            if exc.response["Error"]["Code"] in (
                "PreconditionFailed",
                "ConditionalRequestConflict",
            ):
                return False
            raise
        return True

    def count(self, job_id: str) -> int:
        found = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=f"{job_id}/")  # type: ignore[attr-defined]
        return int(found.get("KeyCount", 0))


def main(worker_py: str, queue_url: str, bucket: str) -> int:
    spec = importlib.util.spec_from_file_location("student_worker", worker_py)
    assert spec is not None and spec.loader is not None
    student = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(student)
    config = LabConfig.from_env()
    sqs, s3 = aws.client("sqs", config), aws.client("s3", config)
    results = Results(s3, bucket)
    started = last = time.monotonic()
    while time.monotonic() - last < IDLE and time.monotonic() - started < LIMIT:
        reply = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1, VisibilityTimeout=10)
        for message in reply.get("Messages", []):
            last = time.monotonic()
            try:
                student.process(json.loads(message["Body"]), results)
            except Exception as exc:  # noqa: BLE001 (the student's code: say it, go on)
                print(f"process raised {type(exc).__name__}: {exc}", flush=True)
                continue
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
