"""Message move tasks: the console's dead-letter queue redrive (``StartMessageMoveTask``,
``ListMessageMoveTasks``, ``CancelMessageMoveTask``).

A task moves the messages that were visible in a dead-letter queue when it started, oldest
first, to one destination or each back to the queue it died in, at most
``MaxNumberOfMessagesPerSecond`` a second. It runs on the engine's timer (``SqsEngine.tick``,
every 50 ms in the emulator) and reads time from the engine's clock, so a test moves a
``ManualClock`` instead of sleeping. A moved message is a new message in its destination, with a
new MessageId and a new enqueue time, as AWS redrives it (SQS Developer Guide,
sqs-configure-dead-letter-queue-redrive.html); moving is a send, so the destination's own rules
and events apply.

Tasks live in memory only: a restart forgets them, and what a running task had not moved yet
stays in the dead-letter queue (docs/aws-behaviour.md section 3, "Message move tasks")."""

from __future__ import annotations

import base64
import binascii
import json
import math
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from emulator.events import sqs as sqs_events
from emulator.events.model import Event
from emulator.sqs.errors import SqsError
from emulator.sqs.limits import Range
from emulator.sqs.model import READY, Message, Queue

if TYPE_CHECKING:
    from emulator.sqs.engine import SqsEngine

RUNNING, COMPLETED, CANCELLING, CANCELLED, FAILED = (
    "RUNNING",
    "COMPLETED",
    "CANCELLING",
    "CANCELLED",
    "FAILED",
)
# "The maximum value for messages per second is 500" (API reference, StartMessageMoveTask).
RATE = Range(1, 500)
# Without a rate AWS "will optimize the rate based on the queue message backlog size"; the
# emulator moves at the highest rate the API allows.
DEFAULT_RATE = RATE.hi
# ListMessageMoveTasks: "The default is 1 ... The upper limit is 10."
LIST_RESULTS = Range(1, 10)
KEPT_PER_SOURCE = LIST_RESULTS.hi
# The FailureReason of a task whose destination was deleted under it (recorded on AWS).
NO_QUEUE = "AWS.SimpleQueueService.NonExistentQueue"

# Errors word for word as recorded on AWS (LocalStack test_sqs_move_task.snapshot.json), except
# where marked.
NOT_A_DEAD_LETTER_QUEUE = "Source queue must be configured as a Dead Letter Queue."
ALREADY_RUNNING = (
    "There is already a task running. Only one active task is allowed for a source queue arn at "
    "a given time."
)
BAD_HANDLE = "Value for parameter TaskHandle is invalid."
NO_TASK = "Task does not exist."
# unverified: AWS says only that a task can be cancelled "when the current status is RUNNING"
NOT_RUNNING = "Only a message movement task with status RUNNING can be cancelled."
# unverified: the redrive guide says both queues must be of the same type
NOT_SAME_TYPE = "The source queue and the destination queue must be of the same type."


def no_resource(parameter: str) -> SqsError:
    return SqsError(
        "ResourceNotFoundException",
        f"The resource that you specified for the {parameter} parameter doesn't exist.",
    )


def encode_handle(task_id: str, source_arn: str) -> str:
    """The TaskHandle: base64 of ``{"taskId":...,"sourceArn":...}``, the format LocalStack's
    AWS-validated test decodes real handles with. It names the source, so a cancel finds the
    task without a global index, and a handle for a deleted queue fails as AWS fails it."""
    document = json.dumps({"taskId": task_id, "sourceArn": source_arn}, separators=(",", ":"))
    return base64.b64encode(document.encode()).decode()


def decode_handle(handle: str) -> tuple[str, str]:
    """(task id, source ARN) of a handle; anything else is the invalid-handle error."""
    try:
        document = json.loads(base64.b64decode(handle, validate=True).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError, TypeError):
        raise SqsError("InvalidParameterValue", BAD_HANDLE) from None
    if not isinstance(document, dict):
        raise SqsError("InvalidParameterValue", BAD_HANDLE)
    task_id, source_arn = document.get("taskId"), document.get("sourceArn")
    if not isinstance(task_id, str) or not isinstance(source_arn, str):
        raise SqsError("InvalidParameterValue", BAD_HANDLE)
    return task_id, source_arn


@dataclass
class MoveTask:
    task_id: str
    source_arn: str
    destination_arn: str | None
    rate: int | None
    started_at: float
    to_move: int
    moved: int = 0
    status: str = RUNNING
    failure_reason: str | None = None

    @property
    def handle(self) -> str:
        return encode_handle(self.task_id, self.source_arn)

    @property
    def active(self) -> bool:
        """Still holding its source: AWS allows one active task per source queue."""
        return self.status in (RUNNING, CANCELLING)


class MoveTasks:
    """The engine's message move tasks, by source queue ARN, newest last."""

    def __init__(self, engine: SqsEngine) -> None:
        self.engine = engine
        self.by_source: dict[str, list[MoveTask]] = {}

    def _queue(self, arn: object) -> Queue | None:
        if not isinstance(arn, str):
            return None
        queue = self.engine.queues.get(arn.rsplit(":", 1)[-1])
        return queue if queue is not None and queue.arn == arn else None

    def _emit(self, event: Event) -> None:
        if self.engine.on_event is not None:
            self.engine.on_event(event)

    # -- the actions ----------------------------------------------------------------------

    def start(
        self, source_arn: str, destination_arn: str | None = None, rate: int | None = None
    ) -> MoveTask:
        """Only a dead-letter queue of some queue may be a source, and only one task may be
        active per source; the messages to move are counted now (ApproximateNumberOfMessages)."""
        source = self._queue(source_arn)
        if source is None:
            raise no_resource("SourceArn")
        if not self.engine.dead_letter_sources(source.name):
            raise SqsError("InvalidParameterValue", NOT_A_DEAD_LETTER_QUEUE)
        destination = None
        if destination_arn is not None:
            destination = self._queue(destination_arn)
            if destination is None:
                raise no_resource("DestinationArn")
            if destination.fifo != source.fifo:
                raise SqsError("InvalidParameterValue", NOT_SAME_TYPE)
        tasks = self.by_source.setdefault(source_arn, [])
        if any(task.active for task in tasks):
            raise SqsError("InvalidParameterValue", ALREADY_RUNNING)
        task = MoveTask(
            task_id=str(uuid.UUID(int=self.engine.rng.getrandbits(128), version=4)),
            source_arn=source_arn,
            destination_arn=destination_arn,
            rate=rate,
            started_at=self.engine.clock.now(),
            to_move=source.counts[READY],
        )
        tasks.append(task)
        del tasks[:-KEPT_PER_SOURCE]
        self._emit(
            sqs_events.SqsMoveTaskStarted(
                queue=source.name,
                task_id=task.task_id,
                destination=destination.name if destination is not None else "",
                to_move=task.to_move,
                rate=rate or 0,
            )
        )
        return task

    def recent(self, source_arn: str, limit: int = 1) -> list[MoveTask]:
        """The source's most recent tasks, newest first."""
        if self._queue(source_arn) is None:
            raise no_resource("SourceArn")
        return list(reversed(self.by_source.get(source_arn, [])))[:limit]

    def cancel(self, handle: str) -> MoveTask:
        """Stops a running task before its next message: it is CANCELLING until the engine's
        next tick, then CANCELLED. What it moved stays moved."""
        task_id, source_arn = decode_handle(handle)
        if self._queue(source_arn) is None:
            raise no_resource("SourceArn")
        task = next((t for t in self.by_source.get(source_arn, []) if t.task_id == task_id), None)
        if task is None:
            raise SqsError("ResourceNotFoundException", NO_TASK)
        if task.status != RUNNING:
            raise SqsError("InvalidParameterValue", NOT_RUNNING)
        task.status = CANCELLING
        return task

    # -- the timer ------------------------------------------------------------------------

    def tick(self) -> None:
        """Advance every active task to what its rate allows by now. Called from the engine's
        tick, after the queues' own timers, inside the tick's store transaction."""
        now = self.engine.clock.now()
        for tasks in self.by_source.values():
            for task in tasks:
                if task.status == CANCELLING:
                    self._finish(task, CANCELLED)
                elif task.status == RUNNING:
                    self._run(task, now)

    def _allowed(self, task: MoveTask, now: float) -> int:
        """How many messages the task may have moved by ``now``: the first at once, then one
        every 1/rate seconds (LocalStack's AWS-validated test: 4 messages at 1 a second take
        at least 3 seconds)."""
        rate = task.rate or DEFAULT_RATE
        return min(task.to_move, 1 + math.floor(rate * max(0.0, now - task.started_at) + 1e-9))

    def _run(self, task: MoveTask, now: float) -> None:
        source = self._queue(task.source_arn)
        if source is None:
            self._finish(task, FAILED, NO_QUEUE)
            return
        allowed = self._allowed(task, now)
        while task.moved < allowed:
            message = self._oldest_ready(source)
            if message is None:
                break
            target = self._target(task, message)
            if target is None:
                self._finish(task, FAILED, NO_QUEUE)
                return
            try:
                self._move(task, source, message, target)
            except SqsError as error:
                self._finish(task, FAILED, error.query_code)
                return
        if task.moved >= task.to_move or self._oldest_ready(source) is None:
            self._finish(task, COMPLETED)

    @staticmethod
    def _oldest_ready(queue: Queue) -> Message | None:
        """The next message to move, left in the queue: AWS redrives "starting with the oldest
        message"; in-flight and delayed messages wait (they were not counted to move)."""
        found = queue.fifo_candidates(1) if queue.fifo else queue.oldest_ready(1)
        return found[0] if found else None

    def _target(self, task: MoveTask, message: Message) -> Queue | None:
        """The task's destination, or without one the queue the message died in."""
        if task.destination_arn is not None:
            return self._queue(task.destination_arn)
        return self._queue(message.dead_letter_source_arn)

    def _move(self, task: MoveTask, source: Queue, message: Message, target: Queue) -> None:
        """Send first, then take the message off the source: a send the destination refuses
        fails the task and loses nothing. A FIFO destination deduplicates on the moved
        message's id, so a redrive is never swallowed by the window of the original send."""
        from emulator.sqs.engine import SendRequest  # the engine imports this module

        result = self.engine.send(
            target.name,
            SendRequest(
                body=message.body,
                attributes=dict(message.attributes),
                system_attributes=dict(message.system_attributes),
                group_id=message.group_id,
                dedup_id=message.message_id if target.fifo else None,
            ),
        )
        source.remove(message)
        if not message.injected:
            self.engine.store.drop_message(source.name, message.message_id)
        task.moved += 1
        self._emit(
            sqs_events.SqsMessageMoved(
                queue=source.name,
                task_id=task.task_id,
                message_id=message.message_id,
                target=target.name,
                new_message_id=result.message_id,
            )
        )

    def _finish(self, task: MoveTask, status: str, reason: str | None = None) -> None:
        task.status = status
        task.failure_reason = reason
        self._emit(
            sqs_events.SqsMoveTaskEnded(
                queue=task.source_arn.rsplit(":", 1)[-1],
                task_id=task.task_id,
                status=status,
                moved=task.moved,
                failure_reason=reason or "",
            )
        )
