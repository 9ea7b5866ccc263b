"""The one batch helper behind SendMessageBatch, DeleteMessageBatch and
ChangeMessageVisibilityBatch: each entry succeeds or fails on its own, in the order sent, and
only a whole-batch rule fails the request."""

from __future__ import annotations

import asyncio
import random

import pytest

from emulator.clock import ManualClock
from emulator.sqs import params as read
from emulator.sqs.batch import run_batch
from emulator.sqs.engine import SqsEngine
from emulator.sqs.errors import SqsError, invalid_value
from emulator.sqs.limits import MAX_BATCH_BYTES, check_batch_size
from emulator.sqs.service import SqsService


def number(entry: dict) -> int:
    value = entry.get("N")
    if not isinstance(value, int):
        raise invalid_value("N", value, "Must be a number.")
    return value


def test_each_entry_ends_in_successful_or_failed_in_order():
    applied = []

    def apply(n: int) -> dict:
        if n < 0:
            raise SqsError("MessageNotInflight", "The message is not in flight.")
        applied.append(n)
        return {"Double": n * 2}

    entries = [
        {"Id": "a", "N": 1},
        {"Id": "b", "N": "x"},
        {"Id": "c", "N": -1},
        {"Id": "d", "N": 4},
    ]
    reply = run_batch(entries, number, apply)
    assert reply["Successful"] == [{"Id": "a", "Double": 2}, {"Id": "d", "Double": 8}]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in reply["Failed"]] == [
        ("b", "InvalidParameterValue", True),
        ("c", "MessageNotInflight", True),
    ]
    assert all(f["Message"] for f in reply["Failed"])
    assert applied == [1, 4]


def test_an_entry_that_cannot_be_read_is_never_applied():
    applied = []
    reply = run_batch([{"Id": "a"}], number, lambda n: applied.append(n) or {})
    assert applied == [] and reply["Successful"] == [] and reply["Failed"][0]["Id"] == "a"


def test_the_whole_batch_check_sees_the_readable_entries_before_anything_is_applied():
    seen, applied = [], []

    def check(numbers: list[int]) -> None:
        seen.append((list(numbers), list(applied)))
        if sum(numbers) > 10:
            raise SqsError("BatchRequestTooLong", "too long")

    entries = [{"Id": "a", "N": 3}, {"Id": "b"}, {"Id": "c", "N": 4}]
    run_batch(entries, number, lambda n: applied.append(n) or {}, check=check)
    assert seen == [([3, 4], [])] and applied == [3, 4]

    with pytest.raises(SqsError) as caught:
        run_batch([{"Id": "a", "N": 6}, {"Id": "b", "N": 5}], number, lambda n: {}, check=check)
    assert caught.value.shape == "BatchRequestTooLong"


def test_errors_other_than_aws_errors_are_not_swallowed():
    def broken(n: int) -> dict:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        run_batch([{"Id": "a", "N": 1}], number, broken)


def test_batch_size_limit_counts_the_messages_together():
    check_batch_size([MAX_BATCH_BYTES // 2, MAX_BATCH_BYTES // 2])
    with pytest.raises(SqsError) as caught:
        check_batch_size([MAX_BATCH_BYTES // 2, MAX_BATCH_BYTES // 2 + 1])
    assert caught.value.shape == "BatchRequestTooLong"


def test_send_entries_are_read_like_single_sends():
    entries = read.entries(
        {"Entries": [{"Id": "ok", "MessageBody": "x"}, {"Id": "bad", "DelaySeconds": 1}]},
        "SendMessageBatchRequestEntry",
    )
    reply = run_batch(entries, read.send_request, lambda request: {"Body": request.body})
    assert reply["Successful"] == [{"Id": "ok", "Body": "x"}]
    assert reply["Failed"][0]["Code"] == "MissingParameter"


def test_the_three_batch_actions_through_the_service():
    service = SqsService(SqsEngine(ManualClock(), rng=random.Random(1)))

    def call(action: str, **params) -> dict:
        return asyncio.run(service.call(action, params, "http://sqs"))

    url = call("CreateQueue", QueueName="jobs")["QueueUrl"]
    sent = call(
        "SendMessageBatch",
        QueueUrl=url,
        Entries=[
            {"Id": "a", "MessageBody": "one"},
            {"Id": "b", "MessageBody": ["not", "text"]},
            {"Id": "c", "MessageBody": "two", "DelaySeconds": "x"},
            {"Id": "d", "MessageBody": "three"},
        ],
    )
    assert [e["Id"] for e in sent["Successful"]] == ["a", "d"]
    assert [(e["Id"], e["Code"]) for e in sent["Failed"]] == [
        ("b", "InvalidParameterValue"),
        ("c", "InvalidParameterValue"),
    ]
    got = call("ReceiveMessage", QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    receipts = {m["Body"]: m["ReceiptHandle"] for m in got}
    changed = call(
        "ChangeMessageVisibilityBatch",
        QueueUrl=url,
        Entries=[
            {"Id": "a", "ReceiptHandle": receipts["one"], "VisibilityTimeout": 60},
            {"Id": "b", "ReceiptHandle": receipts["three"], "VisibilityTimeout": 43_201},
            {"Id": "c", "ReceiptHandle": receipts["three"]},
        ],
    )
    assert [e["Id"] for e in changed["Successful"]] == ["a"]
    assert [(e["Id"], e["Code"]) for e in changed["Failed"]] == [
        ("b", "InvalidParameterValue"),
        ("c", "MissingParameter"),
    ]
    deleted = call(
        "DeleteMessageBatch",
        QueueUrl=url,
        Entries=[{"Id": "x", "ReceiptHandle": receipts["one"]}, {"Id": "y", "ReceiptHandle": 5}],
    )
    assert deleted["Successful"] == [{"Id": "x"}]
    assert deleted["Failed"][0]["Code"] == "InvalidParameterValue"
    with pytest.raises(SqsError) as caught:
        call("DeleteMessageBatch", QueueUrl=url.replace("jobs", "nope"), Entries=[])
    assert caught.value.shape == "QueueDoesNotExist"
