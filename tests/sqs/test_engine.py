"""The SQS engine's timing and delivery rules, through a manual clock: no sockets, no sleeping."""

from __future__ import annotations

import json
import random

import pytest

from emulator.clock import ManualClock
from emulator.events import Event
from emulator.events.sqs import SqsReceive
from emulator.sqs.engine import SendRequest, SqsEngine
from emulator.sqs.errors import SqsError


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def engine(clock: ManualClock) -> SqsEngine:
    return SqsEngine(clock, rng=random.Random(7))


def send(engine: SqsEngine, queue: str, body: str, **kw) -> str:
    return engine.send(queue, SendRequest(body, **kw)).message_id


def counts(engine: SqsEngine, queue: str) -> tuple[int, int, int]:
    attrs = engine.get_attributes(queue, ["All"])
    return (
        int(attrs["ApproximateNumberOfMessages"]),
        int(attrs["ApproximateNumberOfMessagesNotVisible"]),
        int(attrs["ApproximateNumberOfMessagesDelayed"]),
    )


def test_message_reappears_when_visibility_timeout_expires(engine, clock):
    engine.create_queue("q", {"VisibilityTimeout": "30"})
    send(engine, "q", "a")
    first = engine.receive("q")
    assert [d.message.body for d in first] == ["a"]
    assert engine.receive("q") == []
    clock.advance(29.9)
    assert engine.receive("q") == []
    assert counts(engine, "q") == (0, 1, 0)
    clock.advance(0.1)
    again = engine.receive("q")
    assert [d.message.body for d in again] == ["a"]
    assert again[0].message.receive_count == 2
    assert again[0].receipt != first[0].receipt


def test_receive_visibility_timeout_overrides_queue_default(engine, clock):
    engine.create_queue("q", {"VisibilityTimeout": "30"})
    send(engine, "q", "a")
    engine.receive("q", visibility_timeout=5)
    clock.advance(5)
    assert len(engine.receive("q")) == 1


def test_delete_with_current_receipt_removes_message(engine, clock):
    engine.create_queue("q")
    send(engine, "q", "a")
    (delivery,) = engine.receive("q")
    engine.delete("q", delivery.receipt)
    clock.advance(3600)
    assert engine.receive("q") == []
    assert counts(engine, "q") == (0, 0, 0)


def test_stale_receipt_succeeds_but_leaves_the_message(engine, clock):
    """A slow consumer's late delete does not remove the copy another consumer holds."""
    engine.create_queue("q", {"VisibilityTimeout": "10"})
    send(engine, "q", "a")
    (slow,) = engine.receive("q")
    clock.advance(10)
    (fast,) = engine.receive("q")
    engine.delete("q", slow.receipt)  # no error
    assert counts(engine, "q") == (0, 1, 0)
    engine.delete("q", fast.receipt)
    assert counts(engine, "q") == (0, 0, 0)


def test_garbage_receipt_is_rejected(engine):
    engine.create_queue("q")
    with pytest.raises(SqsError) as err:
        engine.delete("q", "not-a-receipt!!")
    assert err.value.shape == "ReceiptHandleIsInvalid"
    assert err.value.status == 404


def test_receipt_of_another_queue_is_rejected(engine):
    engine.create_queue("a")
    engine.create_queue("b")
    send(engine, "a", "x")
    (delivery,) = engine.receive("a")
    with pytest.raises(SqsError) as err:
        engine.delete("b", delivery.receipt)
    assert err.value.shape == "ReceiptHandleIsInvalid"


def test_change_visibility_counts_from_the_call(engine, clock):
    engine.create_queue("q", {"VisibilityTimeout": "30"})
    send(engine, "q", "a")
    (d,) = engine.receive("q")
    clock.advance(20)
    engine.change_visibility("q", d.receipt, 30)
    clock.advance(29)
    assert engine.receive("q") == []
    clock.advance(1)
    assert len(engine.receive("q")) == 1


def test_change_visibility_zero_makes_message_visible_at_once(engine):
    engine.create_queue("q")
    send(engine, "q", "a")
    (d,) = engine.receive("q")
    engine.change_visibility("q", d.receipt, 0)
    assert len(engine.receive("q")) == 1


def test_change_visibility_of_a_visible_fifo_message_is_not_in_flight(engine, clock):
    """A standard queue accepts this and changes nothing (tests/sqs/test_receipt_rules.py);
    a FIFO queue keeps refusing it (unverified on AWS)."""
    engine.create_queue("q.fifo", {"FifoQueue": "true", "VisibilityTimeout": "5"})
    send(engine, "q.fifo", "a", group_id="g", dedup_id="1")
    (d,) = engine.receive("q.fifo")
    clock.advance(6)
    with pytest.raises(SqsError) as err:
        engine.change_visibility("q.fifo", d.receipt, 10)
    assert err.value.shape == "MessageNotInflight"


def test_visibility_cannot_exceed_twelve_hours_from_receive(engine, clock):
    engine.create_queue("q")
    send(engine, "q", "a")
    (d,) = engine.receive("q", visibility_timeout=43_200)
    clock.advance(100)
    with pytest.raises(SqsError) as err:
        engine.change_visibility("q", d.receipt, 43_200)
    assert err.value.shape == "InvalidParameterValue"
    engine.change_visibility("q", d.receipt, 43_100)


def test_message_delay_and_queue_delay(engine, clock):
    engine.create_queue("q", {"DelaySeconds": "10"})
    send(engine, "q", "queue-delay")
    send(engine, "q", "own-delay", delay_seconds=2)
    assert counts(engine, "q") == (0, 0, 2)
    clock.advance(2)
    assert [d.message.body for d in engine.receive("q", 10)] == ["own-delay"]
    clock.advance(8)
    assert [d.message.body for d in engine.receive("q", 10)] == ["queue-delay"]


def test_retention_removes_old_messages(engine, clock):
    engine.create_queue("q", {"MessageRetentionPeriod": "60"})
    send(engine, "q", "old")
    clock.advance(30)
    send(engine, "q", "new")
    clock.advance(30)
    engine.tick()
    assert counts(engine, "q") == (1, 0, 0)
    assert [d.message.body for d in engine.receive("q", 10)] == ["new"]


def test_standard_queue_hands_out_in_send_order_when_undisturbed(engine):
    engine.create_queue("q")
    bodies = [str(i) for i in range(25)]
    for body in bodies:
        send(engine, "q", body)
    got = []
    while batch := engine.receive("q", 10):
        got += [d.message.body for d in batch]
    assert got == bodies


def test_receive_takes_at_most_max_messages(engine):
    engine.create_queue("q")
    for i in range(15):
        send(engine, "q", str(i))
    assert len(engine.receive("q", 10)) == 10
    assert len(engine.receive("q", 10)) == 5
    assert counts(engine, "q") == (0, 15, 0)


def test_dead_letter_after_max_receive_count(engine, clock):
    dlq = engine.create_queue("dlq")
    engine.create_queue(
        "q",
        {
            "VisibilityTimeout": "1",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 2}),
        },
    )
    send(engine, "q", "poison")
    for _ in range(2):
        assert len(engine.receive("q")) == 1
        clock.advance(1)
    assert engine.receive("q") == []
    moved = engine.receive("dlq")
    assert [d.message.body for d in moved] == ["poison"]
    assert moved[0].message.dead_letter_source_arn == engine.queue("q").arn
    assert engine.dead_letter_sources("dlq") == ["q"]


def test_redrive_policy_needs_an_existing_queue_of_the_same_type(engine):
    engine.create_queue("q")
    policy = {"deadLetterTargetArn": engine.arn("missing"), "maxReceiveCount": 3}
    with pytest.raises(SqsError) as err:
        engine.set_attributes("q", {"RedrivePolicy": json.dumps(policy)})
    assert err.value.shape == "InvalidParameterValue"
    fifo = engine.create_queue("d.fifo", {"FifoQueue": "true"})
    policy["deadLetterTargetArn"] = fifo.arn
    with pytest.raises(SqsError):
        engine.set_attributes("q", {"RedrivePolicy": json.dumps(policy)})


def test_fifo_group_is_locked_while_a_message_is_in_flight(engine, clock):
    engine.create_queue("jobs.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"})
    for body in ["a1", "a2", "a3"]:
        send(engine, "jobs.fifo", body, group_id="A")
    send(engine, "jobs.fifo", "b1", group_id="B")
    first = engine.receive("jobs.fifo", 2)
    assert [d.message.body for d in first] == ["a1", "a2"]
    second = engine.receive("jobs.fifo", 10)
    assert [d.message.body for d in second] == ["b1"]  # group A is locked
    engine.delete("jobs.fifo", first[0].receipt)
    assert engine.receive("jobs.fifo", 10) == []  # a2 still in flight
    engine.delete("jobs.fifo", first[1].receipt)
    assert [d.message.body for d in engine.receive("jobs.fifo", 10)] == ["a3"]


def test_fifo_redelivers_in_order_after_visibility_expiry(engine, clock):
    engine.create_queue(
        "o.fifo",
        {"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "5"},
    )
    for body in ["1", "2", "3"]:
        send(engine, "o.fifo", body, group_id="g")
    assert [d.message.body for d in engine.receive("o.fifo", 1)] == ["1"]
    clock.advance(5)
    assert [d.message.body for d in engine.receive("o.fifo", 10)] == ["1", "2", "3"]


def test_fifo_deduplicates_for_five_minutes(engine, clock):
    engine.create_queue("d.fifo", {"FifoQueue": "true"})
    first = engine.send("d.fifo", SendRequest("x", group_id="g", dedup_id="id-1"))
    again = engine.send("d.fifo", SendRequest("x", group_id="g", dedup_id="id-1"))
    assert again.message_id == first.message_id
    assert counts(engine, "d.fifo") == (1, 0, 0)
    (d,) = engine.receive("d.fifo")
    engine.delete("d.fifo", d.receipt)
    engine.send("d.fifo", SendRequest("x", group_id="g", dedup_id="id-1"))
    assert counts(engine, "d.fifo") == (0, 0, 0)  # still deduplicated after delete
    clock.advance(300)
    engine.send("d.fifo", SendRequest("x", group_id="g", dedup_id="id-1"))
    assert counts(engine, "d.fifo") == (1, 0, 0)


def test_fifo_content_based_deduplication(engine):
    engine.create_queue("c.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"})
    send(engine, "c.fifo", "same", group_id="g")
    send(engine, "c.fifo", "same", group_id="g")
    send(engine, "c.fifo", "other", group_id="g")
    assert counts(engine, "c.fifo") == (2, 0, 0)


def test_fifo_send_rules(engine):
    engine.create_queue("f.fifo", {"FifoQueue": "true"})
    with pytest.raises(SqsError) as err:
        engine.send("f.fifo", SendRequest("x", dedup_id="1"))
    assert err.value.shape == "MissingParameter"
    with pytest.raises(SqsError) as err:
        engine.send("f.fifo", SendRequest("x", group_id="g"))
    assert err.value.shape == "InvalidParameterValue"
    with pytest.raises(SqsError) as err:
        engine.send("f.fifo", SendRequest("x", group_id="g", dedup_id="1", delay_seconds=5))
    assert err.value.shape == "InvalidParameterValue"


def test_fifo_sequence_numbers_increase(engine):
    engine.create_queue("s.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"})
    numbers = [
        int(engine.send("s.fifo", SendRequest(str(i), group_id="g")).sequence_number or 0)
        for i in range(3)
    ]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3


def test_receive_request_attempt_id_returns_the_same_messages(engine):
    engine.create_queue("r.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"})
    send(engine, "r.fifo", "a", group_id="g")
    send(engine, "r.fifo", "b", group_id="h")
    first = engine.receive("r.fifo", 10, attempt_id="try-1")
    retry = engine.receive("r.fifo", 10, attempt_id="try-1")
    assert [d.receipt for d in retry] == [d.receipt for d in first]


def test_purge_empties_and_may_not_repeat_within_sixty_seconds(engine, clock):
    engine.create_queue("q")
    for i in range(5):
        send(engine, "q", str(i))
    engine.receive("q", 2)
    assert engine.purge("q") == 5
    assert counts(engine, "q") == (0, 0, 0)
    clock.advance(59)
    with pytest.raises(SqsError) as err:
        engine.purge("q")
    assert (err.value.shape, err.value.status) == ("PurgeQueueInProgress", 403)
    clock.advance(1)
    engine.purge("q")


def test_queue_name_cannot_be_reused_within_sixty_seconds(engine, clock):
    engine.create_queue("q")
    engine.delete_queue("q")
    with pytest.raises(SqsError) as err:
        engine.create_queue("q")
    assert err.value.shape == "QueueDeletedRecently"
    clock.advance(60)
    engine.tick()
    engine.create_queue("q")


def test_create_queue_is_idempotent_only_with_the_same_attributes(engine):
    first = engine.create_queue("q", {"VisibilityTimeout": "40"})
    assert engine.create_queue("q", {"VisibilityTimeout": "40"}) is first
    assert engine.create_queue("q") is first
    with pytest.raises(SqsError) as err:
        engine.create_queue("q", {"VisibilityTimeout": "41"})
    assert err.value.shape == "QueueNameExists"


@pytest.mark.parametrize(
    ("name", "attributes"),
    [
        ("", {}),
        ("has space", {}),
        ("x" * 81, {}),
        ("q.fifo", {}),
        ("q", {"FifoQueue": "true"}),
    ],
)
def test_bad_queue_names(engine, name, attributes):
    with pytest.raises(SqsError) as err:
        engine.create_queue(name, attributes)
    assert err.value.status == 400


@pytest.mark.parametrize(
    ("attributes", "shape"),
    [
        ({"VisibilityTimeout": "43201"}, "InvalidAttributeValue"),
        ({"VisibilityTimeout": "soon"}, "InvalidAttributeValue"),
        ({"DelaySeconds": "-1"}, "InvalidAttributeValue"),
        ({"MaximumMessageSize": "1023"}, "InvalidAttributeValue"),
        ({"Colour": "blue"}, "InvalidAttributeName"),
        ({"ApproximateNumberOfMessages": "3"}, "InvalidAttributeName"),
        ({"ContentBasedDeduplication": "true"}, "InvalidAttributeName"),
        ({"RedrivePolicy": "{not json"}, "InvalidAttributeValue"),
    ],
)
def test_bad_queue_attributes(engine, attributes, shape):
    with pytest.raises(SqsError) as err:
        engine.create_queue("q", attributes)
    assert err.value.shape == shape


def test_message_size_limit_counts_body_and_attributes(engine):
    engine.create_queue("q", {"MaximumMessageSize": "1024"})
    send(engine, "q", "x" * 1024)
    with pytest.raises(SqsError) as err:
        send(engine, "q", "x" * 1025)
    assert err.value.shape == "InvalidParameterValue"


def test_invalid_characters_are_rejected(engine):
    engine.create_queue("q")
    with pytest.raises(SqsError) as err:
        send(engine, "q", "bell\x07")
    assert err.value.shape == "InvalidMessageContents"


def test_next_change_at_tells_the_long_poller_when_to_look_again(engine, clock):
    engine.create_queue("q")
    send(engine, "q", "later", delay_seconds=3)
    assert engine.next_change_at("q") == pytest.approx(clock.now() + 3)


def test_events_describe_what_happened(clock):
    events: list[Event] = []
    engine = SqsEngine(clock, rng=random.Random(1), on_event=events.append)
    engine.create_queue("q", {"VisibilityTimeout": "1"})
    send(engine, "q", "a")
    engine.receive("q")
    clock.advance(1)
    (d,) = engine.receive("q")
    engine.delete("q", d.receipt)
    kinds = [e.type for e in events]
    assert kinds == [
        "sqs.queue_created",
        "sqs.send",
        "sqs.receive",
        "sqs.visibility_expired",
        "sqs.receive",
        "sqs.delete",
    ]
    assert isinstance(events[4], SqsReceive) and events[4].receive_count == 2
