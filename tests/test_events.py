"""The event log: its core through a manual clock, its HTTP endpoint on a real socket, and the
emulator's publishers through the emulator's own endpoint."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest

from emulator.clock import ManualClock
from emulator.events import SCHEMA, Event, EventLog, catalog
from emulator.events.ec2 import Ec2WorkloadExit, Ec2WorkloadStart
from emulator.events.sqs import SqsDelete, SqsQueueCreated, SqsReceive, SqsSend
from emulator.sqs.engine import SendRequest, SqsEngine
from tests.support.emulator import REPO
from tests.support.events import LogServer
from tests.support.waiting import wait_until


def send(n: int, queue: str = "q") -> SqsSend:
    return SqsSend(queue=queue, message_id=f"m{n}", seq=n, delay=0)


# -- the core ----------------------------------------------------------------------------------


def test_ids_increase_and_the_injected_clock_stamps_every_event() -> None:
    clock = ManualClock(1_000.0)
    log = EventLog(clock, capacity=10)
    log.publish(send(1))
    clock.advance(2.5)
    log.publish(SqsQueueCreated(queue="other"))
    page = log.after(0)
    assert [(e.id, e.at, e.type) for e in page.entries] == [
        (1, 1_000.0, "sqs.send"),
        (2, 1_002.5, "sqs.queue_created"),
    ]
    assert page.entries[0].event == send(1)
    assert page.entries[0].as_dict() == {
        "schema": SCHEMA,
        "stream": log.stream,
        "id": 1,
        "type": "sqs.send",
        "at": 1_000.0,
        "queue": "q",
        "message_id": "m1",
        "seq": 1,
        "delay": 0,
    }
    assert (page.first_id, page.last_id, page.missed, page.next_after) == (1, 2, 0, 2)


def test_a_field_marked_omit_empty_is_left_out_while_empty() -> None:
    """An SQS event names its region only outside the default one: the lab's own readers, which
    work in the default region, see the events as before regions existed."""
    log = EventLog(ManualClock(), capacity=10)
    log.publish(SqsSend(queue="q", message_id="m1", seq=1, delay=0))
    log.publish(SqsSend(queue="q", message_id="m2", seq=2, delay=0, region="eu-west-1"))
    first, second = (entry.as_dict() for entry in log.after(0).entries)
    assert "region" not in first
    assert second["region"] == "eu-west-1"


def test_the_reply_is_the_page_as_json() -> None:
    log = EventLog(ManualClock(), capacity=10, stream="s-1")
    assert json.loads(log.after(0).to_json()) == {
        "schema": SCHEMA,
        "stream": "s-1",
        "first_id": 1,
        "last_id": 0,
        "missed": 0,
        "next_after": 0,
        "events": [],
    }
    log.publish(send(1))
    reply = json.loads(log.after(0).to_json())
    assert [e["id"] for e in reply["events"]] == [1] and reply["last_id"] == 1


def test_a_reader_reads_on_from_its_cursor_in_pages() -> None:
    log = EventLog(ManualClock(), capacity=100)
    for n in range(1, 8):
        log.publish(send(n))
    first = log.after(0, limit=3)
    assert [e.id for e in first.entries] == [1, 2, 3] and first.next_after == 3
    second = log.after(first.next_after, limit=10)
    assert [e.id for e in second.entries] == [4, 5, 6, 7] and second.next_after == 7
    assert log.after(7).entries == [] and log.after(7).next_after == 7


def test_a_type_prefix_filters_and_the_cursor_passes_what_it_skipped() -> None:
    log = EventLog(ManualClock(), capacity=100)
    log.publish(send(1))
    log.publish(
        SqsReceive(queue="q", message_id="m1", seq=1, receive_count=1, visibility_timeout=30)
    )
    log.publish(
        Ec2WorkloadStart(instance_id="i-1", private_ip=None, address="127.0.1.1", port=80, pid=9)
    )
    log.publish(SqsDelete(queue="q", message_id="m1", seq=1))
    assert [e.type for e in log.after(0, prefix="sqs.").entries] == [
        "sqs.send",
        "sqs.receive",
        "sqs.delete",
    ]
    assert [e.id for e in log.after(0, prefix="sqs.receive").entries] == [2]
    assert [e.id for e in log.after(0, prefix="ec2.").entries] == [3]
    nothing = log.after(0, prefix="elb.")
    assert nothing.entries == [] and nothing.next_after == 4  # no need to scan those again
    limited = log.after(0, limit=2, prefix="sqs.")
    assert [e.id for e in limited.entries] == [1, 2] and limited.next_after == 2


def test_overflow_is_reported_never_silent() -> None:
    log = EventLog(ManualClock(), capacity=3)
    for n in range(1, 8):
        log.publish(send(n))
    behind = log.after(0)
    assert (behind.first_id, behind.last_id, behind.missed) == (5, 7, 4)
    assert [e.id for e in behind.entries] == [5, 6, 7]  # what is left, in order
    assert log.after(2).missed == 2  # events 3 and 4 are gone
    assert log.after(4).missed == 0 and [e.id for e in log.after(4).entries] == [5, 6, 7]
    assert log.after(4, prefix="nothing.").missed == 0
    # The ring wraps around its end: still in id order.
    assert [e.id for e in log.after(5, limit=2).entries] == [6, 7]


def test_each_log_has_a_stream_id_of_its_own() -> None:
    streams = {EventLog(ManualClock()).stream for _ in range(20)}
    assert len(streams) == 20 and all(len(s) >= 8 for s in streams)
    log = EventLog(ManualClock(), stream="fixed")
    log.publish(send(1))
    assert log.after(0).stream == "fixed" and log.after(0).entries[0].as_dict()["stream"] == "fixed"


def test_reading_refuses_what_makes_no_sense() -> None:
    log = EventLog(ManualClock())
    with pytest.raises(ValueError):
        log.after(-1)
    with pytest.raises(ValueError):
        log.after(0, limit=0)
    with pytest.raises(ValueError):
        EventLog(ManualClock(), capacity=0)


def test_a_long_poll_wakes_at_the_publish_and_times_out_when_nothing_comes() -> None:
    async def scenario() -> tuple[float, list[int], float, list[int]]:
        log = EventLog(ManualClock(), capacity=100)
        loop = asyncio.get_running_loop()
        loop.call_later(0.2, log.publish, send(1))
        start = loop.time()
        woken = await log.read(0, wait=10)
        woke_after = loop.time() - start
        start = loop.time()
        empty = await log.read(1, wait=0.3)
        return (
            woke_after,
            [e.id for e in woken.entries],
            loop.time() - start,
            [e.id for e in empty.entries],
        )

    woke_after, woken, waited, empty = asyncio.run(scenario())
    assert woken == [1] and 0.15 < woke_after < 2
    assert empty == [] and waited >= 0.29


def test_a_filtered_long_poll_sleeps_through_other_types() -> None:
    async def scenario() -> tuple[list[str], int]:
        log = EventLog(ManualClock(), capacity=100)
        loop = asyncio.get_running_loop()
        for n in range(5):
            loop.call_later(0.05 * (n + 1), log.publish, send(n))
        loop.call_later(
            0.4,
            log.publish,
            Ec2WorkloadExit(instance_id="i-1", private_ip=None, address="a", code=1),
        )
        page = await log.read(0, prefix="ec2.", wait=10)
        return [e.type for e in page.entries], page.next_after

    types, next_after = asyncio.run(scenario())
    assert types == ["ec2.workload.exit"] and next_after == 6


def test_many_readers_wait_on_one_publish() -> None:
    async def scenario() -> list[list[int]]:
        log = EventLog(ManualClock(), capacity=100)
        readers = [asyncio.create_task(log.read(0, wait=10)) for _ in range(50)]
        await asyncio.sleep(0.05)
        log.publish(send(1))
        pages = await asyncio.wait_for(asyncio.gather(*readers), 5)
        return [[e.id for e in page.entries] for page in pages]

    assert asyncio.run(scenario()) == [[1]] * 50


def test_the_engine_publishes_typed_events_the_log_stamps() -> None:
    clock = ManualClock(5_000.0)
    log = EventLog(clock, capacity=100)
    engine = SqsEngine(clock, rng=random.Random(1), on_event=log.publish)
    engine.create_queue("jobs", {"VisibilityTimeout": "5"})
    clock.advance(1)
    engine.send("jobs", SendRequest("hello"))
    (delivery,) = engine.receive("jobs")
    engine.delete("jobs", delivery.receipt)
    events = [e.as_dict() for e in log.after(0).entries]
    assert [(e["type"], e["at"]) for e in events] == [
        ("sqs.queue_created", 5_000.0),
        ("sqs.send", 5_001.0),
        ("sqs.receive", 5_001.0),
        ("sqs.delete", 5_001.0),
    ]
    assert events[2]["message_id"] == delivery.message.message_id
    assert events[2]["receive_count"] == 1 and events[2]["visibility_timeout"] == 5


# -- the types ---------------------------------------------------------------------------------


def _subclasses(kind: type) -> Iterator[type]:
    for sub in kind.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_event_type_is_listed_well_formed_and_named_once() -> None:
    listed = catalog.by_type()  # raises on a malformed type or a name taken twice
    # By name: a slots dataclass replaces its class, and the replaced one may linger until gc.
    concrete = {k.__qualname__ for k in _subclasses(Event) if getattr(k, "type", "")}
    assert concrete == {k.__qualname__ for k in listed.values()}
    for kind in listed.values():
        assert dataclasses.is_dataclass(kind)
        with pytest.raises(dataclasses.FrozenInstanceError):
            fields = {f.name: None for f in dataclasses.fields(kind)}
            setattr(kind(**fields), next(iter(fields)), "changed")


def test_the_core_needs_no_http() -> None:
    """The TUI's tests, notebooks and checkers can use the types and the log without aiohttp."""
    code = (
        "import sys, emulator.events, emulator.events.catalog, emulator.events.log; "
        "print('aiohttp' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


# -- the endpoint, on a real socket ------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[LogServer]:
    srv = LogServer(capacity=5).start()
    yield srv
    srv.stop()


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("after=-1", "after must be 0 or more"),
        ("after=ten", "after must be a whole number"),
        ("limit=0", "limit must be from 1 to 10,000"),
        ("limit=10001", "limit must be from 1 to 10,000"),
        ("limit=1.5", "limit must be a whole number"),
        ("wait=21", "wait must be from 0 to 20 seconds"),
        ("wait=-1", "wait must be from 0 to 20 seconds"),
        ("wait=nan", "wait must be from 0 to 20 seconds"),
        ("wait=soon", "wait must be a number of seconds"),
        ("typ=sqs.", "it does not know typ"),
    ],
)
def test_bad_queries_get_400_and_one_sentence(server: LogServer, query: str, words: str) -> None:
    status, body = server.get(query)
    assert status == 400
    assert words in body["error"]
    assert body["error"].endswith(".") and "\n" not in body["error"]
    assert body["error"].count(". ") == 0  # one sentence


def test_only_get_reads_the_stream(server: LogServer) -> None:
    status, body = server.get("", method="PUT")  # POST takes workers' reports: tests/trace
    assert status == 405 and "GET" in body["error"] and "POST" in body["error"]


def test_the_endpoint_replies_with_the_envelope_and_reports_overflow(server: LogServer) -> None:
    server.publish(*(send(n) for n in range(1, 9)))  # the ring holds 5
    status, reply = server.get("after=0")
    assert status == 200
    assert reply["schema"] == SCHEMA and reply["stream"] == server.log.stream
    assert (reply["first_id"], reply["last_id"], reply["missed"]) == (4, 8, 3)
    assert [e["id"] for e in reply["events"]] == [4, 5, 6, 7, 8]
    assert all(
        (e["schema"], e["stream"], e["type"]) == (SCHEMA, server.log.stream, "sqs.send")
        and isinstance(e["at"], float)
        for e in reply["events"]
    )
    _, page = server.get("after=5&limit=2&type=sqs.send")
    assert [e["id"] for e in page["events"]] == [6, 7] and page["next_after"] == 7
    assert page["missed"] == 0


def test_a_long_poll_over_http_answers_when_the_event_is_published(server: LogServer) -> None:
    result: dict = {}

    def poll() -> None:
        start = time.monotonic()
        result["reply"] = server.get("after=0&type=sqs.queue_created&wait=10")[1]
        result["took"] = time.monotonic() - start

    thread = threading.Thread(target=poll)
    thread.start()
    wait_until(server.long_polled, 5, 0.02)
    server.publish(send(1))  # not the type asked for: the poll keeps waiting
    time.sleep(0.2)
    assert thread.is_alive()
    server.publish(SqsQueueCreated(queue="woken"))
    thread.join(5)
    assert [e["queue"] for e in result["reply"]["events"]] == ["woken"]
    assert 0.2 < result["took"] < 3


def test_an_empty_long_poll_waits_the_time_asked(server: LogServer) -> None:
    start = time.monotonic()
    _, reply = server.get("after=0&wait=0.5")
    assert reply["events"] == [] and 0.45 < time.monotonic() - start < 3


# -- the emulator's publishers, through its own endpoint ---------------------------------------


def emulator_events(emulator, after: int, prefix: str, wait: float = 0) -> dict:
    url = f"{emulator.endpoint}/_lab/events?after={after}&type={prefix}&wait={wait}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def test_the_emulator_publishes_sqs_events_with_their_fields(emulator) -> None:
    sqs = emulator.client("sqs")
    start = emulator_events(emulator, 0, "sqs.")["last_id"]
    url = sqs.create_queue(QueueName="events-fields", Attributes={"VisibilityTimeout": "7"})[
        "QueueUrl"
    ]
    sent = sqs.send_message(QueueUrl=url, MessageBody="x")["MessageId"]
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    reply = emulator_events(emulator, start, "sqs.")
    mine = [e for e in reply["events"] if e["queue"] == "events-fields"]
    assert [e["type"] for e in mine] == [
        "sqs.queue_created",
        "sqs.send",
        "sqs.receive",
        "sqs.delete",
    ]
    receive = mine[2]
    assert (receive["message_id"], receive["receive_count"], receive["visibility_timeout"]) == (
        sent,
        1,
        7,
    )
    assert all(e["stream"] == reply["stream"] and e["schema"] == SCHEMA for e in mine)
    assert mine[0]["at"] <= mine[1]["at"] <= mine[3]["at"] <= time.time() + 1


def test_closing_the_log_ends_long_polls_at_once() -> None:
    """At shutdown the server should not wait for every reader's timeout."""

    async def scenario() -> tuple[float, int]:
        log = EventLog(ManualClock(), capacity=10)
        loop = asyncio.get_running_loop()
        loop.call_later(0.1, log.close)
        start = loop.time()
        page = await log.read(0, wait=10)
        later = await log.read(0, wait=10)
        return loop.time() - start, len(page.entries) + len(later.entries)

    took, count = asyncio.run(scenario())
    assert took < 2 and count == 0


def test_the_emulator_publishes_instance_workload_events(fresh_emulator) -> None:
    ec2 = fresh_emulator.client("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    (instance,) = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"]
    iid = instance["InstanceId"]

    def next_of(kind: str, after: int = 0) -> dict:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            reply = emulator_events(fresh_emulator, after, kind, wait=5)
            for event in reply["events"]:
                if event["instance_id"] == iid:
                    return event
            after = reply["next_after"]
        raise AssertionError(f"no {kind} for {iid}")

    start = next_of("ec2.workload.start")
    assert start["private_ip"] == instance["PrivateIpAddress"]
    assert start["port"] == 80 and start["pid"] > 0 and start["address"].startswith("127.")
    assert abs(start["at"] - time.time()) < 30  # the emulator's clock, epoch seconds
    ec2.terminate_instances(InstanceIds=[iid])
    stop = next_of("ec2.workload.stop", start["id"])
    assert stop["pid"] == start["pid"] and stop["at"] >= start["at"]
