"""Receipt handles and visibility on standard queues, and what a message keeps when it moves to
a dead-letter queue, as AWS answers them. Engine tests move a manual clock; the boto3 tests
replay on the real server sequences recorded on AWS (LocalStack's parity tests)."""

from __future__ import annotations

import json
import random
import uuid

import botocore.exceptions
import pytest

from emulator.clock import ManualClock
from emulator.sqs.engine import SendRequest, SqsEngine
from emulator.sqs.errors import SqsError
from emulator.sqs.messages import AttributeValue

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def engine(clock: ManualClock) -> SqsEngine:
    return SqsEngine(clock, rng=random.Random(5))


def counts(engine: SqsEngine, queue: str) -> tuple[int, int]:
    attrs = engine.get_attributes(queue, ["All"])
    return (
        int(attrs["ApproximateNumberOfMessages"]),
        int(attrs["ApproximateNumberOfMessagesNotVisible"]),
    )


# -- ChangeMessageVisibility on a standard queue (engine) ------------------------------------


def test_change_visibility_after_the_visibility_ran_out_succeeds_and_changes_nothing(engine, clock):
    """API Reference, ChangeMessageVisibility (API_ChangeMessageVisibility.html). AWS answers
    200 for a handle whose visibility already ran out and leaves the message visible (recorded:
    LocalStack test_change_message_visibility_after_visibility_timeout_expiration, PR #9632)."""
    engine.create_queue("q", {"VisibilityTimeout": "5"})
    engine.send("q", SendRequest("a"))
    (d,) = engine.receive("q")
    clock.advance(6)
    engine.change_visibility("q", d.receipt, 600)
    assert counts(engine, "q") == (1, 0)
    assert [x.message.body for x in engine.receive("q")] == ["a"]


def test_an_older_handle_changes_the_current_delivery(engine, clock):
    """API_ChangeMessageVisibility.html; recorded on AWS (LocalStack
    test_terminate_visibility_timeout_after_receive): the handle of an earlier receive, used
    with 0, makes the message received again since visible at once."""
    engine.create_queue("q")
    engine.send("q", SendRequest("a"))
    (first,) = engine.receive("q", visibility_timeout=0)
    (second,) = engine.receive("q", visibility_timeout=30)
    assert first.receipt != second.receipt
    engine.change_visibility("q", first.receipt, 0)
    assert [x.message.body for x in engine.receive("q")] == ["a"]


def test_change_visibility_of_a_deleted_message_is_refused(engine):
    """API_ChangeMessageVisibility.html; AWS's words recorded in LocalStack
    test_change_visibility_on_deleted_message_raises_invalid_parameter_value."""
    engine.create_queue("q")
    engine.send("q", SendRequest("a"))
    (d,) = engine.receive("q")
    engine.change_visibility("q", d.receipt, 42)
    engine.delete("q", d.receipt)
    with pytest.raises(SqsError) as err:
        engine.change_visibility("q", d.receipt, 42)
    assert (err.value.shape, err.value.message) == (
        "InvalidParameterValue",
        f"Value {d.receipt} for parameter ReceiptHandle is invalid. Reason: Message does not "
        "exist or is not available for visibility timeout change.",
    )


def test_delete_with_a_handle_whose_visibility_ran_out_deletes_on_a_standard_queue(engine, clock):
    """API Reference, DeleteMessage (API_DeleteMessage.html) and Knowledge Center
    sqs-receipt-handle-error ("old receipt handles might succeed on standard queues"); recorded
    on AWS (LocalStack test_remove_message_with_old_receipt_handle)."""
    engine.create_queue("q", {"VisibilityTimeout": "1"})
    engine.send("q", SendRequest("a"))
    (d,) = engine.receive("q")
    clock.advance(2)
    engine.delete("q", d.receipt)
    assert counts(engine, "q") == (0, 0)


# -- dead-letter queues (engine) -------------------------------------------------------------


def dlq_pair(engine: SqsEngine, fifo: bool = False) -> None:
    suffix = ".fifo" if fifo else ""
    extra = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    dlq = engine.create_queue(f"dlq{suffix}", extra)
    policy = json.dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 2})
    engine.create_queue(f"src{suffix}", {**extra, "RedrivePolicy": policy})


def test_a_dead_lettered_message_keeps_what_it_had(engine, clock):
    """Developer Guide, "Using dead-letter queues" (sqs-dead-letter-queues.html): the message is
    moved, not copied: it keeps its id, attributes and system attributes (SentTimestamp, the
    trace header), and its receive count and first receive go on counting (AWS-tested in
    elasticmq #386 and LocalStack PR #10425)."""
    dlq_pair(engine)
    attrs = {"kind": AttributeValue("String", "poison")}
    trace = {"AWSTraceHeader": AttributeValue("String", TRACE)}
    sent = engine.send("src", SendRequest("x", attributes=attrs, system_attributes=trace))
    sent_at = clock.now()
    clock.advance(10)
    (first,) = engine.receive("src", visibility_timeout=0)
    first_at = clock.now()
    clock.advance(10)
    engine.receive("src", visibility_timeout=0)
    clock.advance(10)
    assert engine.receive("src") == []  # moved
    (moved,) = engine.receive("dlq")
    m = moved.message
    assert m.message_id == sent.message_id and m.attributes == attrs
    assert m.system_attributes["AWSTraceHeader"].string_value == TRACE
    assert (m.sent_at, m.first_receive_at, m.receive_count) == (sent_at, first_at, 3)
    assert m.dead_letter_source_arn == engine.queue("src").arn


def test_a_fifo_dead_letter_restarts_retention_but_keeps_sent_timestamp(engine, clock):
    """Developer Guide, "Configuring dead-letter queue retention"
    (setting-up-dead-letter-queue-retention.html): a FIFO message's enqueue time resets when it
    moves to the dead-letter queue (a standard message keeps its own)."""
    dlq_pair(engine, fifo=True)
    engine.set_attributes("dlq.fifo", {"MessageRetentionPeriod": "60"})
    engine.send("src.fifo", SendRequest("x", group_id="g"))
    sent_at = clock.now()
    for _ in range(2):
        engine.receive("src.fifo", visibility_timeout=0)
        clock.advance(30)
    assert engine.receive("src.fifo") == []
    clock.advance(59)
    (moved,) = engine.receive("dlq.fifo", visibility_timeout=0)
    assert moved.message.sent_at == sent_at
    clock.advance(1)
    assert engine.receive("dlq.fifo") == []  # 60 s after the move


# -- through boto3 on the real server --------------------------------------------------------


@pytest.fixture
def sqs(emulator):
    return emulator.client("sqs")


@pytest.fixture
def queue_url(sqs) -> str:
    return sqs.create_queue(QueueName=f"r-{uuid.uuid4().hex[:10]}")["QueueUrl"]


def test_boto3_change_visibility_with_spent_and_older_handles(sqs, queue_url):
    """API_ChangeMessageVisibility.html; the answers of LocalStack
    test_change_message_visibility_after_visibility_timeout_expiration and
    test_terminate_visibility_timeout_after_receive, recorded on AWS."""
    sqs.send_message(QueueUrl=queue_url, MessageBody="test")
    spent = sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=0)["Messages"][0]
    answer = sqs.change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=spent["ReceiptHandle"], VisibilityTimeout=30
    )
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    current = sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=30)["Messages"]
    assert [m["Body"] for m in current] == ["test"]  # the call changed nothing
    sqs.change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=spent["ReceiptHandle"], VisibilityTimeout=0
    )
    again = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    assert [m["Body"] for m in again] == ["test"]  # the old handle ended the current delivery
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=again[0]["ReceiptHandle"])
    with pytest.raises(botocore.exceptions.ClientError) as err:
        sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=again[0]["ReceiptHandle"], VisibilityTimeout=42
        )
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert err.value.response["Error"]["Message"].endswith(
        "Reason: Message does not exist or is not available for visibility timeout change."
    )


def test_boto3_dead_letter_keeps_attributes_and_counts(sqs):
    """sqs-dead-letter-queues.html; LocalStack PR #10425 and elasticmq #386 (tested on AWS):
    the moved message keeps its attributes, SentTimestamp, first receive, trace header and
    receive count."""
    dlq = sqs.create_queue(QueueName=f"d-{uuid.uuid4().hex[:10]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    src = sqs.create_queue(
        QueueName=f"s-{uuid.uuid4().hex[:10]}",
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "2"})
        },
    )["QueueUrl"]
    sqs.send_message(
        QueueUrl=src,
        MessageBody="poison",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "bad"}},
        MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": TRACE}},
    )
    seen = []
    for _ in range(2):
        seen += sqs.receive_message(
            QueueUrl=src, VisibilityTimeout=0, MessageSystemAttributeNames=["All"]
        )["Messages"]
    assert "Messages" not in sqs.receive_message(QueueUrl=src)
    (moved,) = sqs.receive_message(
        QueueUrl=dlq, MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"]
    )["Messages"]
    attrs = moved["Attributes"]
    assert moved["MessageAttributes"] == {"kind": {"DataType": "String", "StringValue": "bad"}}
    assert attrs["ApproximateReceiveCount"] == "3"
    assert attrs["AWSTraceHeader"] == TRACE
    assert attrs["SentTimestamp"] == seen[0]["Attributes"]["SentTimestamp"]
    assert attrs["SenderId"] == seen[0]["Attributes"]["SenderId"]
    assert (
        attrs["ApproximateFirstReceiveTimestamp"]
        == seen[0]["Attributes"]["ApproximateFirstReceiveTimestamp"]
    )
