"""The state file keeps what the FIFO and dead-letter rules need across a restart, and a file
written before those columns existed still loads."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

from emulator.clock import ManualClock
from emulator.sqs.attributes import defaults
from emulator.sqs.engine import SendRequest, SqsEngine
from emulator.sqs.store import SqliteStore
from tests.sqs.old_state import OLD_SCHEMA


def restarted(path: Path, clock: ManualClock) -> SqsEngine:
    store = SqliteStore(path)
    engine = SqsEngine(clock, rng=random.Random(2), store=store)
    engine.restore(*store.load())
    return engine


def test_an_older_state_file_still_loads(tmp_path):
    """A file from before the deduplication scope and enqueue time were kept: the queue's
    DeduplicationScope attribute and the send time stand in for them."""
    path = tmp_path / "sqs.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    attrs = {**defaults(fifo=True), "FifoQueue": "true", "DeduplicationScope": "messageGroup"}
    db.execute(
        "INSERT INTO queues VALUES (?,?,?,?,?,?,?,?)",
        ("o.fifo", "arn:aws:sqs:us-east-1:000000000000:o.fifo", 1, json.dumps(attrs), "{}", 1.0,
         1.0, None),
    )  # fmt: skip
    db.execute(
        "INSERT INTO messages VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        ("o.fifo", "m-1", 1, "old", "{}", "{}", 5.0, 5.0, "g", "d", "18000000000000000001",
         None, 2, 6.0),
    )  # fmt: skip
    db.commit()
    db.close()
    clock = ManualClock(start=10.0)
    engine = restarted(path, clock)
    queue = engine.queue("o.fifo")
    assert queue.dedup_scope == "messageGroup"
    (delivery,) = engine.receive("o.fifo")
    assert delivery.message.enqueued_at == 5.0 and delivery.message.receive_count == 3
    engine.send("o.fifo", SendRequest("new", group_id="g", dedup_id="e"))  # writes new columns


def test_scope_and_dead_letter_enqueue_time_survive_a_restart(tmp_path):
    """Developer Guide, high-throughput-fifo.html and setting-up-dead-letter-queue-retention.html:
    the scope the queue was created with, and a FIFO dead letter's new enqueue time, outlive
    the emulator process as they outlive nothing on AWS."""
    path = tmp_path / "sqs.sqlite3"
    clock = ManualClock()
    engine = restarted(path, clock)
    dlq = engine.create_queue("d.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"})
    policy = json.dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 1})
    engine.create_queue(
        "s.fifo",
        {"FifoQueue": "true", "ContentBasedDeduplication": "true", "RedrivePolicy": policy},
    )
    engine.set_attributes("s.fifo", {"DeduplicationScope": "messageGroup"})
    engine.send("s.fifo", SendRequest("x", group_id="g"))
    engine.receive("s.fifo", visibility_timeout=0)
    clock.advance(100)
    assert engine.receive("s.fifo") == []  # moved now
    engine.store.close()  # type: ignore[attr-defined]
    again = restarted(path, clock)
    assert again.queue("s.fifo").dedup_scope == "queue"
    assert again.get_attributes("s.fifo", ["DeduplicationScope"]) == {
        "DeduplicationScope": "messageGroup"
    }
    (moved,) = again.receive("d.fifo")
    assert moved.message.enqueued_at == clock.now()
    assert moved.message.sent_at == clock.now() - 100
    assert moved.message.receive_count == 2
