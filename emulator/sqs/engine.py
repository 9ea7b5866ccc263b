"""The SQS engine: queue semantics only, no HTTP, no sleeping.

Time comes from an injected clock and randomness from an injected ``random.Random``, so every
timing rule (visibility, delays, retention, deduplication windows, the purge rule) is tested by
moving a ``ManualClock``. Long polling is the adapter's job: the engine says when a queue may next
change (``next_change_at``) and calls ``on_ready`` when messages become available."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from emulator.clock import Clock
from emulator.events import sqs as sqs_events
from emulator.events.model import Event
from emulator.events.sqs import receipt_tag
from emulator.sqs import attributes as qattrs
from emulator.sqs.delivery import Chaos, DeliveryModel
from emulator.sqs.errors import SqsError, invalid_value, missing, no_queue
from emulator.sqs.limits import DELAY_SECONDS, VISIBILITY_TIMEOUT
from emulator.sqs.messages import (
    AttributeValue,
    check_attributes,
    check_body,
    md5_of_attributes,
    md5_of_body,
    message_size,
)
from emulator.sqs.model import DELAYED, IN_FLIGHT, READY, SENDER_ID, Message, Queue
from emulator.sqs.move_tasks import MoveTasks
from emulator.sqs.ports import NullStore, Store

_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_FIFO_ID = re.compile(r"^[!-~]{1,128}$")
DEDUP_WINDOW = 300.0
ATTEMPT_WINDOW = 300.0
PURGE_WINDOW = 60.0
RECREATE_WINDOW = 60.0
# FIFO send errors, word for word as AWS answers them (docs/aws-behaviour.md section 3).
NO_DEDUP_ID = (
    "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId "
    "provided explicitly"
)
NOT_FOR_THIS_QUEUE_TYPE = "The request include parameter that is not valid for this queue type."
# Where the engine reports what it decided: a callable taking an event (the event log's
# ``publish``; a list's ``append`` in tests).
EventSink = Callable[[Event], None]


@dataclass(frozen=True)
class SendRequest:
    body: str
    delay_seconds: int | None = None
    attributes: dict[str, AttributeValue] | None = None
    system_attributes: dict[str, AttributeValue] | None = None
    group_id: str | None = None
    dedup_id: str | None = None
    # The request's X-Amzn-Trace-Id header, which AWS keeps as the AWSTraceHeader system
    # attribute of every message the request sends, unless the message names its own.
    trace_header: str | None = None


@dataclass(frozen=True)
class SendResult:
    message_id: str
    md5_body: str
    md5_attributes: str | None
    md5_system_attributes: str | None
    sequence_number: str | None


@dataclass(frozen=True)
class Delivery:
    message: Message
    receipt: str


class SqsEngine:
    def __init__(
        self,
        clock: Clock,
        *,
        rng: random.Random | None = None,
        region: str = "us-east-1",
        account_id: str = "000000000000",
        store: Store | None = None,
        on_ready: Callable[[str], None] | None = None,
        on_event: EventSink | None = None,
        delivery: DeliveryModel | None = None,
    ) -> None:
        self.clock = clock
        # Off unless configured: then it injects nothing and is asked almost nothing.
        self.delivery = delivery or DeliveryModel()
        self.rng = rng or random.Random()
        self.region = region
        self.account_id = account_id
        self.store: Store = store or NullStore()
        self.on_ready = on_ready
        self.on_event = on_event
        self.queues: dict[str, Queue] = {}
        self.deleted_at: dict[str, float] = {}
        self.seq = 0
        # Dead-letter redrives (StartMessageMoveTask), moved on this engine's tick.
        self.move_tasks = MoveTasks(self)

    # -- queues ---------------------------------------------------------------------------

    def arn(self, name: str) -> str:
        return f"arn:aws:sqs:{self.region}:{self.account_id}:{name}"

    def queue(self, name: str) -> Queue:
        queue = self.queues.get(name)
        if queue is None:
            raise no_queue()
        return queue

    def create_queue(
        self,
        name: str,
        attributes: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
    ) -> Queue:
        attributes = dict(attributes or {})
        if not isinstance(name, str) or not name:
            raise missing("QueueName")
        fifo_name = name.endswith(".fifo")
        base = name[: -len(".fifo")] if fifo_name else name
        if not _QUEUE_NAME.match(base) or len(name) > 80:
            raise invalid_value(
                "QueueName",
                name,
                "Must be an alphanumeric String of 1 to 80 in length (hyphens and underscores "
                "allowed; FIFO queue names end in .fifo).",
            )
        fifo = str(attributes.get("FifoQueue", "false")).lower() == "true"
        if fifo != fifo_name:
            raise invalid_value(
                "QueueName",
                name,
                "A FIFO queue's name must end in .fifo and FifoQueue must be true; "
                "a standard queue's name must not end in .fifo.",
            )
        # A standard queue takes no FIFO attribute, not even FifoQueue=false.
        clean = qattrs.validate(attributes, fifo=fifo, creating=True)
        now = self.clock.now()
        existing = self.queues.get(name)
        if existing is not None:
            for key, value in clean.items():
                current = existing.attributes.get(key, "true" if key == "FifoQueue" else None)
                if current != value:
                    raise SqsError(
                        "QueueNameExists",
                        f"A queue already exists with the same name and a different value for "
                        f"attribute {key}",
                    )
            return existing
        deleted = self.deleted_at.get(name)
        if deleted is not None and now - deleted < RECREATE_WINDOW:
            raise SqsError(
                "QueueDeletedRecently",
                "You must wait 60 seconds after deleting a queue before you can create another "
                "with the same name.",
            )
        merged = {**qattrs.defaults(fifo), **clean}
        if fifo:
            merged["FifoQueue"] = "true"
        qattrs.check_throughput(merged)
        self._check_redrive(name, fifo, merged)
        queue = Queue(
            name=name,
            arn=self.arn(name),
            fifo=fifo,
            attributes=merged,
            created_at=now,
            modified_at=now,
            tags=dict(tags or {}),
            dedup_scope=merged.get("DeduplicationScope", "queue"),
        )
        self.queues[name] = queue
        self.store.save_queue(queue)
        self._emit(sqs_events.SqsQueueCreated(queue=name))
        return queue

    def delete_queue(self, name: str) -> None:
        queue = self.queue(name)
        del self.queues[name]
        self.deleted_at[name] = self.clock.now()
        self.store.drop_queue(name)
        self._emit(sqs_events.SqsQueueDeleted(queue=name, messages=len(queue.messages)))

    def list_queues(self, prefix: str = "") -> list[str]:
        return sorted(name for name in self.queues if name.startswith(prefix))

    def get_attributes(self, name: str, names: list[str]) -> dict[str, str]:
        queue = self.queue(name)
        for wanted in names:
            if wanted not in qattrs.ALL_NAMES:
                raise qattrs.unknown_attribute(wanted)
        self._advance(queue)
        values = dict(queue.attributes)
        values.update(
            QueueArn=queue.arn,
            ApproximateNumberOfMessages=str(queue.counts[READY]),
            ApproximateNumberOfMessagesNotVisible=str(queue.counts[IN_FLIGHT]),
            ApproximateNumberOfMessagesDelayed=str(queue.counts[DELAYED]),
            CreatedTimestamp=str(int(queue.created_at)),
            LastModifiedTimestamp=str(int(queue.modified_at)),
        )
        if "All" in names:
            return values
        return {key: values[key] for key in names if key in values}

    def set_attributes(self, name: str, attributes: dict[str, str]) -> None:
        queue = self.queue(name)
        removable = {"Policy", "RedrivePolicy", "RedriveAllowPolicy", "KmsMasterKeyId"}
        to_remove = {k for k, v in attributes.items() if k in removable and v == ""}
        clean = qattrs.validate(
            {k: v for k, v in attributes.items() if k not in to_remove},
            fifo=queue.fifo,
            creating=False,
        )
        merged = {k: v for k, v in {**queue.attributes, **clean}.items() if k not in to_remove}
        qattrs.check_throughput(merged)
        self._check_redrive(name, queue.fifo, merged)
        queue.attributes = merged
        queue.modified_at = self.clock.now()
        self.store.save_queue(queue)
        self._wake(queue)

    def _check_redrive(self, name: str, fifo: bool, attributes: dict[str, str]) -> None:
        policy = attributes.get("RedrivePolicy")
        if not policy:
            return
        target_arn = json.loads(policy)["deadLetterTargetArn"]
        target = self.queues.get(target_arn.rsplit(":", 1)[-1])
        if target is None or target.arn != target_arn:
            raise invalid_value("RedrivePolicy", policy, "Dead letter target does not exist.")
        if target.fifo != fifo:
            raise invalid_value(
                "RedrivePolicy",
                policy,
                "Dead-letter queue must be same type of queue as the source.",
            )
        allow = target.attributes.get("RedriveAllowPolicy")
        if allow:
            rules = json.loads(allow)
            permission = rules.get("redrivePermission")
            if permission == "denyAll" or (
                permission == "byQueue" and self.arn(name) not in rules.get("sourceQueueArns", [])
            ):
                raise invalid_value(
                    "RedrivePolicy",
                    policy,
                    "The dead-letter queue does not allow this source queue.",
                )

    def dead_letter_sources(self, name: str) -> list[str]:
        target = self.queue(name)
        sources = []
        for queue in self.queues.values():
            policy = queue.attributes.get("RedrivePolicy")
            if policy and json.loads(policy)["deadLetterTargetArn"] == target.arn:
                sources.append(queue.name)
        return sorted(sources)

    def tag(self, name: str, tags: dict[str, str]) -> None:
        queue = self.queue(name)
        queue.tags.update(tags)
        self.store.save_queue(queue)

    def untag(self, name: str, keys: list[str]) -> None:
        queue = self.queue(name)
        for key in keys:
            queue.tags.pop(key, None)
        self.store.save_queue(queue)

    def purge(self, name: str) -> int:
        queue = self.queue(name)
        now = self.clock.now()
        if queue.last_purge_at is not None and now - queue.last_purge_at < PURGE_WINDOW:
            raise SqsError(
                "PurgeQueueInProgress",
                f"Only one PurgeQueue operation on {name} is allowed every 60 seconds.",
            )
        count = len(queue.messages)
        queue.clear()
        # AWS forgets the deduplication ids too: the same id may be sent again at once.
        queue.dedup.clear()
        queue.attempts.clear()
        queue.last_purge_at = now
        self.store.drop_all_messages(name)
        self._emit(sqs_events.SqsQueuePurged(queue=name, messages=count))
        return count

    # -- messages -------------------------------------------------------------------------

    def send(self, name: str, request: SendRequest) -> SendResult:
        queue = self.queue(name)
        body = check_body(request.body)
        attributes = dict(request.attributes or {})
        system = dict(request.system_attributes or {})
        check_attributes(attributes)
        check_attributes(system, system=True)
        md5_system = md5_of_attributes(system)  # of what the client sent, which it checks
        if request.trace_header is not None and "AWSTraceHeader" not in system:
            system["AWSTraceHeader"] = AttributeValue("String", request.trace_header)
        limit = queue.int_attribute("MaximumMessageSize")
        if message_size(body, attributes) > limit:
            raise SqsError(
                "InvalidParameterValue",
                "One or more parameters are invalid. "
                f"Reason: Message must be shorter than {limit} bytes.",
            )
        now = self.clock.now()
        delay = self._delay(queue, request.delay_seconds)
        group_id, dedup_id = self._fifo_ids(queue, request, body)
        if queue.fifo:
            key = (group_id if queue.dedup_scope == "messageGroup" else "", dedup_id)
            self._expire_dedup(queue, now)
            seen = queue.dedup.get(key)
            if seen is not None:
                _, message_id, sequence_number = seen
                self._emit(sqs_events.SqsSendDeduplicated(queue=name, message_id=message_id))
                return SendResult(
                    message_id,
                    md5_of_body(body),
                    md5_of_attributes(attributes),
                    md5_system,
                    sequence_number,
                )
        self.seq += 1
        message = Message(
            message_id=str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            body=body,
            attributes=attributes,
            system_attributes=system,
            md5_body=md5_of_body(body),
            md5_attributes=md5_of_attributes(attributes),
            md5_system_attributes=md5_system,
            sent_at=now,
            seq=self.seq,
            sender_id=SENDER_ID,
            group_id=group_id,
            dedup_id=dedup_id,
            sequence_number=str(18_000_000_000_000_000_000 + self.seq) if queue.fifo else None,
        )
        if queue.fifo:
            queue.dedup[key] = (now + DEDUP_WINDOW, message.message_id, message.sequence_number)
        chaos = self.delivery.chaos(name, queue.fifo)
        extra = self.delivery.send_delay(name, chaos) if chaos is not None else 0.0
        if extra > 0:
            delay += extra
            self._emit(
                sqs_events.SqsDelayInjected(
                    queue=name,
                    message_id=message.message_id,
                    seq=message.seq,
                    extra=round(extra, 3),
                )
            )
        state = DELAYED if delay > 0 else READY
        queue.add(message, state, now + delay)
        self.store.save_message(name, message)
        self._emit(
            sqs_events.SqsSend(
                queue=name, message_id=message.message_id, seq=message.seq, delay=delay
            )
        )
        if state == READY:
            self._wake(queue)
        return SendResult(
            message.message_id,
            message.md5_body,
            message.md5_attributes,
            message.md5_system_attributes,
            message.sequence_number,
        )

    def _delay(self, queue: Queue, requested: int | None) -> int:
        # A FIFO queue takes DelaySeconds=0, which changes nothing: only the queue's delay
        # applies to its messages.
        if requested is None or (queue.fifo and requested == 0):
            return queue.int_attribute("DelaySeconds")
        if queue.fifo:
            raise invalid_value("DelaySeconds", requested, NOT_FOR_THIS_QUEUE_TYPE)
        if requested not in DELAY_SECONDS:
            raise invalid_value(
                "DelaySeconds",
                requested,
                f"Must be between {DELAY_SECONDS.lo} and {DELAY_SECONDS.hi}.",
            )
        return requested

    def _fifo_ids(
        self, queue: Queue, request: SendRequest, body: str
    ) -> tuple[str | None, str | None]:
        for label, value in (
            ("MessageGroupId", request.group_id),
            ("MessageDeduplicationId", request.dedup_id),
        ):
            if value is not None and not _FIFO_ID.match(value):
                raise invalid_value(
                    label,
                    value,
                    f"{label} can only include alphanumeric and punctuation characters. "
                    "1 to 128 in length.",
                )
        if not queue.fifo:
            if request.dedup_id is not None:
                raise invalid_value(
                    "MessageDeduplicationId", request.dedup_id, NOT_FOR_THIS_QUEUE_TYPE
                )
            return request.group_id, None
        if request.group_id is None:
            raise missing("MessageGroupId")
        dedup_id = request.dedup_id
        if dedup_id is None:
            if queue.attributes.get("ContentBasedDeduplication") != "true":
                raise SqsError("InvalidParameterValue", NO_DEDUP_ID)
            dedup_id = hashlib.sha256(body.encode()).hexdigest()
        return request.group_id, dedup_id

    def check_send_batch(self, name: str, requests: list[SendRequest]) -> None:
        """The rules a SendMessageBatch to a FIFO queue must meet as a whole: AWS fails the
        whole call, not the entry, when an entry lacks its group id or (without content-based
        deduplication) its deduplication id, and sends none of the entries."""
        queue = self.queue(name)
        if not queue.fifo:
            return
        content_based = queue.attributes.get("ContentBasedDeduplication") == "true"
        for request in requests:
            if request.group_id is None:
                raise SqsError(
                    "InvalidParameterValue",
                    "The request must contain the parameter MessageGroupId.",
                )
            if request.dedup_id is None and not content_based:
                raise SqsError("InvalidParameterValue", NO_DEDUP_ID)

    def receive(
        self,
        name: str,
        max_messages: int = 1,
        visibility_timeout: int | None = None,
        attempt_id: str | None = None,
        *,
        short_poll: bool = False,
    ) -> list[Delivery]:
        """Deliver up to ``max_messages``. ``short_poll``: the caller will not wait for more
        (WaitTimeSeconds 0), which is when SQS samples (and the delivery model may)."""
        queue = self.queue(name)
        now = self.clock.now()
        self._advance(queue)
        timeout = queue.visibility_timeout if visibility_timeout is None else visibility_timeout
        if queue.fifo and attempt_id is not None:
            repeated = self._repeat_attempt(queue, attempt_id, now, timeout)
            if repeated is not None:
                return repeated
        chaos = self.delivery.chaos(name, queue.fifo)
        if chaos is not None and short_poll:
            max_messages = self._sample(queue, chaos, max_messages)
        deliveries: list[Delivery] = []
        while len(deliveries) < max_messages:
            wanted = max_messages - len(deliveries)
            if chaos is not None and chaos.reorder:
                candidates = self._reordered(queue, chaos)
            else:
                candidates = self._candidates(queue, wanted)
            if not candidates:
                break
            for message in candidates:
                if not message.injected and self._dead_letter(queue, message, now):
                    continue
                deliveries.append(self._deliver(queue, message, now, timeout))
                if chaos is not None and not message.injected:
                    self._maybe_duplicate(queue, chaos, message, now)
        stored = [d.message for d in deliveries if not d.message.injected]
        if stored:
            self.store.save_deliveries(name, stored)
        if queue.fifo and attempt_id is not None:
            queue.attempts[attempt_id] = (
                now + ATTEMPT_WINDOW,
                [(d.message.message_id, d.receipt) for d in deliveries],
            )
        return deliveries

    def _candidates(self, queue: Queue, limit: int) -> list[Message]:
        if queue.fifo:
            return queue.fifo_candidates(limit)
        out = []
        while len(out) < limit:
            message = queue.pop_ready()
            if message is None:
                break
            out.append(message)
        return out

    # -- the delivery model's effects (standard queues, when it is on) ----------------------

    def _sample(self, queue: Queue, chaos: Chaos, wanted: int) -> int:
        available = queue.counts[READY]
        limit = self.delivery.receive_limit(queue.name, chaos, wanted, available)
        if limit < min(wanted, available):
            self._emit(
                sqs_events.SqsSampled(
                    queue=queue.name, asked=wanted, available=available, returned=limit
                )
            )
        return limit

    def _reordered(self, queue: Queue, chaos: Chaos) -> list[Message]:
        """One message, perhaps not the oldest: the model picks among the oldest few."""
        oldest = queue.oldest_ready(chaos.reorder_window)
        if not oldest:
            return []
        pick = self.delivery.pick(queue.name, chaos, len(oldest))
        chosen = oldest[pick.index]
        if pick.skipped:
            self._emit(
                sqs_events.SqsReordered(
                    queue=queue.name,
                    message_id=chosen.message_id,
                    seq=chosen.seq,
                    skipped=pick.skipped,
                    oldest_seq=oldest[0].seq,
                )
            )
        return [chosen]

    def _maybe_duplicate(self, queue: Queue, chaos: Chaos, message: Message, now: float) -> None:
        """An injected copy of a delivered message, visible again after a few seconds whatever
        happens to the original (SQS may deliver a message again even after a delete). Copies
        live in memory only: a restart forgets them, as it forgets visibility."""
        after = self.delivery.duplicate_after(queue.name, chaos)
        if after is None:
            return
        queue.copies += 1
        copy = replace(
            message,
            key=f"{message.message_id}#{queue.copies}",
            injected=True,
            receipt=None,
            gen=0,
            state=-1,
        )
        queue.add(copy, DELAYED, now + after)
        self._emit(
            sqs_events.SqsDuplicateInjected(
                queue=queue.name,
                message_id=message.message_id,
                seq=message.seq,
                after=round(after, 3),
            )
        )

    def _deliver(self, queue: Queue, message: Message, now: float, timeout: int) -> Delivery:
        message.receive_count += 1
        if message.first_receive_at is None:
            message.first_receive_at = now
        message.received_at = now
        message.receipt = self._receipt(queue.name, message.key)
        queue.set_state(message, IN_FLIGHT, now + timeout)
        self._emit(
            sqs_events.SqsReceive(
                queue=queue.name,
                message_id=message.message_id,
                seq=message.seq,
                receive_count=message.receive_count,
                visibility_timeout=timeout,
                receipt=receipt_tag(message.receipt),
                injected=message.injected,
            )
        )
        return Delivery(message, message.receipt)

    def _dead_letter(self, queue: Queue, message: Message, now: float) -> bool:
        """Move a message that has used up its receives to the dead-letter queue, if any."""
        policy = queue.attributes.get("RedrivePolicy")
        if not policy:
            return False
        rules = json.loads(policy)
        if message.receive_count < int(rules["maxReceiveCount"]):
            return False
        target = self.queues.get(rules["deadLetterTargetArn"].rsplit(":", 1)[-1])
        if target is None:
            return False
        queue.remove(message)
        self.store.drop_message(queue.name, message.message_id)
        # The message keeps what it had: attributes, system attributes (SentTimestamp too),
        # ApproximateReceiveCount and ApproximateFirstReceiveTimestamp. Only a FIFO message's
        # retention starts again, as AWS resets its enqueue time on the move.
        message.gen = 0
        message.received_at = None
        message.receipt = None
        message.dead_letter_source_arn = queue.arn
        if target.fifo:
            message.enqueued_at = now
        target.add(message, READY, now)
        self.store.save_message(target.name, message)
        self._emit(
            sqs_events.SqsDeadLetter(
                queue=queue.name, message_id=message.message_id, target=target.name
            )
        )
        self._wake(target)
        return True

    def _repeat_attempt(
        self, queue: Queue, attempt_id: str, now: float, timeout: int
    ) -> list[Delivery] | None:
        for key in [k for k, (exp, _) in queue.attempts.items() if exp <= now]:
            del queue.attempts[key]
        remembered = queue.attempts.get(attempt_id)
        if remembered is None:
            return None
        deliveries = []
        for message_id, receipt in remembered[1]:
            message = queue.messages.get(message_id)
            if message is None or message.receipt != receipt or message.state != IN_FLIGHT:
                return None
            deliveries.append(Delivery(message, receipt))
        for delivery in deliveries:
            queue.set_state(delivery.message, IN_FLIGHT, now + timeout)
        return deliveries

    def delete(self, name: str, receipt: str) -> None:
        queue = self.queue(name)
        if queue.fifo:
            self._advance(queue)  # so a handle whose visibility just ran out is known expired
        message = self._message_for(queue, receipt)
        if message is None:
            return  # already deleted: SQS answers success
        if message.receipt != receipt or message.state != IN_FLIGHT:
            if queue.fifo:
                # A FIFO queue refuses a handle whose visibility ran out (the message may have
                # gone to another consumer since); a standard queue accepts it.
                raise invalid_value("ReceiptHandle", receipt, "The receipt handle has expired.")
            if message.receipt != receipt:
                # A stale handle: SQS answers success and may leave the message, which is how
                # a slow consumer causes a duplicate.
                return
        queue.remove(message)
        if not message.injected:
            self.store.drop_message(name, message.message_id)
        self._emit(
            sqs_events.SqsDelete(
                queue=name,
                message_id=message.message_id,
                seq=message.seq,
                injected=message.injected,
            )
        )

    def change_visibility(self, name: str, receipt: str, timeout: int) -> None:
        queue = self.queue(name)
        if timeout not in VISIBILITY_TIMEOUT:
            raise invalid_value(
                "VisibilityTimeout",
                timeout,
                f"Must be between {VISIBILITY_TIMEOUT.lo} and {VISIBILITY_TIMEOUT.hi}.",
            )
        self._advance(queue)
        message = self._message_for(queue, receipt)
        if message is None or (queue.fifo and message.receipt != receipt):
            raise invalid_value(
                "ReceiptHandle",
                receipt,
                "Message does not exist or is not available for visibility timeout change.",
            )
        if message.state != IN_FLIGHT:
            if not queue.fifo:
                # A standard queue answers success and changes nothing: the message is
                # visible again, and stays so.
                return
            raise SqsError("MessageNotInflight", "The message is not in flight.")
        # On a standard queue any handle of the message, even one from an earlier receive,
        # changes the visibility of its current delivery.
        now = self.clock.now()
        if now + timeout > (message.received_at or now) + VISIBILITY_TIMEOUT.hi:
            raise invalid_value(
                "VisibilityTimeout",
                timeout,
                "Total VisibilityTimeout for the message is beyond the limit [43200 seconds].",
            )
        queue.set_state(message, IN_FLIGHT, now + timeout)
        self._emit(
            sqs_events.SqsChangeVisibility(
                queue=name,
                message_id=message.message_id,
                timeout=timeout,
                injected=message.injected,
            )
        )
        if timeout == 0:
            self._advance(queue)

    # -- receipts -------------------------------------------------------------------------

    def _receipt(self, queue_name: str, key: str) -> str:
        nonce = f"{self.rng.getrandbits(64):016x}"
        raw = f"{queue_name}\x1f{key}\x1f{nonce}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _message_for(self, queue: Queue, receipt: str) -> Message | None:
        try:
            padded = receipt + "=" * (-len(receipt) % 4)
            queue_name, key, _ = base64.urlsafe_b64decode(padded).decode().split("\x1f")
        except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
            raise SqsError(
                "ReceiptHandleIsInvalid",
                f'The input receipt handle "{receipt}" is not a valid receipt handle.',
            ) from None
        if queue_name != queue.name:
            raise SqsError(
                "ReceiptHandleIsInvalid",
                f'The input receipt handle "{receipt}" is not a valid for this queue.',
            )
        return queue.messages.get(key)

    # -- time -----------------------------------------------------------------------------

    def _advance(self, queue: Queue) -> None:
        now = self.clock.now()
        became_ready = False
        for message in queue.due_timers(now):
            if message.state == IN_FLIGHT:
                self._emit(
                    sqs_events.SqsVisibilityExpired(
                        queue=queue.name,
                        message_id=message.message_id,
                        seq=message.seq,
                        receive_count=message.receive_count,
                        injected=message.injected,
                    )
                )
            queue.set_state(message, READY)
            became_ready = True
        expired = queue.expired(now)
        for message in expired:
            queue.remove(message)
            if message.injected:
                continue  # a copy goes with its original, silently
            self.store.drop_message(queue.name, message.message_id)
            self._emit(
                sqs_events.SqsRetentionExpired(queue=queue.name, message_id=message.message_id)
            )
        if became_ready:
            self._wake(queue)

    def _expire_dedup(self, queue: Queue, now: float) -> None:
        while queue.dedup:
            key, (expires, _, _) = next(iter(queue.dedup.items()))
            if expires > now:
                break
            del queue.dedup[key]

    def tick(self) -> None:
        """Apply every timer that is due, in every queue (called about every 100 ms)."""
        now = self.clock.now()
        for queue in list(self.queues.values()):
            self._advance(queue)
            self._expire_dedup(queue, now)
        for name in [n for n, at in self.deleted_at.items() if now - at >= RECREATE_WINDOW]:
            del self.deleted_at[name]
        self.move_tasks.tick()

    def next_change_at(self, name: str) -> float | None:
        queue = self.queues.get(name)
        return queue.next_timer() if queue else None

    # -- plumbing -------------------------------------------------------------------------

    def _wake(self, queue: Queue) -> None:
        if self.on_ready is not None and queue.counts[READY]:
            self.on_ready(queue.name)

    def _emit(self, event: Event) -> None:
        """Report a decision; the event log stamps the time with the same clock."""
        if self.on_event is not None:
            self.on_event(event)

    def restore(self, queues: list[Queue], messages: dict[str, list[Message]]) -> None:
        """Load what the store kept. Messages that were in flight become visible again: a crash
        may cause redelivery, never loss."""
        now = self.clock.now()
        for queue in queues:
            self.queues[queue.name] = queue
            for message in messages.get(queue.name, []):
                self.seq = max(self.seq, message.seq)
                delayed = message.visible_at > now and message.receive_count == 0
                queue.add(message, DELAYED if delayed else READY, message.visible_at)
