"""Looking into the dead-letter queue and sending its messages back.

SQS has no "peek": reading a message hides it for the visibility timeout. So listing receives
every message with a short hold, then releases them all at once (ChangeMessageVisibility 0),
which leaves the queue as it was. Sending back is the plain receive, send to the source queue,
delete from the DLQ, in that order: a crash in between leaves a duplicate, which the workers
handle, never a lost job. (AWS also offers StartMessageMoveTask; the plain calls work on every
SQS, the emulator and LocalStack included.)
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any

from lab.url2png import records as rec
from lab.url2png.store import JobStore
from lab.worker.job import ID_PATTERN

HOLD = 30  # seconds a listed message stays hidden if the release fails


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    body: str
    receive_count: int  # how often it was received from the DLQ (listing counts too)
    job_id: str | None
    url: str | None
    reason: str
    kind: str
    attempts: int | None  # receives in the source queue, from the worker's failure record
    receipt_handle: str = ""
    attributes: dict[str, Any] | None = None


def explain(message: dict[str, Any], store: JobStore) -> DeadLetter:
    """Why this message is here: the worker's failure record (by MessageId, which the move to
    the DLQ keeps), else what the body itself shows."""
    body = message.get("Body", "")
    job_id = url = None
    try:
        data = json.loads(body)
        if isinstance(data, dict):
            job_id = data.get("id") if isinstance(data.get("id"), str) else None
            url = data.get("url") if isinstance(data.get("url"), str) else None
    except ValueError:
        pass
    record = store.failure(message["MessageId"])
    if record is not None:
        reason, kind, attempts = record.reason, record.kind, record.receive_count
    else:
        reason, kind, attempts = "no failure recorded (no worker saw it fail)", "unknown", None
    return DeadLetter(
        message_id=message["MessageId"],
        body=body,
        receive_count=int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
        job_id=job_id,
        url=url,
        reason=reason,
        kind=kind,
        attempts=attempts,
        receipt_handle=message["ReceiptHandle"],
        attributes=message.get("MessageAttributes"),
    )


def _receive_all(sqs: Any, dlq_url: str, limit: int, hold: int) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    while len(seen) < limit:
        reply = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=min(10, limit - len(seen)),
            VisibilityTimeout=hold,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = reply.get("Messages", [])
        if not messages:
            break
        for message in messages:
            seen[message["MessageId"]] = message
    return list(seen.values())


def peek(sqs: Any, store: JobStore, dlq_url: str, limit: int = 100) -> list[DeadLetter]:
    """The DLQ's messages with their reasons, left in the DLQ."""
    messages = _receive_all(sqs, dlq_url, limit, HOLD)
    try:
        return [explain(m, store) for m in messages]
    finally:
        _release(sqs, dlq_url, messages)


def _release(sqs: Any, dlq_url: str, messages: list[dict[str, Any]]) -> None:
    for start in range(0, len(messages), 10):
        chunk = messages[start : start + 10]
        with contextlib.suppress(Exception):  # if it fails, they reappear after HOLD anyway
            sqs.change_message_visibility_batch(
                QueueUrl=dlq_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(chunk)
                ],
            )


def redrive(
    sqs: Any, store: JobStore, dlq_url: str, queue_url: str, limit: int = 100
) -> list[DeadLetter]:
    """Move up to ``limit`` messages back to the source queue; returns what was moved. The job
    is marked queued again, so its status stops saying failed."""
    moved = []
    for message in _receive_all(sqs, dlq_url, limit, HOLD):
        letter = explain(message, store)
        kwargs: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": letter.body}
        if letter.attributes:
            kwargs["MessageAttributes"] = letter.attributes
        sqs.send_message(**kwargs)
        if letter.job_id and ID_PATTERN.fullmatch(letter.job_id):
            store.record(rec.StatusRecord(letter.job_id, rec.REQUEUED, int(time.time() * 1000)))
        sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=letter.receipt_handle)
        with contextlib.suppress(Exception):
            store.forget_failure(letter.message_id)
        moved.append(letter)
    return moved
