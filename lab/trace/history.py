"""What happened to each message, folded from the event stream.

The checker works from a history, as Jepsen's queue checkers do: every send, delivery,
deletion and expiry the emulator published (``docs/events.md``), plus the steps workers report
(``worker.*``). Nothing here does I/O; events are the plain dicts the stream carries, so the
same code reads a live stream, a recording or a notebook's list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Event = Mapping[str, Any]

# Why a message left the queue without a delete.
GONE_TYPES = {
    "sqs.dead_letter": "moved to the dead-letter queue",
    "sqs.retention_expired": "its retention period ran out",
}


def receipt_tag(receipt_handle: str) -> str:
    """The short digest of a receipt handle that receive events and worker reports both carry,
    so a worker's steps are matched to the delivery they are about (the handle itself is a
    credential of sorts: it can delete the message)."""
    return hashlib.sha256(receipt_handle.encode()).hexdigest()[:16]


@dataclass
class Delivery:
    """One receive of a message: the event id (the stream's order), its receive count, whether
    the delivery model injected it, and which worker took it (when a worker said so). A
    worker's reports name the delivery by ``receipt``, a digest of the receipt handle that the
    receive event carries too (``receipt_tag``)."""

    event_id: int
    at: float
    receive_count: int
    receipt: str | None = None
    injected: bool = False
    worker: str | None = None
    job_id: str | None = None
    # what the holder did with it, from its own reports (worker.deleted, worker.duplicate,
    # worker.failed): "deleted", "duplicate", or the failure's kind: "poison", "refused", "failed"
    outcome: str | None = None
    # this delivery's visibility timeout ran out before anyone deleted the message
    expired: bool = False


@dataclass
class MessageHistory:
    queue: str
    message_id: str
    send_id: int | None = None  # event id of the send: the queue's send order
    seq: int | None = None  # the engine's send sequence number
    job_id: str | None = None
    producer: str | None = None
    producer_seq: int | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    deleted: bool = False
    gone: str | None = None  # why it left the queue another way (GONE_TYPES)
    purged: bool = False

    @property
    def first_delivery(self) -> Delivery | None:
        return self.deliveries[0] if self.deliveries else None


@dataclass
class History:
    messages: dict[tuple[str, str], MessageHistory] = field(default_factory=dict)
    # workers that reported anything: worker id -> id of the last event it reported
    worker_last_seen: dict[str, int] = field(default_factory=dict)
    restarts: list[int] = field(default_factory=list)  # event ids where a new stream began
    first_id: int | None = None
    last_id: int | None = None

    def queues(self) -> list[str]:
        return sorted({queue for queue, _ in self.messages})

    def of_queue(self, queue: str) -> list[MessageHistory]:
        return [m for (q, _), m in self.messages.items() if q == queue]


def _message(history: History, event: Event) -> MessageHistory | None:
    queue, message_id = event.get("queue"), event.get("message_id")
    if not isinstance(queue, str) or not isinstance(message_id, str):
        return None
    key = (queue, message_id)
    found = history.messages.get(key)
    if found is None:
        found = history.messages[key] = MessageHistory(queue, message_id)
    return found


def _worker_message(history: History, event: Event) -> MessageHistory | None:
    """The message a worker's report is about (worker reports name the queue too)."""
    message_id = event.get("message_id")
    if not isinstance(message_id, str):
        return None
    queue = event.get("queue")
    if isinstance(queue, str):
        return history.messages.get((queue, message_id))
    for (_, mid), found in history.messages.items():
        if mid == message_id:
            return found
    return None


class Folder:
    """Folds events into a ``History`` one at a time, so a reader that follows the stream
    (the TUI) keeps the history current at the cost of each new event, instead of folding
    everything again. ``max_messages``: the oldest messages are forgotten past this many."""

    def __init__(self, queue: str | None = None, max_messages: int | None = None) -> None:
        self.history = History()
        self.queue = queue
        self.max_messages = max_messages
        self._stream: object = None

    def add(self, event: Event) -> None:
        history = self.history
        kind = str(event.get("type", ""))
        event_id = int(event.get("id", 0))
        if event.get("stream") is not None and event.get("stream") != self._stream:
            if self._stream is not None:
                history.restarts.append(event_id)
            self._stream = event.get("stream")
        if history.first_id is None:
            history.first_id = event_id
        history.last_id = event_id
        if kind.startswith("worker."):
            _worker_step(history, event, kind, event_id)
            return
        if not kind.startswith("sqs.") or (
            self.queue is not None and event.get("queue") != self.queue
        ):
            return
        if kind == "sqs.queue_purged":
            for found in history.of_queue(str(event.get("queue"))):
                if not found.deleted and found.gone is None:
                    found.purged = True
            return
        message = _message(history, event)
        if message is None:
            return
        if kind == "sqs.send":
            message.send_id = event_id
            message.seq = event.get("seq")
        elif kind == "sqs.receive":
            message.deliveries.append(
                Delivery(
                    event_id,
                    float(event.get("at", 0.0)),
                    int(event.get("receive_count", 0)),
                    receipt=event.get("receipt"),
                    injected=bool(event.get("injected")),
                )
            )
        elif kind == "sqs.visibility_expired":
            open_deliveries = [d for d in message.deliveries if not d.expired]
            if open_deliveries:
                open_deliveries[-1].expired = True
        elif kind == "sqs.delete":
            message.deleted = True
        elif kind in GONE_TYPES:
            message.gone = GONE_TYPES[kind]
        if self.max_messages is not None and len(history.messages) > self.max_messages:
            del history.messages[next(iter(history.messages))]  # the oldest seen


def fold(events: Iterable[Event], queue: str | None = None) -> History:
    """The history of every message (of ``queue``, or of all queues) in ``events``."""
    folder = Folder(queue)
    for event in events:
        folder.add(event)
    return folder.history


def _worker_step(history: History, event: Event, kind: str, event_id: int) -> None:
    worker = event.get("worker")
    if isinstance(worker, str):
        history.worker_last_seen[worker] = event_id
    message = _worker_message(history, event)
    if message is None:
        return
    for name, attribute in (("job_id", "job_id"), ("producer", "producer")):
        if event.get(name) is not None and getattr(message, attribute) is None:
            setattr(message, attribute, event.get(name))
    if event.get("seq") is not None and message.producer_seq is None:
        message.producer_seq = int(event["seq"])
    receipt, count = event.get("receipt"), event.get("receive_count")
    delivery = next((d for d in message.deliveries if receipt and d.receipt == receipt), None)
    if delivery is None:
        delivery = next(
            (d for d in reversed(message.deliveries) if count is None or d.receive_count == count),
            None,
        )
    if delivery is None:
        return
    if kind == "worker.received":
        delivery.worker = worker if isinstance(worker, str) else delivery.worker
        delivery.job_id = event.get("job_id")
    elif kind == "worker.failed":  # poison, refused or failed: it comes back, as it should
        delivery.outcome = str(event.get("kind") or "failed")
    elif kind == "worker.duplicate":
        delivery.outcome = "duplicate"
    elif kind == "worker.deleted" and delivery.outcome is None:
        delivery.outcome = "deleted"
