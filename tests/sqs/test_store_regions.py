"""One state file, every region's queues: each region's engine writes through its own view of
the store, and a file from before regions were kept loads into the default region."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

from emulator.clock import ManualClock
from emulator.sqs.attributes import defaults
from emulator.sqs.engine import SendRequest, SqsEngine
from emulator.sqs.store import SqliteStore
from tests.sqs.test_store_schema import OLD_SCHEMA


def engine_in(store: SqliteStore, region: str, clock: ManualClock) -> SqsEngine:
    view = store.in_region(region)
    engine = SqsEngine(clock, rng=random.Random(region), region=region, store=view)
    engine.restore(*view.load())
    return engine


def test_two_regions_keep_their_own_queue_of_one_name(tmp_path: Path) -> None:
    """SQS Developer Guide, sqs-queue-message-identifiers.html: a queue name is unique per
    account and region, so the file's key is (region, name) and dropping or purging one
    region's queue leaves the other's."""
    path, clock = tmp_path / "sqs.sqlite3", ManualClock()
    store = SqliteStore(path)
    east, west = engine_in(store, "us-east-1", clock), engine_in(store, "eu-west-1", clock)
    for engine in (east, west):
        engine.create_queue("jobs")
        with engine.store.transaction():
            engine.send("jobs", SendRequest(f"{engine.region} 1"))
            engine.send("jobs", SendRequest(f"{engine.region} 2"))
    east.purge("jobs")
    west.create_queue("only-west")
    store.close()

    store = SqliteStore(path)
    assert sorted(store.regions()) == ["eu-west-1", "us-east-1"]
    east, west = engine_in(store, "us-east-1", clock), engine_in(store, "eu-west-1", clock)
    assert east.list_queues() == ["jobs"] and west.list_queues() == ["jobs", "only-west"]
    assert east.receive("jobs", 10) == []
    assert sorted(d.message.body for d in west.receive("jobs", 10)) == [
        "eu-west-1 1",
        "eu-west-1 2",
    ]
    assert west.queue("jobs").arn == "arn:aws:sqs:eu-west-1:000000000000:jobs"
    west.delete_queue("jobs")
    store.close()
    store = SqliteStore(path)
    assert engine_in(store, "us-east-1", clock).list_queues() == ["jobs"]
    assert engine_in(store, "eu-west-1", clock).list_queues() == ["only-west"]


def test_a_transaction_spans_the_views_of_one_file(tmp_path: Path) -> None:
    """The emulator's tick runs every region's timers in one transaction: a view opened
    inside another's transaction nests in it instead of beginning a second."""
    store = SqliteStore(tmp_path / "sqs.sqlite3")
    west = store.in_region("eu-west-1")
    with store.transaction(), west.transaction():
        assert store.db.in_transaction
    assert not store.db.in_transaction


def test_a_file_from_before_regions_loads_into_the_default_region(tmp_path: Path) -> None:
    """The emulator's promise, not AWS's: an earlier version served one region, its default,
    so every queue and message of its file is the default region's, whatever it is now."""
    path = tmp_path / "sqs.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    db.execute(
        "INSERT INTO queues VALUES (?,?,?,?,?,?,?,?)",
        ("q", "arn:aws:sqs:eu-central-1:000000000000:q", 0, json.dumps(defaults(fifo=False)),
         "{}", 1.0, 1.0, None),
    )  # fmt: skip
    db.execute(
        "INSERT INTO messages VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        ("q", "m-1", 1, "old", "{}", "{}", 5.0, 5.0, None, None, None, None, 1, 6.0),
    )  # fmt: skip
    db.commit()
    db.close()
    clock = ManualClock(start=10.0)
    store = SqliteStore(path, region="eu-central-1")
    assert store.regions() == ["eu-central-1"]
    engine = engine_in(store, "eu-central-1", clock)
    (delivery,) = engine.receive("q")
    assert (delivery.message.body, delivery.message.receive_count) == ("old", 2)
    assert engine_in(store, "us-east-1", clock).list_queues() == []
    store.close()
    # Rebuilt once: opening again changes nothing, and the region is part of the key.
    store = SqliteStore(path, region="us-east-1")
    assert store.regions() == ["eu-central-1"]
    columns = [row[1] for row in store.db.execute("PRAGMA table_info(messages)")]
    assert columns[0] == "region" and "enqueued_at" in columns
