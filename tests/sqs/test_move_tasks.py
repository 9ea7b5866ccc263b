"""Message move tasks (the console's dead-letter queue redrive): StartMessageMoveTask,
ListMessageMoveTasks and CancelMessageMoveTask.

Pure tests drive the engine with a manual clock and call ``engine.tick()`` as the emulator's
50 ms timer does; the rest go through the real server with boto3 and the AWS CLI. Answers marked
"recorded" follow LocalStack's AWS-validated test_sqs_move_task.py and its snapshot."""

from __future__ import annotations

import base64
import json
import random
import subprocess
import time
import uuid

import botocore.exceptions
import pytest

from emulator.clock import ManualClock
from emulator.events import Event
from emulator.sqs.admin_actions import task_entry
from emulator.sqs.engine import SendRequest, SqsEngine
from emulator.sqs.errors import SqsError
from emulator.sqs.messages import AttributeValue
from emulator.sqs.move_tasks import encode_handle
from tests.sqs.wire import query_xml
from tests.support.emulator import REPO


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def events() -> list[Event]:
    return []


@pytest.fixture
def engine(clock, events) -> SqsEngine:
    return SqsEngine(clock, rng=random.Random(11), on_event=events.append)


def redrive(engine: SqsEngine, source: str, dlq: str, *, fifo: bool = False) -> None:
    """``source`` sends what it cannot deliver after one receive to ``dlq``."""
    extra = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    if dlq not in engine.queues:
        engine.create_queue(dlq, dict(extra))
    policy = json.dumps({"deadLetterTargetArn": engine.arn(dlq), "maxReceiveCount": 1})
    engine.create_queue(source, {"RedrivePolicy": policy, **extra})


def dead_letter(engine: SqsEngine, source: str, *bodies: str, **send) -> list[str]:
    """Send ``bodies`` to ``source`` and let each die into its dead-letter queue."""
    ids = [engine.send(source, SendRequest(body, **send)).message_id for body in bodies]
    for _ in range(2 * len(bodies)):
        engine.receive(source, 10, visibility_timeout=0)
    return ids


def visible(engine: SqsEngine, queue: str) -> int:
    return int(
        engine.get_attributes(queue, ["ApproximateNumberOfMessages"])["ApproximateNumberOfMessages"]
    )


def raises(call, *args, **kwargs) -> SqsError:
    with pytest.raises(SqsError) as err:
        call(*args, **kwargs)
    return err.value


# -- starting --------------------------------------------------------------------------------


def test_source_must_be_a_dead_letter_queue(engine):
    """StartMessageMoveTask (SQS API Reference: "only ARNs of dead-letter queues (DLQs) whose
    sources are other Amazon SQS queues are accepted"); the error is recorded on AWS."""
    engine.create_queue("plain")
    error = raises(engine.move_tasks.start, engine.arn("plain"))
    assert (error.shape, error.status) == ("InvalidParameterValue", 400)
    assert error.message == "Source queue must be configured as a Dead Letter Queue."


def test_unknown_source_or_destination_is_resource_not_found(engine):
    """StartMessageMoveTask's errors (SQS API Reference: ResourceNotFoundException); the
    messages and HTTP 404 are recorded on AWS."""
    redrive(engine, "src", "dlq")
    error = raises(engine.move_tasks.start, engine.arn("nowhere"))
    assert (error.shape, error.status, error.query_code) == (
        "ResourceNotFoundException",
        404,
        "ResourceNotFoundException",
    )
    assert (
        error.message
        == "The resource that you specified for the SourceArn parameter doesn't exist."
    )
    error = raises(engine.move_tasks.start, engine.arn("dlq"), engine.arn("src") + "doesntexist")
    assert error.message == (
        "The resource that you specified for the DestinationArn parameter doesn't exist."
    )


def test_only_one_active_task_per_source(engine, clock):
    """StartMessageMoveTask (SQS API Reference: "Only one active message movement task is
    supported per queue at any given time"); the error is recorded on AWS. Once the task is
    over, another may start."""
    redrive(engine, "src", "dlq")
    dead_letter(engine, "src", "a", "b", "c")
    engine.move_tasks.start(engine.arn("dlq"), rate=1)
    error = raises(engine.move_tasks.start, engine.arn("dlq"))
    assert error.shape == "InvalidParameterValue"
    assert error.message == (
        "There is already a task running. Only one active task is allowed for a source queue arn "
        "at a given time."
    )
    clock.advance(2)
    engine.tick()
    engine.move_tasks.start(engine.arn("dlq"))


def test_destination_must_be_the_same_type_of_queue(engine):
    """Configuring a dead-letter queue redrive (SQS Developer Guide: "any other queue as the
    redrive destination if both queues are the same type"). The message is the emulator's."""
    redrive(engine, "src", "dlq")
    engine.create_queue("other.fifo", {"FifoQueue": "true"})
    error = raises(engine.move_tasks.start, engine.arn("dlq"), engine.arn("other.fifo"))
    assert error.shape == "InvalidParameterValue"


def test_task_handle_is_base64_json_of_task_id_and_source(engine):
    """StartMessageMoveTask's TaskHandle (SQS API Reference: "An identifier associated with a
    message movement task"): recorded on AWS, it decodes as base64 JSON holding the task's id (a
    UUID) and the source queue's ARN."""
    redrive(engine, "src", "dlq")
    task = engine.move_tasks.start(engine.arn("dlq"))
    document = json.loads(base64.b64decode(task.handle))
    assert document == {"taskId": task.task_id, "sourceArn": engine.arn("dlq")}
    assert str(uuid.UUID(task.task_id)) == task.task_id


# -- moving ----------------------------------------------------------------------------------


def test_moves_to_the_destination_as_new_messages(engine, clock):
    """Configuring a dead-letter queue redrive (SQS Developer Guide: "All redriven messages are
    considered new messages and are assigned a new messageID and enqueueTime"); body and
    message attributes travel with them, and the receive count starts again."""
    redrive(engine, "src", "dlq")
    engine.create_queue("dest")
    attributes = {"kind": AttributeValue("String", "order")}
    old = dead_letter(engine, "src", "one", "two", attributes=attributes)
    task = engine.move_tasks.start(engine.arn("dlq"), engine.arn("dest"))
    assert task.to_move == 2
    engine.tick()
    clock.advance(0.05)  # one timer tick later: 500 a second without a rate
    engine.tick()
    assert (task.status, task.moved) == ("COMPLETED", 2)
    assert visible(engine, "dlq") == 0
    got = engine.receive("dest", 10)
    assert sorted(d.message.body for d in got) == ["one", "two"]
    assert not {d.message.message_id for d in got} & set(old)
    assert all(d.message.receive_count == 1 for d in got)
    assert all(d.message.attributes == attributes for d in got)
    assert all(d.message.dead_letter_source_arn is None for d in got)


def test_without_destination_each_message_goes_back_to_its_own_source(engine, clock):
    """StartMessageMoveTask (SQS API Reference, DestinationArn: "If this field is left blank,
    the messages will be redriven back to their respective original source queues"); recorded
    on AWS with two sources sharing one dead-letter queue."""
    redrive(engine, "left", "dlq")
    redrive(engine, "right", "dlq")
    dead_letter(engine, "left", "l1", "l2")
    dead_letter(engine, "right", "r1")
    task = engine.move_tasks.start(engine.arn("dlq"))
    clock.advance(0.05)
    engine.tick()
    assert (task.status, task.moved, task.to_move) == ("COMPLETED", 3, 3)
    assert sorted(d.message.body for d in engine.receive("left", 10)) == ["l1", "l2"]
    assert [d.message.body for d in engine.receive("right", 10)] == ["r1"]


def test_max_number_of_messages_per_second_paces_the_move(engine, clock):
    """StartMessageMoveTask (SQS API Reference: MaxNumberOfMessagesPerSecond, "the message
    movement rate"): recorded on AWS, 4 messages at 1 a second take at least 3 seconds, the
    first moved at once."""
    redrive(engine, "src", "dlq")
    dead_letter(engine, "src", "a", "b", "c", "d")
    task = engine.move_tasks.start(engine.arn("dlq"), engine.arn("src"), rate=1)
    moved = []
    for _ in range(4):
        engine.tick()
        moved.append(task.moved)
        clock.advance(0.999)
        engine.tick()
        moved.append(task.moved)
        clock.advance(0.001)
    assert moved == [1, 1, 2, 2, 3, 3, 4, 4]
    assert task.status == "COMPLETED"


def test_oldest_first_and_only_what_was_visible_at_the_start(engine, clock):
    """Configuring a dead-letter queue redrive (SQS Developer Guide: messages are redriven "in
    the order they are received, starting with the oldest message");
    ListMessageMoveTasksResultEntry (SQS API Reference: ApproximateNumberOfMessagesToMove "is
    obtained at the time of starting"). A message in flight in the dead-letter queue stays."""
    redrive(engine, "src", "dlq")
    engine.create_queue("dest")
    dead_letter(engine, "src", "first")
    clock.advance(1)
    dead_letter(engine, "src", "second", "third")
    (held,) = engine.receive("dlq", 1, visibility_timeout=600)
    assert held.message.body == "first"
    task = engine.move_tasks.start(engine.arn("dlq"), engine.arn("dest"), rate=1)
    assert task.to_move == 2
    engine.tick()
    assert [d.message.body for d in engine.receive("dest", 10)] == ["second"]
    clock.advance(5)
    engine.tick()
    assert (task.status, task.moved) == ("COMPLETED", 2)
    assert visible(engine, "dlq") == 0
    assert engine.queues["dlq"].counts[2] == 1  # "first" still in flight there


def test_fifo_dead_letter_queue_moves_in_group_order(engine, clock):
    """Configuring a dead-letter queue redrive (SQS Developer Guide: a FIFO dead-letter queue
    redrives to a FIFO queue, oldest first)."""
    redrive(engine, "src.fifo", "dlq.fifo", fifo=True)
    for body in ("1", "2", "3"):
        engine.send("src.fifo", SendRequest(body, group_id="g"))
    for _ in range(6):
        engine.receive("src.fifo", 10, visibility_timeout=0)
    assert visible(engine, "dlq.fifo") == 3
    task = engine.move_tasks.start(engine.arn("dlq.fifo"))
    clock.advance(0.05)
    engine.tick()
    assert task.moved == 3
    assert [d.message.body for d in engine.receive("src.fifo", 10)] == ["1", "2", "3"]


def test_destination_deleted_while_running_fails_the_task(engine, clock):
    """ListMessageMoveTasksResultEntry (SQS API Reference: FailureReason, "only included if the
    task status is FAILED"): recorded on AWS, deleting the destination fails the task with
    AWS.SimpleQueueService.NonExistentQueue and leaves the rest in the dead-letter queue."""
    redrive(engine, "src", "dlq")
    engine.create_queue("dest")
    dead_letter(engine, "src", "a", "b", "c")
    task = engine.move_tasks.start(engine.arn("dlq"), engine.arn("dest"), rate=1)
    engine.tick()
    engine.delete_queue("dest")
    clock.advance(1)
    engine.tick()
    assert (task.status, task.moved) == ("FAILED", 1)
    assert task.failure_reason == "AWS.SimpleQueueService.NonExistentQueue"
    assert visible(engine, "dlq") == 2


# -- cancelling ------------------------------------------------------------------------------


def test_cancel_stops_a_running_task_and_keeps_what_moved(engine, clock):
    """CancelMessageMoveTask (SQS API Reference: "Cancelling a message movement task does not
    revert the messages that have already been moved"); statuses CANCELLING then CANCELLED
    (ListMessageMoveTasksResultEntry), the reply's ApproximateNumberOfMessagesMoved."""
    redrive(engine, "src", "dlq")
    dead_letter(engine, "src", *"abcdef")
    task = engine.move_tasks.start(engine.arn("dlq"), engine.arn("src"), rate=1)
    engine.tick()
    clock.advance(1)
    engine.tick()
    assert engine.move_tasks.cancel(task.handle).moved == 2
    assert task.status == "CANCELLING"
    clock.advance(10)
    engine.tick()
    assert (task.status, task.moved) == ("CANCELLED", 2)
    assert visible(engine, "dlq") == 4
    error = raises(engine.move_tasks.cancel, task.handle)
    assert error.shape == "InvalidParameterValue"  # only a RUNNING task can be cancelled


def test_cancel_with_a_bad_handle(engine):
    """CancelMessageMoveTask's errors, recorded on AWS: a handle that is not one is
    InvalidParameterValue; one naming a queue that does not exist, or a task that does not,
    is ResourceNotFoundException (404)."""
    redrive(engine, "src", "dlq")
    error = raises(engine.move_tasks.cancel, "foobared")
    assert (error.shape, error.status) == ("InvalidParameterValue", 400)
    assert error.message == "Value for parameter TaskHandle is invalid."
    gone = "arn:aws:sqs:us-east-1:000000000000:test-queue-doesnt-exist-123456"
    error = raises(engine.move_tasks.cancel, encode_handle(str(uuid.uuid4()), gone))
    assert (error.shape, error.status) == ("ResourceNotFoundException", 404)
    assert (
        error.message
        == "The resource that you specified for the SourceArn parameter doesn't exist."
    )
    error = raises(engine.move_tasks.cancel, encode_handle(str(uuid.uuid4()), engine.arn("dlq")))
    assert (error.shape, error.message) == ("ResourceNotFoundException", "Task does not exist.")


# -- listing ---------------------------------------------------------------------------------


def test_list_is_most_recent_first_default_one_at_most_ten(engine):
    """ListMessageMoveTasks (SQS API Reference: "Gets the most recent message movement tasks (up
    to 10) under a specific source queue"; MaxResults "The default is 1")."""
    redrive(engine, "src", "dlq")
    redrive(engine, "other", "dlq2")
    started = []
    for _ in range(12):
        started.append(engine.move_tasks.start(engine.arn("dlq")))
        engine.tick()
    engine.move_tasks.start(engine.arn("dlq2"))
    (latest,) = engine.move_tasks.recent(engine.arn("dlq"))
    assert latest is started[-1]
    assert engine.move_tasks.recent(engine.arn("dlq"), 10) == started[::-1][:10]
    error = raises(engine.move_tasks.recent, engine.arn("nowhere"))
    assert error.shape == "ResourceNotFoundException"


def test_list_entry_members_as_aws_answers_them(engine, clock):
    """ListMessageMoveTasksResultEntry (SQS API Reference): TaskHandle "only populated for tasks
    that are in RUNNING status", DestinationArn and MaxNumberOfMessagesPerSecond only if the
    start request named them, StartedTimestamp in milliseconds (as recorded on AWS)."""
    redrive(engine, "src", "dlq")
    engine.create_queue("dest")
    dead_letter(engine, "src", "a", "b")
    task = engine.move_tasks.start(engine.arn("dlq"), engine.arn("dest"), rate=1)
    engine.tick()
    assert task_entry(task) == {
        "TaskHandle": task.handle,
        "Status": "RUNNING",
        "SourceArn": engine.arn("dlq"),
        "DestinationArn": engine.arn("dest"),
        "MaxNumberOfMessagesPerSecond": 1,
        "ApproximateNumberOfMessagesMoved": 1,
        "ApproximateNumberOfMessagesToMove": 2,
        "StartedTimestamp": int(clock.now() * 1000),
    }
    clock.advance(1)
    engine.tick()
    assert task_entry(task) == {
        "Status": "COMPLETED",
        "SourceArn": engine.arn("dlq"),
        "DestinationArn": engine.arn("dest"),
        "MaxNumberOfMessagesPerSecond": 1,
        "ApproximateNumberOfMessagesMoved": 2,
        "ApproximateNumberOfMessagesToMove": 2,
        "StartedTimestamp": int((clock.now() - 1) * 1000),
    }
    dead_letter(engine, "src", "c")
    again = engine.move_tasks.start(engine.arn("dlq"))
    engine.tick()
    assert set(task_entry(again)) == {
        "Status",
        "SourceArn",
        "ApproximateNumberOfMessagesMoved",
        "ApproximateNumberOfMessagesToMove",
        "StartedTimestamp",
    }


def test_events_tell_the_redrive(engine, events):
    """The event log's sqs.move_task_started, sqs.message_moved and sqs.move_task_ended (see
    docs/events.md) follow StartMessageMoveTask's task from start to COMPLETED."""
    redrive(engine, "src", "dlq")
    (old,) = dead_letter(engine, "src", "a")
    del events[:]
    task = engine.move_tasks.start(engine.arn("dlq"))
    engine.tick()
    kinds = [e.type for e in events]
    assert kinds == [
        "sqs.move_task_started",
        "sqs.send",
        "sqs.message_moved",
        "sqs.move_task_ended",
    ]
    started, send, moved, ended = events
    assert (started.queue, started.task_id, started.to_move, started.destination) == (
        "dlq",
        task.task_id,
        1,
        "",
    )
    assert (moved.message_id, moved.target, moved.new_message_id) == (old, "src", send.message_id)
    assert (ended.status, ended.moved, ended.failure_reason) == ("COMPLETED", 1, "")


# -- through the server ------------------------------------------------------------------------


@pytest.fixture
def sqs(emulator):
    return emulator.client("sqs")


def dlq_pipe(sqs) -> tuple[str, str, str]:
    """(source URL, dead-letter queue URL, dead-letter queue ARN), as LocalStack's
    sqs_create_dlq_pipe makes them: maxReceiveCount 1."""
    tag = uuid.uuid4().hex[:8]
    dlq = sqs.create_queue(QueueName=f"mt-dlq-{tag}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 1})
    source = sqs.create_queue(QueueName=f"mt-src-{tag}", Attributes={"RedrivePolicy": policy})[
        "QueueUrl"
    ]
    return source, dlq, arn


def arn_of(sqs, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


def into_dlq(sqs, source: str, dlq: str, count: int) -> None:
    for i in range(count):
        sqs.send_message(QueueUrl=source, MessageBody=f"message-{i}")
    for _ in range(2 * count):
        sqs.receive_message(QueueUrl=source, VisibilityTimeout=0, MaxNumberOfMessages=10)
    attrs = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == str(count)


def until(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def test_basic_move_task_workflow(sqs):
    """StartMessageMoveTask and ListMessageMoveTasks (SQS API Reference), as LocalStack's
    AWS-validated test_basic_move_task_workflow recorded them: the messages arrive in the
    destination, the task is COMPLETED with 2 moved of 2, no TaskHandle once done, and the
    dead-letter queue is empty."""
    source, dlq, dlq_arn = dlq_pipe(sqs)
    destination = sqs.create_queue(QueueName=f"mt-dest-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    destination_arn = arn_of(sqs, destination)
    into_dlq(sqs, source, dlq, 2)
    started = sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=destination_arn)
    assert set(started) == {"TaskHandle", "ResponseMetadata"}
    document = json.loads(base64.b64decode(started["TaskHandle"]))
    assert document["sourceArn"] == dlq_arn

    def completed():
        (entry,) = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
        return entry if entry["Status"] == "COMPLETED" else None

    entry = until(completed)
    assert entry is not None
    assert {k: v for k, v in entry.items() if k != "StartedTimestamp"} == {
        "ApproximateNumberOfMessagesMoved": 2,
        "ApproximateNumberOfMessagesToMove": 2,
        "DestinationArn": destination_arn,
        "SourceArn": dlq_arn,
        "Status": "COMPLETED",
    }
    assert abs(entry["StartedTimestamp"] / 1000 - time.time()) < 60
    got = sqs.receive_message(QueueUrl=destination, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in got) == ["message-0", "message-1"]
    assert "Messages" not in sqs.receive_message(QueueUrl=dlq)


def test_move_task_errors_through_boto3(sqs):
    """The move task actions' errors with their codes and HTTP statuses, as recorded on AWS:
    InvalidParameterValue 400 and ResourceNotFoundException 404; MaxNumberOfMessagesPerSecond
    above 500 is refused (StartMessageMoveTask, SQS API Reference: "The maximum value for
    messages per second is 500"; the wording is the emulator's)."""
    source, dlq, dlq_arn = dlq_pipe(sqs)

    def error(call, **kwargs) -> tuple[str, int, str]:
        with pytest.raises(botocore.exceptions.ClientError) as err:
            call(**kwargs)
        r = err.value.response
        return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]

    assert error(sqs.start_message_move_task, SourceArn=arn_of(sqs, source)) == (
        "InvalidParameterValue",
        400,
        "Source queue must be configured as a Dead Letter Queue.",
    )
    assert error(sqs.start_message_move_task, SourceArn=dlq_arn + "nope")[:2] == (
        "ResourceNotFoundException",
        404,
    )
    assert error(sqs.cancel_message_move_task, TaskHandle="foobared") == (
        "InvalidParameterValue",
        400,
        "Value for parameter TaskHandle is invalid.",
    )
    assert error(sqs.start_message_move_task, SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=501)[
        :2
    ] == ("InvalidParameterValue", 400)
    assert error(sqs.list_message_move_tasks, SourceArn=dlq_arn, MaxResults=11)[:2] == (
        "InvalidParameterValue",
        400,
    )
    assert sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"] == []


def test_cancel_through_boto3(sqs):
    """CancelMessageMoveTask (SQS API Reference), as LocalStack's AWS-validated
    test_move_task_cancel: a slow task, cancelled, ends CANCELLED with messages left in the
    dead-letter queue; while it runs, its entry has the handle and the rate."""
    source, dlq, dlq_arn = dlq_pipe(sqs)
    into_dlq(sqs, source, dlq, 10)
    handle = sqs.start_message_move_task(
        SourceArn=dlq_arn, DestinationArn=arn_of(sqs, source), MaxNumberOfMessagesPerSecond=1
    )["TaskHandle"]
    (running,) = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
    assert (running["Status"], running["TaskHandle"], running["MaxNumberOfMessagesPerSecond"]) == (
        "RUNNING",
        handle,
        1,
    )
    assert running["ApproximateNumberOfMessagesToMove"] == 10
    cancelled = sqs.cancel_message_move_task(TaskHandle=handle)
    assert cancelled["ApproximateNumberOfMessagesMoved"] < 10

    def done():
        (entry,) = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
        return entry if entry["Status"] == "CANCELLED" else None

    entry = until(done)
    assert entry is not None and "TaskHandle" not in entry
    assert sqs.receive_message(QueueUrl=dlq)["Messages"]


def test_aws_cli_start_and_list_message_move_tasks(emulator, aws_env, sqs):
    """aws sqs start-message-move-task / list-message-move-tasks (AWS CLI Command Reference
    examples: --source-arn, --max-results; the output's TaskHandle and Results)."""
    source, dlq, dlq_arn = dlq_pipe(sqs)
    into_dlq(sqs, source, dlq, 1)
    aws = [str(REPO / ".venv" / "bin" / "aws"), "--endpoint-url", emulator.endpoint, "sqs"]

    def run(*args: str) -> dict:
        result = subprocess.run(
            [*aws, *args], env=aws_env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    assert "TaskHandle" in run("start-message-move-task", "--source-arn", dlq_arn)

    def completed():
        listed = run("list-message-move-tasks", "--source-arn", dlq_arn, "--max-results", "2")
        return listed if listed["Results"][0]["Status"] == "COMPLETED" else None

    listed = until(completed)
    assert listed is not None
    (entry,) = listed["Results"]
    assert (entry["ApproximateNumberOfMessagesMoved"], entry["SourceArn"]) == (1, dlq_arn)
    got = sqs.receive_message(QueueUrl=source)["Messages"]
    assert [m["Body"] for m in got] == ["message-0"]


def test_list_message_move_tasks_over_the_query_protocol(emulator, sqs):
    """ListMessageMoveTasks (SQS API Reference) over the query protocol: ``Results`` is a
    flattened list in the service model, so each task is a ``Results`` element of its own
    inside ListMessageMoveTasksResult, as botocore's query parser reads it."""
    source, dlq, dlq_arn = dlq_pipe(sqs)
    into_dlq(sqs, source, dlq, 1)
    sqs.start_message_move_task(SourceArn=dlq_arn)
    until(
        lambda: (
            sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]["Status"] == "COMPLETED"
        )
    )
    status, root = query_xml(
        emulator.endpoint, {"Action": "ListMessageMoveTasks", "SourceArn": dlq_arn}
    )
    assert status == 200
    (entry,) = root.findall("ListMessageMoveTasksResult/Results")
    assert entry.findtext("Status") == "COMPLETED"
    assert entry.findtext("SourceArn") == dlq_arn
    assert entry.findtext("ApproximateNumberOfMessagesMoved") == "1"
