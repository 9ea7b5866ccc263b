"""SQS actions as data: a request is the action name and its parameters under the API's member
names (as boto3 and the JSON protocol spell them), a reply is a dict of the same kind. Both wire
protocols decode to this and encode from it, so the two cannot drift apart.

An action only translates: ``params`` reads the request, the engine decides, ``replies`` shapes
the answer, and the three batch actions are their single action run by ``batch.run_batch``.
Long polling lives here, in asyncio, around the engine's synchronous calls."""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Awaitable, Callable
from functools import partial

from emulator.sqs import admin_actions
from emulator.sqs import params as read
from emulator.sqs.batch import run_batch
from emulator.sqs.engine import SendRequest, SqsEngine
from emulator.sqs.errors import SqsError, in_batch, invalid_value
from emulator.sqs.limits import (
    MAX_NUMBER_OF_MESSAGES,
    MAX_RESULTS,
    VISIBILITY_TIMEOUT,
    WAIT_TIME_SECONDS,
    check_batch_size,
)
from emulator.sqs.messages import message_size
from emulator.sqs.params import Params
from emulator.sqs.replies import Reply, message_reply, send_reply
from emulator.waiting import sleep_or_wake

# The actions that keep a request's X-Amzn-Trace-Id as the AWSTraceHeader of what they send.
_TRACED = frozenset({"SendMessage", "SendMessageBatch"})


def _check_batch_size(requests: list[SendRequest]) -> None:
    check_batch_size(message_size(r.body, r.attributes or {}) for r in requests)


class SqsService:
    def __init__(self, engine: SqsEngine) -> None:
        self.engine = engine
        self._ready_events: dict[str, asyncio.Event] = {}
        engine.on_ready = self._notify
        self.actions: dict[str, Callable[[Params, str], Awaitable[Reply] | Reply]] = {
            "CreateQueue": self.create_queue,
            "GetQueueUrl": self.get_queue_url,
            "ListQueues": self.list_queues,
            "DeleteQueue": self.delete_queue,
            "GetQueueAttributes": self.get_queue_attributes,
            "SetQueueAttributes": self.set_queue_attributes,
            "SendMessage": self.send_message,
            "SendMessageBatch": self.send_message_batch,
            "ReceiveMessage": self.receive_message,
            "DeleteMessage": self.delete_message,
            "DeleteMessageBatch": self.delete_message_batch,
            "ChangeMessageVisibility": self.change_message_visibility,
            "ChangeMessageVisibilityBatch": self.change_message_visibility_batch,
            "PurgeQueue": self.purge_queue,
            "TagQueue": self.tag_queue,
            "UntagQueue": self.untag_queue,
            "ListQueueTags": self.list_queue_tags,
            "ListDeadLetterSourceQueues": self.list_dead_letter_source_queues,
        }
        # AddPermission, RemovePermission and the message move task actions
        self.actions.update(admin_actions.actions(engine))

    async def call(
        self, action: str, params: Params, base_url: str, *, trace_header: str | None = None
    ) -> Reply:
        """Runs one action; every store write it makes is one transaction. ReceiveMessage opens
        its own per attempt, so a long poll holds none while it waits. ``trace_header`` is the
        request's X-Ray header, which only the send actions keep."""
        handler = self.actions.get(action)
        if handler is None:
            raise SqsError("InvalidAction", f"The action {action} is not valid for this endpoint.")
        if trace_header and action in _TRACED:
            handler = partial(handler, trace_header=trace_header)
        if action == "ReceiveMessage":
            return await self.receive_message(params, base_url)
        with self.engine.store.transaction():
            return handler(params, base_url)  # type: ignore[return-value]

    # -- names and URLs -------------------------------------------------------------------

    def queue_url(self, base_url: str, name: str) -> str:
        return f"{base_url}/{self.engine.account_id}/{name}"

    def _existing_queue(self, params: Params) -> str:
        """The queue a batch names, checked before its entries: a missing queue fails the
        request, not each entry."""
        name = read.queue_name(params)
        self.engine.queue(name)
        return name

    # -- queues ---------------------------------------------------------------------------

    def create_queue(self, params: Params, base_url: str) -> Reply:
        name = read.required_string(params, "QueueName")
        tags = read.str_map(params, "tags")
        queue = self.engine.create_queue(name, read.str_map(params, "Attributes"), tags)
        return {"QueueUrl": self.queue_url(base_url, queue.name)}

    def get_queue_url(self, params: Params, base_url: str) -> Reply:
        name = read.required_string(params, "QueueName")
        owner = read.string(params, "QueueOwnerAWSAccountId")
        if owner is not None and owner != self.engine.account_id:
            raise SqsError("QueueDoesNotExist", "The specified queue does not exist.")
        return {"QueueUrl": self.queue_url(base_url, self.engine.queue(name).name)}

    def _page(self, params: Params, names: list[str], key: str, base_url: str) -> Reply:
        """One page of queue URLs. The token is the last name on the page, so a queue created
        or deleted between pages neither repeats nor hides another."""
        limit = read.integer(params, "MaxResults", MAX_RESULTS)
        token = read.string(params, "NextToken")
        start = 0
        if token:
            try:
                after = base64.urlsafe_b64decode(token.encode()).decode()
                # only a token this emulator issued: lenient base64 reads "!!!" as "", which
                # would silently start the listing again
                if base64.urlsafe_b64encode(after.encode()).decode() != token:
                    raise ValueError(token)
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise invalid_value("NextToken", token, "Invalid token.") from None
            start = next((i for i, n in enumerate(names) if n > after), len(names))
        end = len(names) if limit is None else min(len(names), start + limit)
        if limit is None:
            end = min(end, start + MAX_RESULTS.hi)
        reply: Reply = {}
        page = names[start:end]
        if page:
            reply[key] = [self.queue_url(base_url, n) for n in page]
        if limit is not None and end < len(names):
            reply["NextToken"] = base64.urlsafe_b64encode(page[-1].encode()).decode()
        return reply

    def list_queues(self, params: Params, base_url: str) -> Reply:
        prefix = read.string(params, "QueueNamePrefix") or ""
        return self._page(params, self.engine.list_queues(prefix), "QueueUrls", base_url)

    def delete_queue(self, params: Params, base_url: str) -> Reply:
        self.engine.delete_queue(read.queue_name(params))
        return {}

    def get_queue_attributes(self, params: Params, base_url: str) -> Reply:
        names = read.str_list(params, "AttributeNames")
        values = self.engine.get_attributes(read.queue_name(params), names)
        return {"Attributes": values} if values else {}

    def set_queue_attributes(self, params: Params, base_url: str) -> Reply:
        attributes = read.str_map(params, "Attributes")
        self.engine.set_attributes(read.queue_name(params), attributes)
        return {}

    def purge_queue(self, params: Params, base_url: str) -> Reply:
        self.engine.purge(read.queue_name(params))
        return {}

    def tag_queue(self, params: Params, base_url: str) -> Reply:
        self.engine.tag(read.queue_name(params), read.str_map(params, "Tags"))
        return {}

    def untag_queue(self, params: Params, base_url: str) -> Reply:
        self.engine.untag(read.queue_name(params), read.str_list(params, "TagKeys"))
        return {}

    def list_queue_tags(self, params: Params, base_url: str) -> Reply:
        tags = self.engine.queue(read.queue_name(params)).tags
        return {"Tags": dict(tags)} if tags else {}

    def list_dead_letter_source_queues(self, params: Params, base_url: str) -> Reply:
        sources = self.engine.dead_letter_sources(read.queue_name(params))
        reply = self._page(params, sources, "queueUrls", base_url)
        reply.setdefault("queueUrls", [])
        return reply

    # -- messages -------------------------------------------------------------------------

    def send_message(self, params: Params, base_url: str, trace_header: str | None = None) -> Reply:
        name = read.queue_name(params)
        return send_reply(self.engine.send(name, read.send_request(params, trace_header)))

    def send_message_batch(
        self, params: Params, base_url: str, trace_header: str | None = None
    ) -> Reply:
        """The X-Ray header goes to every entry. An entry's error reads as AWS words it in a
        batch, which for some messages differs from the single call."""
        name = self._existing_queue(params)

        def read_entry(entry: Params) -> SendRequest:
            try:
                return read.send_request(entry, trace_header)
            except SqsError as error:
                raise in_batch(error) from None

        def send(request: SendRequest) -> Reply:
            try:
                return send_reply(self.engine.send(name, request))
            except SqsError as error:
                raise in_batch(error) from None

        def check(requests: list[SendRequest]) -> None:
            _check_batch_size(requests)
            self.engine.check_send_batch(name, requests)  # FIFO ids: the whole call fails

        entries = read.entries(params, "SendMessageBatchRequestEntry")
        return run_batch(entries, read_entry, send, check=check)

    async def receive_message(self, params: Params, base_url: str) -> Reply:
        name = read.queue_name(params)
        queue = self.engine.queue(name)
        count = read.integer(params, "MaxNumberOfMessages", MAX_NUMBER_OF_MESSAGES)
        visibility = read.integer(params, "VisibilityTimeout", VISIBILITY_TIMEOUT)
        wait = read.integer(params, "WaitTimeSeconds", WAIT_TIME_SECONDS)
        attempt = read.string(params, "ReceiveRequestAttemptId")
        system = set(read.str_list(params, "AttributeNames")) | set(
            read.str_list(params, "MessageSystemAttributeNames")
        )
        wanted = read.str_list(params, "MessageAttributeNames")
        if wait is None:
            wait = queue.int_attribute("ReceiveMessageWaitTimeSeconds")
        clock = self.engine.clock
        deadline = clock.now() + wait
        while True:
            with self.engine.store.transaction():
                deliveries = self.engine.receive(
                    name, count or 1, visibility, attempt, short_poll=wait == 0
                )
            now = clock.now()
            if deliveries or now >= deadline:
                break
            wake = self.engine.next_change_at(name)
            await self._wait_ready(
                name, min(deadline, wake if wake is not None else deadline) - now
            )
        if not deliveries:
            return {}
        return {"Messages": [message_reply(d, system, wanted) for d in deliveries]}

    def delete_message(self, params: Params, base_url: str) -> Reply:
        receipt = read.required_string(params, "ReceiptHandle")
        self.engine.delete(read.queue_name(params), receipt)
        return {}

    def delete_message_batch(self, params: Params, base_url: str) -> Reply:
        name = self._existing_queue(params)

        def read_receipt(entry: Params) -> str:
            return read.required_string(entry, "ReceiptHandle")

        def delete(receipt: str) -> Reply:
            self.engine.delete(name, receipt)
            return {}

        entries = read.entries(params, "DeleteMessageBatchRequestEntry")
        return run_batch(entries, read_receipt, delete)

    def change_message_visibility(self, params: Params, base_url: str) -> Reply:
        receipt, timeout = read.visibility_change(params)
        self.engine.change_visibility(read.queue_name(params), receipt, timeout)
        return {}

    def change_message_visibility_batch(self, params: Params, base_url: str) -> Reply:
        name = self._existing_queue(params)

        def change(change: tuple[str, int]) -> Reply:
            self.engine.change_visibility(name, *change)
            return {}

        entries = read.entries(params, "ChangeMessageVisibilityBatchRequestEntry")
        return run_batch(entries, read.visibility_change, change)

    # -- long polling ---------------------------------------------------------------------

    def _notify(self, name: str) -> None:
        event = self._ready_events.pop(name, None)
        if event is not None:
            event.set()

    async def _wait_ready(self, name: str, timeout: float) -> None:
        """Sleep until a message may be ready or ``timeout`` emulated seconds pass: with the
        clock at 20x, a 20-second long poll lasts one real second."""
        event = self._ready_events.setdefault(name, asyncio.Event())
        await sleep_or_wake(event, max(self.engine.clock.real_seconds(timeout), 0.001))
