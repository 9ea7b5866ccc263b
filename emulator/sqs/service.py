"""SQS actions as data: a request is the action name and its parameters under the API's member
names (as boto3 and the JSON protocol spell them), a reply is a dict of the same kind. Both wire
protocols decode to this and encode from it, so the two cannot drift apart. Long polling lives
here, in asyncio, around the engine's synchronous calls."""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from emulator.sqs.engine import Delivery, SendRequest, SqsEngine
from emulator.sqs.errors import SqsError, invalid_value, missing
from emulator.sqs.messages import AttributeValue, md5_of_attributes
from emulator.waiting import sleep_or_wake

Params = dict[str, Any]
Reply = dict[str, Any]
MAX_BATCH = 10
MAX_BATCH_BYTES = 1_048_576
_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
SYSTEM_ATTRIBUTES = (
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageDeduplicationId",
    "MessageGroupId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
)


# -- parameter readers: wrong types get InvalidParameterValue, never a 500 -----------------------


def _str(params: Params, name: str, *, required: bool = False) -> str | None:
    value = params.get(name)
    if value is None:
        if required:
            raise missing(name)
        return None
    if not isinstance(value, str):
        raise invalid_value(name, value, "Must be a string.")
    return value


def _int(params: Params, name: str, lo: int, hi: int, reason: str = "") -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise invalid_value(name, value, f"Must be an integer from {lo} to {hi}.")
    try:
        number = int(value)
    except ValueError:
        raise invalid_value(name, value, f"Must be an integer from {lo} to {hi}.") from None
    if not lo <= number <= hi:
        raise invalid_value(name, value, reason or f"Must be between {lo} and {hi}, if provided.")
    return number


def _str_map(params: Params, name: str) -> dict[str, str]:
    value = params.get(name) or {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise invalid_value(name, value, "Must be a map of strings.")
    for key, item in value.items():
        if not isinstance(item, str | int) or isinstance(item, bool):
            raise SqsError("InvalidAttributeValue", f"Invalid value for the parameter {key}.")
    return {k: str(v) for k, v in value.items()}


def _str_list(params: Params, name: str) -> list[str]:
    value = params.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid_value(name, value, "Must be a list of strings.")
    return value


def _message_attributes(params: Params, name: str) -> dict[str, AttributeValue]:
    raw = params.get(name) or {}
    if not isinstance(raw, dict):
        raise invalid_value(name, raw, "Must be a map of attribute values.")
    out = {}
    for key, value in raw.items():
        if not isinstance(value, dict):
            raise invalid_value(f"{name}.{key}", value, "Must have DataType and a value.")
        data_type = value.get("DataType")
        if not isinstance(data_type, str) or not data_type:
            raise invalid_value(f"{name}.{key}.DataType", data_type, "The DataType is required.")
        binary = value.get("BinaryValue")
        if binary is not None:
            if not isinstance(binary, str):
                raise invalid_value(f"{name}.{key}.BinaryValue", binary, "Must be base64 text.")
            try:
                binary = base64.b64decode(binary, validate=True)
            except (binascii.Error, ValueError):
                raise invalid_value(
                    f"{name}.{key}.BinaryValue", "...", "Not valid base64."
                ) from None
        string = value.get("StringValue")
        if string is not None and not isinstance(string, str):
            raise invalid_value(f"{name}.{key}.StringValue", string, "Must be a string.")
        if value.get("StringListValues") or value.get("BinaryListValues"):
            raise SqsError(
                "UnsupportedOperation", "StringListValues and BinaryListValues are not implemented."
            )
        out[key] = AttributeValue(data_type, string, binary)
    return out


def _attribute_reply(attributes: dict[str, AttributeValue]) -> dict[str, dict[str, str]]:
    out = {}
    for name, value in attributes.items():
        item = {"DataType": value.data_type}
        if value.binary_value is not None:
            item["BinaryValue"] = base64.b64encode(value.binary_value).decode()
        else:
            item["StringValue"] = value.string_value or ""
        out[name] = item
    return out


def _entries(params: Params, label: str) -> list[Params]:
    entries = params.get("Entries")
    if entries is None or entries == []:
        raise SqsError("EmptyBatchRequest", f"There should be at least one {label} in the request.")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise invalid_value("Entries", "...", "Must be a list of entries.")
    if len(entries) > MAX_BATCH:
        raise SqsError(
            "TooManyEntriesInBatchRequest",
            f"Maximum number of entries per request are {MAX_BATCH}. You have sent {len(entries)}.",
        )
    seen = set()
    for entry in entries:
        entry_id = entry.get("Id")
        if not isinstance(entry_id, str) or not _BATCH_ID.match(entry_id):
            raise SqsError(
                "InvalidBatchEntryId",
                "A batch entry id can only contain alphanumeric characters, hyphens and "
                "underscores. It can be at most 80 letters long.",
            )
        if entry_id in seen:
            raise SqsError("BatchEntryIdsNotDistinct", f"Id {entry_id} repeated.")
        seen.add(entry_id)
    return entries


def _failure(entry_id: str, error: SqsError) -> Reply:
    return {
        "Id": entry_id,
        "SenderFault": error.sender_fault,
        "Code": error.shape,
        "Message": error.message,
    }


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

    async def call(self, action: str, params: Params, base_url: str) -> Reply:
        handler = self.actions.get(action)
        if handler is None:
            raise SqsError("InvalidAction", f"The action {action} is not valid for this endpoint.")
        if action == "ReceiveMessage":
            return await self.receive_message(params, base_url)
        with self.engine.store.transaction():
            return handler(params, base_url)  # type: ignore[return-value]

    # -- names and URLs -------------------------------------------------------------------

    def queue_url(self, base_url: str, name: str) -> str:
        return f"{base_url}/{self.engine.account_id}/{name}"

    @staticmethod
    def queue_name(params: Params) -> str:
        url = _str(params, "QueueUrl", required=True)
        path = urlsplit(url).path if "://" in url else url
        parts = [p for p in path.split("/") if p]
        if not parts:
            raise SqsError("InvalidAddress", f"The address {url} is not valid for this endpoint.")
        return parts[-1]

    # -- queues ---------------------------------------------------------------------------

    def create_queue(self, params: Params, base_url: str) -> Reply:
        name = _str(params, "QueueName", required=True)
        tags = _str_map(params, "tags")
        queue = self.engine.create_queue(name, _str_map(params, "Attributes"), tags)
        return {"QueueUrl": self.queue_url(base_url, queue.name)}

    def get_queue_url(self, params: Params, base_url: str) -> Reply:
        name = _str(params, "QueueName", required=True)
        owner = _str(params, "QueueOwnerAWSAccountId")
        if owner is not None and owner != self.engine.account_id:
            raise SqsError("QueueDoesNotExist", "The specified queue does not exist.")
        return {"QueueUrl": self.queue_url(base_url, self.engine.queue(name).name)}

    def _page(self, params: Params, names: list[str], key: str, base_url: str) -> Reply:
        limit = _int(params, "MaxResults", 1, 1000)
        token = _str(params, "NextToken")
        start = 0
        if token:
            try:
                after = base64.urlsafe_b64decode(token.encode()).decode()
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise invalid_value("NextToken", token, "Invalid token.") from None
            start = next((i for i, n in enumerate(names) if n > after), len(names))
        end = len(names) if limit is None else min(len(names), start + limit)
        if limit is None:
            end = min(end, start + 1000)
        reply: Reply = {}
        page = names[start:end]
        if page:
            reply[key] = [self.queue_url(base_url, n) for n in page]
        if limit is not None and end < len(names):
            reply["NextToken"] = base64.urlsafe_b64encode(page[-1].encode()).decode()
        return reply

    def list_queues(self, params: Params, base_url: str) -> Reply:
        prefix = _str(params, "QueueNamePrefix") or ""
        return self._page(params, self.engine.list_queues(prefix), "QueueUrls", base_url)

    def delete_queue(self, params: Params, base_url: str) -> Reply:
        self.engine.delete_queue(self.queue_name(params))
        return {}

    def get_queue_attributes(self, params: Params, base_url: str) -> Reply:
        names = _str_list(params, "AttributeNames")
        values = self.engine.get_attributes(self.queue_name(params), names)
        return {"Attributes": values} if values else {}

    def set_queue_attributes(self, params: Params, base_url: str) -> Reply:
        attributes = _str_map(params, "Attributes")
        self.engine.set_attributes(self.queue_name(params), attributes)
        return {}

    def purge_queue(self, params: Params, base_url: str) -> Reply:
        self.engine.purge(self.queue_name(params))
        return {}

    def tag_queue(self, params: Params, base_url: str) -> Reply:
        self.engine.tag(self.queue_name(params), _str_map(params, "Tags"))
        return {}

    def untag_queue(self, params: Params, base_url: str) -> Reply:
        self.engine.untag(self.queue_name(params), _str_list(params, "TagKeys"))
        return {}

    def list_queue_tags(self, params: Params, base_url: str) -> Reply:
        tags = self.engine.queue(self.queue_name(params)).tags
        return {"Tags": dict(tags)} if tags else {}

    def list_dead_letter_source_queues(self, params: Params, base_url: str) -> Reply:
        sources = self.engine.dead_letter_sources(self.queue_name(params))
        reply = self._page(params, sources, "queueUrls", base_url)
        reply.setdefault("queueUrls", [])
        return reply

    # -- messages -------------------------------------------------------------------------

    @staticmethod
    def _send_request(params: Params) -> SendRequest:
        body = params.get("MessageBody")
        if body is None:
            raise missing("MessageBody")
        return SendRequest(
            body=body,
            delay_seconds=_int(params, "DelaySeconds", 0, 900),
            attributes=_message_attributes(params, "MessageAttributes"),
            system_attributes=_message_attributes(params, "MessageSystemAttributes"),
            group_id=_str(params, "MessageGroupId"),
            dedup_id=_str(params, "MessageDeduplicationId"),
        )

    @staticmethod
    def _send_reply(result: Any) -> Reply:
        reply = {"MD5OfMessageBody": result.md5_body, "MessageId": result.message_id}
        if result.md5_attributes:
            reply["MD5OfMessageAttributes"] = result.md5_attributes
        if result.md5_system_attributes:
            reply["MD5OfMessageSystemAttributes"] = result.md5_system_attributes
        if result.sequence_number:
            reply["SequenceNumber"] = result.sequence_number
        return reply

    def send_message(self, params: Params, base_url: str) -> Reply:
        name = self.queue_name(params)
        return self._send_reply(self.engine.send(name, self._send_request(params)))

    def send_message_batch(self, params: Params, base_url: str) -> Reply:
        name = self.queue_name(params)
        self.engine.queue(name)
        entries = _entries(params, "SendMessageBatchRequestEntry")
        total = sum(
            len(str(e.get("MessageBody", "")).encode())
            + sum(len(str(k)) + len(str(v)) for k, v in (e.get("MessageAttributes") or {}).items())
            for e in entries
        )
        if total > MAX_BATCH_BYTES:
            raise SqsError(
                "BatchRequestTooLong",
                f"Batch requests cannot be longer than {MAX_BATCH_BYTES} bytes. "
                f"You have sent {total} bytes.",
            )
        successful, failed = [], []
        for entry in entries:
            try:
                result = self.engine.send(name, self._send_request(entry))
                successful.append({"Id": entry["Id"], **self._send_reply(result)})
            except SqsError as error:
                failed.append(_failure(entry["Id"], error))
        return {"Successful": successful, "Failed": failed}

    async def receive_message(self, params: Params, base_url: str) -> Reply:
        name = self.queue_name(params)
        queue = self.engine.queue(name)
        count = _int(params, "MaxNumberOfMessages", 1, 10, "Must be between 1 and 10, if provided.")
        visibility = _int(params, "VisibilityTimeout", 0, 43_200)
        wait = _int(params, "WaitTimeSeconds", 0, 20)
        attempt = _str(params, "ReceiveRequestAttemptId")
        system = set(_str_list(params, "AttributeNames")) | set(
            _str_list(params, "MessageSystemAttributeNames")
        )
        wanted = _str_list(params, "MessageAttributeNames")
        if wait is None:
            wait = queue.int_attribute("ReceiveMessageWaitTimeSeconds")
        clock = self.engine.clock
        deadline = clock.now() + wait
        while True:
            with self.engine.store.transaction():
                deliveries = self.engine.receive(name, count or 1, visibility, attempt)
            now = clock.now()
            if deliveries or now >= deadline:
                break
            wake = self.engine.next_change_at(name)
            await self._wait_ready(
                name, min(deadline, wake if wake is not None else deadline) - now
            )
        if not deliveries:
            return {}
        return {"Messages": [self._message_reply(d, system, wanted) for d in deliveries]}

    @staticmethod
    def _message_reply(delivery: Delivery, system: set[str], wanted: list[str]) -> Reply:
        m = delivery.message
        reply: Reply = {
            "MessageId": m.message_id,
            "ReceiptHandle": delivery.receipt,
            "MD5OfBody": m.md5_body,
            "Body": m.body,
        }
        if system:
            every = "All" in system
            values = {
                "SenderId": m.sender_id,
                "SentTimestamp": str(int(m.sent_at * 1000)),
                "ApproximateReceiveCount": str(m.receive_count),
                "ApproximateFirstReceiveTimestamp": str(int((m.first_receive_at or 0) * 1000)),
                "SequenceNumber": m.sequence_number,
                "MessageDeduplicationId": m.dedup_id,
                "MessageGroupId": m.group_id,
                "AWSTraceHeader": (
                    m.system_attributes["AWSTraceHeader"].string_value
                    if "AWSTraceHeader" in m.system_attributes
                    else None
                ),
                "DeadLetterQueueSourceArn": m.dead_letter_source_arn,
            }
            chosen = {k: v for k, v in values.items() if v is not None and (every or k in system)}
            if chosen:
                reply["Attributes"] = chosen
        if wanted and m.attributes:
            if "All" in wanted or ".*" in wanted:
                selected = dict(m.attributes)
            else:
                prefixes = tuple(w[:-1] for w in wanted if w.endswith(".*"))
                exact = set(wanted)
                selected = {
                    k: v
                    for k, v in m.attributes.items()
                    if k in exact or (prefixes and k.startswith(prefixes))
                }
            if selected:
                reply["MD5OfMessageAttributes"] = md5_of_attributes(selected)
                reply["MessageAttributes"] = _attribute_reply(selected)
        return reply

    def delete_message(self, params: Params, base_url: str) -> Reply:
        receipt = _str(params, "ReceiptHandle", required=True)
        self.engine.delete(self.queue_name(params), receipt)
        return {}

    def delete_message_batch(self, params: Params, base_url: str) -> Reply:
        name = self.queue_name(params)
        self.engine.queue(name)
        successful, failed = [], []
        for entry in _entries(params, "DeleteMessageBatchRequestEntry"):
            try:
                self.engine.delete(name, _str(entry, "ReceiptHandle", required=True))
                successful.append({"Id": entry["Id"]})
            except SqsError as error:
                failed.append(_failure(entry["Id"], error))
        return {"Successful": successful, "Failed": failed}

    def change_message_visibility(self, params: Params, base_url: str) -> Reply:
        receipt = _str(params, "ReceiptHandle", required=True)
        timeout = _int(params, "VisibilityTimeout", 0, 43_200)
        if timeout is None:
            raise missing("VisibilityTimeout")
        self.engine.change_visibility(self.queue_name(params), receipt, timeout)
        return {}

    def change_message_visibility_batch(self, params: Params, base_url: str) -> Reply:
        name = self.queue_name(params)
        self.engine.queue(name)
        successful, failed = [], []
        for entry in _entries(params, "ChangeMessageVisibilityBatchRequestEntry"):
            try:
                timeout = _int(entry, "VisibilityTimeout", 0, 43_200)
                if timeout is None:
                    raise missing("VisibilityTimeout")
                receipt = _str(entry, "ReceiptHandle", required=True)
                self.engine.change_visibility(name, receipt, timeout)
                successful.append({"Id": entry["Id"]})
            except SqsError as error:
                failed.append(_failure(entry["Id"], error))
        return {"Successful": successful, "Failed": failed}

    # -- long polling ---------------------------------------------------------------------

    def _notify(self, name: str) -> None:
        event = self._ready_events.pop(name, None)
        if event is not None:
            event.set()

    async def _wait_ready(self, name: str, timeout: float) -> None:
        event = self._ready_events.setdefault(name, asyncio.Event())
        await sleep_or_wake(event, max(timeout, 0.001))
