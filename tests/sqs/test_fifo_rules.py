"""FIFO queue rules as AWS answers them: the group lock, the order groups are served in, the
per-message delay, expired receipt handles, batch checks, deduplication after a purge and after a
switch to high-throughput mode. Engine tests move a manual clock; the boto3 tests replay, on the
real server, sequences recorded on AWS (LocalStack's parity tests)."""

from __future__ import annotations

import random
import time
import uuid

import botocore.exceptions
import pytest

from emulator.clock import ManualClock
from emulator.sqs.engine import SendRequest, SqsEngine
from emulator.sqs.errors import SqsError

FIFO = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def engine(clock: ManualClock) -> SqsEngine:
    return SqsEngine(clock, rng=random.Random(3))


def send_groups(engine: SqsEngine, clock: ManualClock, queue: str, *sends: str) -> None:
    """Send ``"g1-m1"``-style bodies to their groups, a second apart, as a test on AWS does."""
    for body in sends:
        engine.send(queue, SendRequest(body, group_id=body.split("-")[0]))
        clock.advance(1)


def bodies(deliveries) -> list[str]:
    return [d.message.body for d in deliveries]


# -- the group lock and the order groups are served in (engine) -----------------------------


def test_one_receive_takes_as_many_of_one_group_as_it_can_then_the_next(engine, clock):
    """Developer Guide, "FIFO queue delivery logic" (FIFO-queues-understanding-logic.html):
    SQS returns as many messages of one group as possible, then others, each in send order."""
    engine.create_queue("q.fifo", FIFO)
    send_groups(engine, clock, "q.fifo", "g1-m1", "g2-m1", "g1-m2", "g1-m3")
    assert bodies(engine.receive("q.fifo", 10)) == ["g1-m1", "g1-m2", "g1-m3", "g2-m1"]


def test_a_group_in_flight_gives_nothing_and_other_groups_are_served(engine, clock):
    """FIFO-queues-understanding-logic.html: no more messages of a group while its received
    ones are neither deleted nor visible again; other groups are returned meanwhile."""
    engine.create_queue("q.fifo", {**FIFO, "VisibilityTimeout": "1"})
    send_groups(engine, clock, "q.fifo", "g1-m1", "g1-m2", "g1-m3", "g1-m4", "g2-m1", "g3-m1")
    assert bodies(engine.receive("q.fifo", 2)) == ["g1-m1", "g1-m2"]
    assert bodies(engine.receive("q.fifo", 1)) == ["g2-m1"]


def test_groups_that_were_handed_out_come_after_the_ones_waiting(engine, clock):
    """FIFO-queues-understanding-logic.html leaves the order of groups open; AWS was recorded
    serving a group that became visible again after the groups that had been waiting, in the
    order their visibility ran out (LocalStack test_fifo_receive_message_visibility_timeout_
    shared_in_group)."""
    engine.create_queue("q.fifo", {**FIFO, "VisibilityTimeout": "1"})
    send_groups(engine, clock, "q.fifo", "g1-m1", "g1-m2", "g1-m3", "g1-m4", "g2-m1", "g3-m1")
    engine.receive("q.fifo", 2)
    clock.advance(1)
    engine.receive("q.fifo", 1)  # g2-m1, a second later
    clock.advance(2)
    assert bodies(engine.receive("q.fifo", 10, visibility_timeout=0)) == [
        "g3-m1",
        "g1-m1",
        "g1-m2",
        "g1-m3",
        "g1-m4",
        "g2-m1",
    ]


def test_receiving_with_zero_visibility_puts_the_groups_last_in_the_order_served(engine, clock):
    """FIFO-queues-understanding-logic.html; recorded on AWS (LocalStack
    test_fifo_receive_message_with_zero_visibility_timeout)."""
    engine.create_queue("q.fifo", FIFO)
    send_groups(engine, clock, "q.fifo", "g1-m1", "g2-m1", "g2-m2", "g3-m1", "g1-m2")
    assert bodies(engine.receive("q.fifo", 3, visibility_timeout=0)) == ["g1-m1", "g1-m2", "g2-m1"]
    assert bodies(engine.receive("q.fifo", 10, visibility_timeout=0)) == [
        "g3-m1",
        "g1-m1",
        "g1-m2",
        "g2-m1",
        "g2-m2",
    ]


def send_interleaved(engine: SqsEngine, clock: ManualClock, queue: str) -> None:
    """The sends of LocalStack's group-visibility-after-delete tests (a repeated body that
    content-based deduplication drops left out)."""
    for body in ["g1-m1", "g2-m1", "g1-m2", "g2-m2", "g1-m3", "g1-m4", "g3-m1"]:
        engine.send(queue, SendRequest(body, group_id=body[:2]))
        clock.advance(1)


def test_a_group_stays_locked_while_one_of_its_received_messages_is_in_flight(engine, clock):
    """FIFO-queues-understanding-logic.html: no more of a group until its received messages are
    deleted or visible again (recorded on AWS: LocalStack
    test_fifo_message_group_visibility_after_partial_delete)."""
    engine.create_queue("q.fifo", FIFO)
    send_interleaved(engine, clock, "q.fifo")
    first = engine.receive("q.fifo", 2)
    assert bodies(first) == ["g1-m1", "g1-m2"]
    engine.delete("q.fifo", first[0].receipt)
    assert bodies(engine.receive("q.fifo", 10)) == ["g2-m1", "g2-m2", "g3-m1"]


def test_deleting_what_a_group_gave_frees_it_in_its_send_order(engine, clock):
    """FIFO-queues-understanding-logic.html: a group is available again once the received
    messages are deleted; its next message keeps its place among the other groups (recorded on
    AWS: LocalStack test_fifo_message_group_visibility_after_delete)."""
    engine.create_queue("q.fifo", FIFO)
    send_interleaved(engine, clock, "q.fifo")
    first = engine.receive("q.fifo", 2)
    for delivery in first:
        engine.delete("q.fifo", delivery.receipt)
    assert bodies(engine.receive("q.fifo", 10)) == ["g2-m1", "g2-m2", "g1-m3", "g1-m4", "g3-m1"]


def test_a_head_made_visible_again_is_served_though_a_later_one_is_in_flight(engine, clock):
    """API Reference, ChangeMessageVisibility (API_ChangeMessageVisibility.html): a timeout of
    0 makes the message visible at once. Recorded on AWS (LocalStack
    test_fifo_message_group_visibility_after_terminate_visibility_timeout): the group gives its
    head again, stops at the message still in flight, and comes after the waiting group."""
    engine.create_queue("q.fifo", FIFO)
    send_groups(engine, clock, "q.fifo", "g1-m1", "g1-m2", "g2-m1")
    first = engine.receive("q.fifo", 2)
    engine.change_visibility("q.fifo", first[0].receipt, 0)
    assert bodies(engine.receive("q.fifo", 3)) == ["g2-m1", "g1-m1"]


def test_a_later_message_made_visible_waits_for_the_head(engine, clock):
    """FIFO-queues-understanding-logic.html: order within a group is strict, so a later message
    made visible again is not returned while the one before it is in flight."""
    engine.create_queue("q.fifo", FIFO)
    send_groups(engine, clock, "q.fifo", "g1-m1", "g1-m2")
    first = engine.receive("q.fifo", 2)
    engine.change_visibility("q.fifo", first[1].receipt, 0)
    assert engine.receive("q.fifo", 10) == []
    engine.delete("q.fifo", first[0].receipt)
    assert bodies(engine.receive("q.fifo", 10)) == ["g1-m2"]


# -- sending (engine) -----------------------------------------------------------------------


def test_delay_seconds_zero_is_accepted_and_the_queue_delay_applies(engine, clock):
    """API Reference, SendMessage (API_SendMessage.html): FIFO queues take no per-message delay,
    only the queue's. AWS accepts DelaySeconds=0 (recorded: LocalStack
    test_send_message_with_delay_0_works_for_fifo) and refuses any other value."""
    engine.create_queue("q.fifo", {**FIFO, "DelaySeconds": "5"})
    engine.send("q.fifo", SendRequest("a", group_id="g", delay_seconds=0))
    assert engine.receive("q.fifo") == []
    clock.advance(5)
    assert bodies(engine.receive("q.fifo")) == ["a"]
    with pytest.raises(SqsError) as err:
        engine.send("q.fifo", SendRequest("b", group_id="g", delay_seconds=2))
    assert (err.value.shape, err.value.message) == (
        "InvalidParameterValue",
        "Value 2 for parameter DelaySeconds is invalid. Reason: The request include parameter "
        "that is not valid for this queue type.",
    )


def test_a_send_without_a_deduplication_id_says_so_as_aws_does(engine):
    """API_SendMessage.html (MessageDeduplicationId); AWS's words recorded in LocalStack
    test_posting_to_fifo_requires_deduplicationid_group_id."""
    engine.create_queue("q.fifo", {"FifoQueue": "true"})
    with pytest.raises(SqsError) as err:
        engine.send("q.fifo", SendRequest("a", group_id="g"))
    assert (err.value.shape, err.value.message) == (
        "InvalidParameterValue",
        "The queue should either have ContentBasedDeduplication enabled or "
        "MessageDeduplicationId provided explicitly",
    )
    with pytest.raises(SqsError) as err:
        engine.send("q.fifo", SendRequest("a", dedup_id="1"))
    assert (err.value.shape, err.value.message) == (
        "MissingParameter",
        "The request must contain the parameter MessageGroupId.",
    )


def test_a_batch_entry_without_ids_fails_the_whole_batch(engine):
    """API Reference, SendMessageBatch (API_SendMessageBatch.html); recorded on AWS (LocalStack
    test_send_batch_missing_message_group_id_for_fifo_queue and ..._deduplication_id_...): the
    call fails with InvalidParameterValue, not the entry."""
    engine.create_queue("q.fifo", {"FifoQueue": "true"})
    good = SendRequest("a", group_id="g", dedup_id="1")
    with pytest.raises(SqsError) as err:
        engine.check_send_batch("q.fifo", [good, SendRequest("b", dedup_id="2")])
    assert (err.value.shape, err.value.message) == (
        "InvalidParameterValue",
        "The request must contain the parameter MessageGroupId.",
    )
    with pytest.raises(SqsError) as err:
        engine.check_send_batch("q.fifo", [good, SendRequest("b", group_id="g")])
    assert err.value.message.startswith("The queue should either have ContentBasedDeduplication")
    engine.check_send_batch("q.fifo", [good])
    engine.create_queue("cbd.fifo", FIFO)
    engine.check_send_batch("cbd.fifo", [SendRequest("b", group_id="g")])


# -- receipt handles (engine) ---------------------------------------------------------------


def test_deleting_with_an_expired_handle_fails_on_a_fifo_queue(engine, clock):
    """Knowledge Center, "ReceiptHandleIsInvalid or InvalidParameterValue errors"
    (repost.aws/knowledge-center/sqs-receipt-handle-error): an expired handle is
    InvalidParameterValue "The receipt handle has expired." (recorded on a FIFO queue: LocalStack
    test_fifo_delete_message_with_expired_receipt_handle)."""
    engine.create_queue("q.fifo", {**FIFO, "VisibilityTimeout": "1"})
    engine.send("q.fifo", SendRequest("a", group_id="g"))
    (old,) = engine.receive("q.fifo")
    clock.advance(2)
    with pytest.raises(SqsError) as err:
        engine.delete("q.fifo", old.receipt)
    assert (err.value.shape, err.value.message) == (
        "InvalidParameterValue",
        f"Value {old.receipt} for parameter ReceiptHandle is invalid. Reason: The receipt handle "
        "has expired.",
    )
    (new,) = engine.receive("q.fifo")
    with pytest.raises(SqsError):
        engine.delete("q.fifo", old.receipt)  # an older handle than the current one
    engine.delete("q.fifo", new.receipt)
    engine.delete("q.fifo", new.receipt)  # deleted already: success, as on a standard queue


# -- deduplication (engine) -----------------------------------------------------------------


def test_purge_forgets_the_deduplication_ids(engine, clock):
    """API Reference, PurgeQueue (API_PurgeQueue.html); recorded on AWS (LocalStack
    test_purge_queue_clears_fifo_deduplication_cache): after a purge the same id is taken again."""
    engine.create_queue("q.fifo", {"FifoQueue": "true"})
    engine.send("q.fifo", SendRequest("one", group_id="g", dedup_id="x"))
    engine.purge("q.fifo")
    engine.send("q.fifo", SendRequest("two", group_id="g", dedup_id="x"))
    assert bodies(engine.receive("q.fifo", 10)) == ["two"]


def test_deduplication_scope_is_the_one_the_queue_was_created_with(engine):
    """Developer Guide, "High throughput for FIFO queues" (high-throughput-fifo.html) and
    SetQueueAttributes (API_SetQueueAttributes.html): the attributes may be changed after
    creation, but AWS keeps deduplicating as it did at creation (observed on AWS by LocalStack,
    PRs #10324 and #10887). Created with messageGroup, an id is per group."""
    engine.create_queue("q.fifo", {"FifoQueue": "true"})
    engine.set_attributes(
        "q.fifo", {"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}
    )
    attrs = engine.get_attributes("q.fifo", ["DeduplicationScope", "FifoThroughputLimit"])
    assert attrs == {
        "DeduplicationScope": "messageGroup",
        "FifoThroughputLimit": "perMessageGroupId",
    }
    first = engine.send("q.fifo", SendRequest("a", group_id="g1", dedup_id="x"))
    again = engine.send("q.fifo", SendRequest("a", group_id="g2", dedup_id="x"))
    assert again.message_id == first.message_id  # still one id for the whole queue

    engine.create_queue("ht.fifo", {"FifoQueue": "true", "DeduplicationScope": "messageGroup"})
    one = engine.send("ht.fifo", SendRequest("a", group_id="g1", dedup_id="x"))
    two = engine.send("ht.fifo", SendRequest("a", group_id="g2", dedup_id="x"))
    assert one.message_id != two.message_id
    same = engine.send("ht.fifo", SendRequest("a", group_id="g1", dedup_id="x"))
    assert same.message_id == one.message_id
    engine.set_attributes("ht.fifo", {"DeduplicationScope": "queue"})
    three = engine.send("ht.fifo", SendRequest("a", group_id="g3", dedup_id="x"))
    assert three.message_id not in (one.message_id, two.message_id)


# -- through boto3 on the real server -------------------------------------------------------


@pytest.fixture
def sqs(emulator):
    return emulator.client("sqs")


def fifo_queue(sqs, **attributes: str) -> str:
    name = f"f-{uuid.uuid4().hex[:10]}.fifo"
    return sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true", **attributes})[
        "QueueUrl"
    ]


def received(sqs, url: str, **kwargs) -> list[str]:
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, **kwargs)
    return [m["Body"] for m in got.get("Messages", [])]


def client_error(call, **kwargs) -> dict:
    with pytest.raises(botocore.exceptions.ClientError) as err:
        call(**kwargs)
    return err.value.response


def test_boto3_sees_groups_served_as_aws_serves_them(sqs):
    """FIFO-queues-understanding-logic.html; the sequence and answers of LocalStack
    test_fifo_receive_message_with_zero_visibility_timeout, recorded on AWS."""
    url = fifo_queue(sqs, ContentBasedDeduplication="true")
    for body in ["g1-m1", "g2-m1", "g2-m2", "g3-m1", "g1-m2"]:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=body[:2])
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3, VisibilityTimeout=0)
    assert [m["Body"] for m in got["Messages"]] == ["g1-m1", "g1-m2", "g2-m1"]
    assert received(sqs, url, VisibilityTimeout=0) == ["g3-m1", "g1-m1", "g1-m2", "g2-m1", "g2-m2"]


def test_boto3_group_lock_and_change_visibility(sqs):
    """FIFO-queues-understanding-logic.html and API_ChangeMessageVisibility.html; LocalStack
    test_fifo_message_group_visibility_after_terminate_visibility_timeout, recorded on AWS."""
    url = fifo_queue(sqs, ContentBasedDeduplication="true")
    for body in ["g1-m1", "g1-m2", "g2-m1"]:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=body[:2])
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
    assert [m["Body"] for m in first] == ["g1-m1", "g1-m2"]
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"], VisibilityTimeout=0
    )
    assert received(sqs, url) == ["g2-m1", "g1-m1"]


def test_boto3_fifo_delay_seconds(sqs):
    """API_SendMessage.html (DelaySeconds); recorded on AWS: 0 is taken (LocalStack
    test_send_message_with_delay_0_works_for_fifo), 2 refused with these words
    (test_fifo_queue_send_message_with_delay_seconds_fails)."""
    url = fifo_queue(sqs)
    sent = sqs.send_message(
        QueueUrl=url, MessageBody="Hello", MessageGroupId="g", MessageDeduplicationId="1",
        DelaySeconds=0,
    )  # fmt: skip
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    assert message["MD5OfBody"] == sent["MD5OfMessageBody"]
    error = client_error(
        sqs.send_message, QueueUrl=url, MessageBody="x", MessageGroupId="g",
        MessageDeduplicationId="2", DelaySeconds=2,
    )["Error"]  # fmt: skip
    assert (error["Code"], error["Message"]) == (
        "InvalidParameterValue",
        "Value 2 for parameter DelaySeconds is invalid. Reason: The request include parameter "
        "that is not valid for this queue type.",
    )


def test_boto3_fifo_delete_with_an_expired_handle(sqs):
    """repost.aws/knowledge-center/sqs-receipt-handle-error; LocalStack
    test_fifo_delete_message_with_expired_receipt_handle, recorded on AWS (400)."""
    url = fifo_queue(sqs, ContentBasedDeduplication="true", VisibilityTimeout="1")
    sqs.send_message(QueueUrl=url, MessageBody="g1-m1", MessageGroupId="1")
    handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    time.sleep(1.3)
    response = client_error(sqs.delete_message, QueueUrl=url, ReceiptHandle=handle)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (response["Error"]["Code"], response["Error"]["Message"]) == (
        "InvalidParameterValue",
        f"Value {handle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has "
        "expired.",
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"MessageDeduplicationId": "d2"},
            "The request must contain the parameter MessageGroupId.",
        ),
        (
            {"MessageGroupId": "g"},
            "The queue should either have ContentBasedDeduplication enabled or "
            "MessageDeduplicationId provided explicitly",
        ),
    ],
)
def test_boto3_fifo_batch_without_ids_fails_whole(sqs, entry, message):
    """API_SendMessageBatch.html; LocalStack test_send_batch_missing_message_group_id_for_fifo_
    queue and test_send_batch_missing_deduplication_id_for_fifo_queue, recorded on AWS: the
    call fails (400) and no entry is sent."""
    url = fifo_queue(sqs)
    entries = [
        {"Id": "ok", "MessageBody": "a", "MessageGroupId": "g", "MessageDeduplicationId": "d1"},
        {"Id": "bad", "MessageBody": "b", **entry},
    ]
    response = client_error(sqs.send_message_batch, QueueUrl=url, Entries=entries)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (response["Error"]["Code"], response["Error"]["Message"]) == (
        "InvalidParameterValue",
        message,
    )
    assert received(sqs, url) == []


def test_boto3_purge_forgets_deduplication_ids(sqs):
    """API_PurgeQueue.html; LocalStack test_purge_queue_clears_fifo_deduplication_cache,
    recorded on AWS."""
    url = fifo_queue(sqs)
    kwargs = {"MessageGroupId": "g", "MessageDeduplicationId": "same"}
    sqs.send_message(QueueUrl=url, MessageBody="message-1", **kwargs)
    sqs.purge_queue(QueueUrl=url)
    sqs.send_message(QueueUrl=url, MessageBody="message-2", **kwargs)
    assert received(sqs, url) == ["message-2"]


def test_boto3_high_throughput_after_creation_keeps_the_creation_scope(sqs):
    """high-throughput-fifo.html and API_SetQueueAttributes.html; AWS behaviour observed by
    LocalStack (PR #10324): the new attributes show, deduplication stays queue-wide."""
    url = fifo_queue(sqs)
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "DeduplicationScope": "messageGroup",
            "FifoThroughputLimit": "perMessageGroupId",
        },
    )
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attrs["DeduplicationScope"], attrs["FifoThroughputLimit"]) == (
        "messageGroup",
        "perMessageGroupId",
    )
    for group in ("g1", "g2"):
        sqs.send_message(
            QueueUrl=url, MessageBody=group, MessageGroupId=group, MessageDeduplicationId="x"
        )
    assert received(sqs, url) == ["g1"]
