"""The delivery checker: from a history, per queue, what was sent, delivered and deleted; what
was lost, duplicated (and why) or delivered out of order; what is still queued or in flight.

In the manner of Jepsen's total-queue checker: *lost* means acknowledged on send, never
delivered, and no longer in the queue (purged, expired, moved); *duplicated* means delivered
more than once; *out of order* counts inversions, pairs of messages that were delivered (for
the first time) in the opposite order to the one they were sent in, once against the queue's
send order and once against each producer's own sequence numbers where the workers reported
them (URL2PNG's bodies carry ``seq``).

The cause of each extra delivery is read from the history, in this order: the delivery model
injected it; the emulator restarted while it was in flight; the previous delivery's visibility
timeout ran out while its worker was still working on it (the worker reported again later);
its worker died (it never reported again); the previous attempt failed and the message came
back, as it should; or the timeout ran out with no worker report to say more.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from lab.trace.history import Delivery, History, MessageHistory

INJECTED = "injected"
RESTART = "emulator_restart"
TIMEOUT_WHILE_WORKING = "visibility_timeout"
WORKER_DIED = "worker_died"
RETRY_AFTER_FAILURE = "retry_after_failure"
TIMEOUT = "visibility_timeout_unreported"
CAUSES = (INJECTED, TIMEOUT_WHILE_WORKING, WORKER_DIED, RESTART, RETRY_AFTER_FAILURE, TIMEOUT)
FAILURES = ("poison", "refused", "failed")  # the kinds of worker.failed


@dataclass(frozen=True)
class ExtraDelivery:
    """A delivery after the first one of a message, and why it happened."""

    message_id: str
    job_id: str | None
    receive_count: int
    cause: str
    worker: str | None = None  # who held the delivery before this one


@dataclass
class QueueReport:
    queue: str
    sent: int = 0
    delivered: int = 0  # messages delivered at least once
    deliveries: int = 0  # receives in all
    deleted: int = 0
    lost: list[MessageHistory] = field(default_factory=list)
    duplicated: list[MessageHistory] = field(default_factory=list)  # delivered > 1 time
    extra: list[ExtraDelivery] = field(default_factory=list)
    inversions: int = 0  # against the queue's send order
    # messages first delivered before some older ones, with how many older ones they passed
    overtook: list[tuple[MessageHistory, int]] = field(default_factory=list)
    producer_inversions: int = 0  # against the producers' sequence numbers
    producer_pairs: int = 0  # how many pairs the producer check compared
    queued: int = 0  # sent, never delivered, still in the queue
    in_flight: int = 0  # delivered, not deleted, not gone
    gone: Counter[str] = field(default_factory=Counter)  # left without a delete, by reason
    jobs: bool = False  # workers named the jobs: say "jobs", not "messages"
    # What was read: events after ``since`` up to ``last_id``, of which the emulator's ring
    # had dropped ``missed`` before they could be read (then the counts may be incomplete).
    since: int = 0
    last_id: int = 0
    missed: int = 0

    @property
    def causes(self) -> Counter[str]:
        return Counter(extra.cause for extra in self.extra)


def overtaken(order: list[int]) -> list[int]:
    """For each item of ``order``, how many items before it are larger: for messages in send
    order with their first delivery's position as the value, how many older messages this one
    overtook."""
    seen: list[int] = []
    counts = []
    for value in order:
        position = bisect.bisect_right(seen, value)
        counts.append(len(seen) - position)
        seen.insert(position, value)
    return counts


def count_inversions(order: list[int]) -> int:
    """Pairs (i, j) with i before j in ``order`` but ``order[i] > order[j]``."""
    return sum(overtaken(order))


def _cause(history: History, previous: Delivery, current: Delivery) -> str:
    if current.injected:
        return INJECTED
    if any(previous.event_id < r <= current.event_id for r in history.restarts):
        return RESTART
    if previous.outcome in FAILURES:
        return RETRY_AFTER_FAILURE
    if previous.worker is not None:
        last_seen = history.worker_last_seen.get(previous.worker, previous.event_id)
        # still reporting after this delivery: it was working when its timeout ran out
        if last_seen > current.event_id or previous.outcome is not None:
            return TIMEOUT_WHILE_WORKING
        return WORKER_DIED
    return TIMEOUT


def check_queue(history: History, queue: str) -> QueueReport:
    report = QueueReport(queue)
    messages = history.of_queue(queue)
    sent = [m for m in messages if m.send_id is not None]
    report.sent = len(sent)
    report.jobs = any(m.job_id for m in messages)
    for message in messages:
        report.deliveries += len(message.deliveries)
        if message.deliveries:
            report.delivered += 1
        if message.deleted:
            report.deleted += 1
        left = message.deleted or message.gone is not None or message.purged
        if message.gone is not None:
            report.gone[message.gone] += 1
        if message.purged and not message.deleted:
            report.gone["purged"] += 1
        if message.send_id is not None and not message.deliveries and left:
            report.lost.append(message)
        elif not left:
            if message.deliveries:
                report.in_flight += 1
            elif message.send_id is not None:
                report.queued += 1
        if len(message.deliveries) > 1:
            report.duplicated.append(message)
            for previous, current in zip(message.deliveries, message.deliveries[1:], strict=False):
                report.extra.append(
                    ExtraDelivery(
                        message.message_id,
                        message.job_id or current.job_id or previous.job_id,
                        current.receive_count,
                        _cause(history, previous, current),
                        previous.worker,
                    )
                )
    delivered_in_send_order = sorted(
        (m for m in sent if m.first_delivery is not None), key=lambda m: m.send_id or 0
    )
    passed = overtaken(
        [m.first_delivery.event_id for m in delivered_in_send_order if m.first_delivery]
    )
    report.inversions = sum(passed)
    report.overtook = [(m, n) for m, n in zip(delivered_in_send_order, passed, strict=True) if n]
    by_producer: dict[str | None, list[MessageHistory]] = {}
    for message in messages:
        if message.producer_seq is not None and message.first_delivery is not None:
            by_producer.setdefault(message.producer, []).append(message)
    for group in by_producer.values():
        group.sort(key=lambda m: m.producer_seq or 0)
        report.producer_inversions += count_inversions(
            [m.first_delivery.event_id for m in group if m.first_delivery]
        )
        report.producer_pairs += len(group) * (len(group) - 1) // 2
    return report


def check(history: History, queues: Iterable[str] | None = None) -> list[QueueReport]:
    """A report per queue (every queue in the history unless ``queues`` says which)."""
    names = list(queues) if queues is not None else history.queues()
    return [check_queue(history, name) for name in names]
