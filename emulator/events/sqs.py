"""SQS events: what happened to queues and messages, as the engine decided it.

Published by the SQS engine (``emulator/sqs/engine.py``), at the moment the engine changes its
state, so the order of the stream is the order of the engine's decisions: a send before the
receive that delivers it, a visibility timeout running out before the redelivery."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import ClassVar

from emulator.events.model import Event, described

PUBLISHER = "emulator/sqs/engine.py"


def receipt_tag(receipt_handle: str) -> str:
    """What ``sqs.receive`` and workers' reports carry to name one delivery: a digest, because
    the handle itself can delete the message."""
    return hashlib.sha256(receipt_handle.encode()).hexdigest()[:16]


_MESSAGE_ID = "the MessageId SQS gave the message when it was sent"
_SEQ = (
    "the emulator's running number of sends, across all queues: orders sends (after a restart "
    "it continues from the highest message still stored)"
)


@dataclass(frozen=True, slots=True)
class SqsEvent(Event):
    """Base of the SQS events: each names its queue, and the queue's region unless it is the
    emulator's default one (a queue name is unique per region only)."""

    publisher: ClassVar[str] = PUBLISHER
    # JSON made when first read: a batch receive publishes 20 of these, and SQS keeps its pace
    json_when_read: ClassVar[bool] = True
    queue: str = described("name of the queue")
    # Filled in by emulator/sqs/__init__.py for the engines of other regions only, so the
    # default region, where the lab's own tools work, pays nothing for it.
    region: str = described(
        "region of the queue; absent in the default region (`LAB_REGION`), the lab tools' own",
        "",
        kw_only=True,
        omit_empty=True,
    )


@dataclass(frozen=True, slots=True)
class SqsQueueCreated(SqsEvent):
    """CreateQueue made a new queue. Asking again for a queue that exists with the same
    attributes changes nothing and publishes nothing."""

    type: ClassVar[str] = "sqs.queue_created"


@dataclass(frozen=True, slots=True)
class SqsQueueDeleted(SqsEvent):
    """DeleteQueue removed a queue and every message in it."""

    type: ClassVar[str] = "sqs.queue_deleted"
    messages: int = described("messages the queue held, gone with it")


@dataclass(frozen=True, slots=True)
class SqsQueuePurged(SqsEvent):
    """PurgeQueue removed every message of a queue (at most once every 60 seconds)."""

    type: ClassVar[str] = "sqs.queue_purged"
    messages: int = described("messages removed")


@dataclass(frozen=True, slots=True)
class SqsSend(SqsEvent):
    """SendMessage (or one entry of SendMessageBatch) put a message on a queue."""

    type: ClassVar[str] = "sqs.send"
    message_id: str = described(_MESSAGE_ID)
    seq: int = described(_SEQ)
    delay: int = described("seconds before the message first becomes visible (0: at once)")


@dataclass(frozen=True, slots=True)
class SqsSendDeduplicated(SqsEvent):
    """A send to a FIFO queue repeated an earlier one within the 5-minute deduplication window:
    SQS answers with the earlier message's id and enqueues nothing."""

    type: ClassVar[str] = "sqs.send_deduplicated"
    message_id: str = described("the MessageId of the earlier message this send repeats")


@dataclass(frozen=True, slots=True)
class SqsReceive(SqsEvent):
    """ReceiveMessage delivered a message to a consumer: it is in flight, hidden from other
    consumers until it is deleted or its visibility timeout runs out. A receive count above 1
    is a redelivery: the at-least-once part of SQS."""

    type: ClassVar[str] = "sqs.receive"
    message_id: str = described(_MESSAGE_ID)
    seq: int = described(_SEQ)
    receive_count: int = described(
        "deliveries of this message so far, this one included (ApproximateReceiveCount)"
    )
    visibility_timeout: int = described("seconds the message stays hidden from other consumers")
    receipt: str = described(
        "the first 16 hex digits of the SHA-256 of the receipt handle this delivery returned: "
        "a worker's reports name the delivery they are about with the same digest",
        "",
    )
    injected: bool = described(
        "a copy the delivery model injected (lab chaos): SQS's at-least-once, on purpose", False
    )


@dataclass(frozen=True, slots=True)
class SqsDelete(SqsEvent):
    """DeleteMessage removed a message with its current receipt handle: the consumer
    acknowledged it. Deleting with a stale handle removes nothing and publishes nothing."""

    type: ClassVar[str] = "sqs.delete"
    message_id: str = described(_MESSAGE_ID)
    seq: int = described(_SEQ)
    injected: bool = described("the copy deleted was one the delivery model injected", False)


@dataclass(frozen=True, slots=True)
class SqsChangeVisibility(SqsEvent):
    """ChangeMessageVisibility set a new visibility timeout for a message in flight (a worker's
    heartbeat, or 0 to give the message back at once)."""

    type: ClassVar[str] = "sqs.change_visibility"
    message_id: str = described(_MESSAGE_ID)
    timeout: int = described("the new visibility timeout, in seconds from now")
    injected: bool = described("the copy changed was one the delivery model injected", False)


@dataclass(frozen=True, slots=True)
class SqsVisibilityExpired(SqsEvent):
    """A message in flight was neither deleted nor extended before its visibility timeout ran
    out: it is visible again and the next receive delivers it once more (the consumer was slow,
    or died)."""

    type: ClassVar[str] = "sqs.visibility_expired"
    message_id: str = described(_MESSAGE_ID)
    seq: int = described(_SEQ)
    receive_count: int = described("deliveries of this message so far")
    injected: bool = described("the copy that came back was one the delivery model injected", False)


@dataclass(frozen=True, slots=True)
class SqsDeadLetter(SqsEvent):
    """A receive found a message that had already been delivered maxReceiveCount times (the
    queue's RedrivePolicy): SQS moved it to the dead-letter queue instead of delivering it
    again. ``queue`` is the queue it left."""

    type: ClassVar[str] = "sqs.dead_letter"
    message_id: str = described(_MESSAGE_ID + " (the dead-letter queue keeps it)")
    target: str = described("name of the dead-letter queue it moved to")


@dataclass(frozen=True, slots=True)
class SqsRetentionExpired(SqsEvent):
    """A message outlived the queue's MessageRetentionPeriod and was dropped, never deleted by
    a consumer."""

    type: ClassVar[str] = "sqs.retention_expired"
    message_id: str = described(_MESSAGE_ID)


# -- the delivery model's effects (lab chaos; standard queues only) ----------------------------


@dataclass(frozen=True, slots=True)
class SqsDuplicateInjected(SqsEvent):
    """The delivery model decided that a message just delivered will be delivered once more: a
    copy becomes visible after ``after`` seconds, whatever happens to the original, even a
    successful delete (SQS's at-least-once delivery, made to happen)."""

    type: ClassVar[str] = "sqs.duplicate_injected"
    message_id: str = described(_MESSAGE_ID)
    seq: int = described(_SEQ)
    after: float = described("seconds until the copy is visible")


@dataclass(frozen=True, slots=True)
class SqsReordered(SqsEvent):
    """The delivery model made a receive take a message before older ones (SQS's best-effort
    ordering, made to happen)."""

    type: ClassVar[str] = "sqs.reordered"
    message_id: str = described(_MESSAGE_ID)
    seq: int = described(_SEQ)
    skipped: int = described("older ready messages passed over")
    oldest_seq: int = described("send number of the oldest ready message, delivered later")


@dataclass(frozen=True, slots=True)
class SqsDelayInjected(SqsEvent):
    """The delivery model added time before a sent message first becomes visible."""

    type: ClassVar[str] = "sqs.delay_injected"
    message_id: str = described(_MESSAGE_ID)
    seq: int = described(_SEQ)
    extra: float = described("seconds added to the message's delay")


@dataclass(frozen=True, slots=True)
class SqsSampled(SqsEvent):
    """A short poll (WaitTimeSeconds 0) returned fewer messages than were available, as SQS's
    short polling does when it samples only some of its servers."""

    type: ClassVar[str] = "sqs.sampled"
    asked: int = described("MaxNumberOfMessages of the receive")
    available: int = described("messages ready at that moment")
    returned: int = described("messages the receive returned")


# -- message move tasks (dead-letter queue redrive) ---------------------------------------------

_MOVE_TASKS = "emulator/sqs/move_tasks.py"
_TASK_ID = "the task's id, as its TaskHandle carries it"


@dataclass(frozen=True, slots=True)
class SqsMoveTaskStarted(SqsEvent):
    """StartMessageMoveTask began moving a dead-letter queue's messages (the console's "Start
    DLQ redrive"). ``queue`` is the dead-letter queue."""

    type: ClassVar[str] = "sqs.move_task_started"
    publisher: ClassVar[str] = _MOVE_TASKS
    task_id: str = described(_TASK_ID)
    to_move: int = described(
        "messages visible in the dead-letter queue at the start, the ones the task moves "
        "(ApproximateNumberOfMessagesToMove)"
    )
    destination: str = described(
        "name of the queue the messages go to; empty: each back to the queue it came from", ""
    )
    rate: int = described("MaxNumberOfMessagesPerSecond as asked; 0: not given", 0)


@dataclass(frozen=True, slots=True)
class SqsMessageMoved(SqsEvent):
    """A message move task took a message off the dead-letter queue ``queue`` and sent it to
    ``target`` as a new message with a new MessageId: the ``sqs.send`` just before is that send."""

    type: ClassVar[str] = "sqs.message_moved"
    publisher: ClassVar[str] = _MOVE_TASKS
    task_id: str = described(_TASK_ID)
    message_id: str = described("the MessageId the message had in the dead-letter queue")
    target: str = described("name of the queue it moved to")
    new_message_id: str = described("the MessageId it has there")


@dataclass(frozen=True, slots=True)
class SqsMoveTaskEnded(SqsEvent):
    """A message move task stopped: COMPLETED (nothing left to move), CANCELLED
    (CancelMessageMoveTask) or FAILED (a queue it needed is gone). ``queue`` is the
    dead-letter queue."""

    type: ClassVar[str] = "sqs.move_task_ended"
    publisher: ClassVar[str] = _MOVE_TASKS
    task_id: str = described(_TASK_ID)
    status: str = described("COMPLETED, CANCELLED or FAILED")
    moved: int = described("messages the task moved (ApproximateNumberOfMessagesMoved)")
    failure_reason: str = described("why a FAILED task failed (FailureReason); else empty", "")


TYPES: tuple[type[SqsEvent], ...] = (
    SqsQueueCreated,
    SqsQueueDeleted,
    SqsQueuePurged,
    SqsSend,
    SqsSendDeduplicated,
    SqsReceive,
    SqsDelete,
    SqsChangeVisibility,
    SqsVisibilityExpired,
    SqsDeadLetter,
    SqsRetentionExpired,
    SqsDuplicateInjected,
    SqsReordered,
    SqsDelayInjected,
    SqsSampled,
    SqsMoveTaskStarted,
    SqsMessageMoved,
    SqsMoveTaskEnded,
)
