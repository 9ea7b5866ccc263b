"""A queue's messages and the bookkeeping that keeps every operation cheap at any depth.

moto recomputes a queue's counters over all its messages on each call, which is why it slows to a
crawl with a deep backlog. Here each message is in exactly one state (delayed, ready, in flight),
the counters change with the state, and lazy heaps find the next ready message or the next timer
in O(log n). A heap entry carries the message's generation; a stale entry is skipped when popped."""

from __future__ import annotations

import heapq
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from emulator.sqs.messages import AttributeValue

DELAYED, READY, IN_FLIGHT = 0, 1, 2
# What SenderId says for every message: the lab has one (fake) IAM user.
SENDER_ID = "AIDAEMULATORLAB000001"


@dataclass(slots=True, eq=False)
class Message:
    message_id: str
    body: str
    attributes: dict[str, AttributeValue]
    system_attributes: dict[str, AttributeValue]
    md5_body: str
    md5_attributes: str | None
    md5_system_attributes: str | None
    sent_at: float
    seq: int
    sender_id: str
    group_id: str | None = None
    dedup_id: str | None = None
    sequence_number: str | None = None
    dead_letter_source_arn: str | None = None
    visible_at: float = 0.0
    state: int = READY
    receive_count: int = 0
    first_receive_at: float | None = None
    received_at: float | None = None
    receipt: str | None = None
    gen: int = 0
    # The queue's own name for this copy: the MessageId, or for a copy the delivery model
    # injected (a duplicate of a delivered message) the MessageId and a suffix.
    key: str = ""
    injected: bool = False
    # FIFO: when the message last became visible. A group whose head became visible earlier is
    # served first, which is how AWS puts a group that was just handed out behind the others.
    ready_at: float = 0.0
    # Where retention counts from: the send, or for a FIFO message moved to a dead-letter queue
    # the move (AWS resets a FIFO message's enqueue time there; SentTimestamp stays).
    enqueued_at: float = 0.0

    def __post_init__(self) -> None:
        if not self.key:
            self.key = self.message_id
        if not self.enqueued_at:
            self.enqueued_at = self.sent_at


@dataclass(eq=False)
class Queue:
    name: str
    arn: str
    fifo: bool
    attributes: dict[str, str]
    created_at: float
    modified_at: float
    tags: dict[str, str] = field(default_factory=dict)
    messages: dict[str, Message] = field(default_factory=dict)
    counts: list[int] = field(default_factory=lambda: [0, 0, 0])
    last_purge_at: float | None = None
    copies: int = 0  # copies the delivery model injected so far (names them)
    # standard queues: ready messages by send order; (seq, gen, id)
    ready_heap: list[tuple[int, int, str]] = field(default_factory=list)
    # delayed and in-flight messages by the time they become visible; (at, seq, gen, id)
    timer_heap: list[tuple[float, int, int, str]] = field(default_factory=list)
    # every message by the time retention counts from; (enqueued_at, seq, id)
    age_heap: list[tuple[float, int, str]] = field(default_factory=list)
    # FIFO queues: each group's undeleted messages in order
    groups: dict[str, deque[Message]] = field(default_factory=dict)
    # FIFO: "queue" or "messageGroup", fixed when the queue is created. SetQueueAttributes may
    # change the DeduplicationScope attribute afterwards, but AWS keeps deduplicating as at
    # creation (docs/aws-behaviour.md section 1.2).
    dedup_scope: str = "queue"
    dedup: OrderedDict[tuple[str, str], tuple[float, str, str | None]] = field(
        default_factory=OrderedDict
    )
    attempts: dict[str, tuple[float, list[tuple[str, str]]]] = field(default_factory=dict)

    def int_attribute(self, name: str) -> int:
        return int(self.attributes[name])

    @property
    def visibility_timeout(self) -> int:
        return self.int_attribute("VisibilityTimeout")

    @property
    def retention(self) -> int:
        return self.int_attribute("MessageRetentionPeriod")

    def add(self, message: Message, state: int, visible_at: float) -> None:
        self.messages[message.key] = message
        message.state = -1
        heapq.heappush(self.age_heap, (message.enqueued_at, message.seq, message.key))
        if self.fifo:
            self.groups.setdefault(message.group_id or "", deque()).append(message)
        self.set_state(message, state, visible_at)

    def set_state(self, message: Message, state: int, visible_at: float = 0.0) -> None:
        old = message.state
        if old >= 0:
            self.counts[old] -= 1
        message.state = state
        message.gen += 1
        self.counts[state] += 1
        if state == READY:
            if self.fifo:
                # a new message is visible from ``visible_at``; a delayed or in-flight one from
                # the moment its timer was due
                message.ready_at = visible_at if old < 0 else message.visible_at
            else:
                heapq.heappush(self.ready_heap, (message.seq, message.gen, message.key))
            message.visible_at = 0.0
        else:
            message.visible_at = visible_at
            heapq.heappush(self.timer_heap, (visible_at, message.seq, message.gen, message.key))

    def remove(self, message: Message) -> None:
        if self.messages.pop(message.key, None) is None:
            return
        self.counts[message.state] -= 1
        message.gen += 1
        if self.fifo:
            group = message.group_id or ""
            members = self.groups.get(group)
            if members is not None:
                members.remove(message)
                if not members:
                    del self.groups[group]

    def clear(self) -> None:
        self.messages.clear()
        self.counts = [0, 0, 0]
        self.ready_heap.clear()
        self.timer_heap.clear()
        self.age_heap.clear()
        self.groups.clear()

    def due_timers(self, now: float) -> list[Message]:
        """Delayed or in-flight messages whose time has come, in the order they were sent."""
        due = []
        while self.timer_heap and self.timer_heap[0][0] <= now:
            _, _, gen, message_id = heapq.heappop(self.timer_heap)
            message = self.messages.get(message_id)
            if message is not None and message.gen == gen and message.state != READY:
                due.append(message)
        return due

    def next_timer(self) -> float | None:
        while self.timer_heap:
            at, _, gen, message_id = self.timer_heap[0]
            message = self.messages.get(message_id)
            if message is not None and message.gen == gen:
                return at
            heapq.heappop(self.timer_heap)
        return None

    def pop_ready(self) -> Message | None:
        """The oldest ready message of a standard queue (not yet taken out of READY)."""
        while self.ready_heap:
            _, gen, message_id = heapq.heappop(self.ready_heap)
            message = self.messages.get(message_id)
            if message is not None and message.gen == gen and message.state == READY:
                return message
        return None

    def oldest_ready(self, limit: int) -> list[Message]:
        """Up to ``limit`` of the oldest ready messages of a standard queue, left ready (the
        delivery model chooses among them when it reorders)."""
        found: list[Message] = []
        while len(found) < limit:
            message = self.pop_ready()
            if message is None:
                break
            found.append(message)
        for message in found:
            heapq.heappush(self.ready_heap, (message.seq, message.gen, message.key))
        return found

    def fifo_candidates(self, limit: int) -> list[Message]:
        """Visible messages from the heads of the groups, each group in send order.

        A group gives its messages up to the first one that is not visible, so a group whose
        next message is in flight gives nothing (the group lock), while one whose head became
        visible again gives it even if a later message is still in flight (as AWS records
        show). Groups are served in the order their heads became visible, oldest first, and
        each gives as many as it can before the next is asked (docs/aws-behaviour.md
        section 3, "FIFO queue delivery logic")."""
        heads = sorted(
            (members[0].ready_at, members[0].seq, group)
            for group, members in self.groups.items()
            if members[0].state == READY
        )
        out: list[Message] = []
        for _, _, group in heads:
            for message in self.groups[group]:
                if message.state != READY:
                    break
                out.append(message)
                if len(out) >= limit:
                    return out
        return out

    def expired(self, now: float) -> list[Message]:
        """Messages older than the retention period."""
        out = []
        cutoff = now - self.retention
        while self.age_heap and self.age_heap[0][0] <= cutoff:
            _, _, message_id = heapq.heappop(self.age_heap)
            message = self.messages.get(message_id)
            if message is not None:
                out.append(message)
        return out
