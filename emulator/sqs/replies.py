"""Shaping the engine's results into replies under the API's member names.

Both wire protocols encode from these dicts, so a member spelled here is spelled the same in JSON
and in XML. ReceiveMessage returns attributes only when asked, which is why ``message_reply``
filters (docs/aws-behaviour.md sections 2.3 and 2.4)."""

from __future__ import annotations

import base64
from typing import Any

from emulator.sqs.engine import Delivery, SendResult
from emulator.sqs.errors import SqsError
from emulator.sqs.messages import AttributeValue, md5_of_attributes, select_attributes

Reply = dict[str, Any]


def send_reply(result: SendResult) -> Reply:
    """Digests of what was stored, which the SDKs check against what they sent."""
    reply = {"MD5OfMessageBody": result.md5_body, "MessageId": result.message_id}
    if result.md5_attributes:
        reply["MD5OfMessageAttributes"] = result.md5_attributes
    if result.md5_system_attributes:
        reply["MD5OfMessageSystemAttributes"] = result.md5_system_attributes
    if result.sequence_number:
        reply["SequenceNumber"] = result.sequence_number
    return reply


def attribute_reply(attributes: dict[str, AttributeValue]) -> dict[str, dict[str, str]]:
    out = {}
    for name, value in attributes.items():
        item = {"DataType": value.data_type}
        if value.binary_value is not None:
            item["BinaryValue"] = base64.b64encode(value.binary_value).decode()
        else:
            item["StringValue"] = value.string_value or ""
        out[name] = item
    return out


def message_reply(delivery: Delivery, system: set[str], wanted: list[str]) -> Reply:
    """One received message, with the system attributes in ``system`` and the message attributes
    ``wanted`` names (``All``, ``.*``, exact names or ``prefix.*``)."""
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
        selected = select_attributes(m.attributes, wanted)
        if selected:
            reply["MD5OfMessageAttributes"] = md5_of_attributes(selected)
            reply["MessageAttributes"] = attribute_reply(selected)
        elif selected is not None:
            reply["MessageAttributes"] = {}  # names that match none: AWS sends an empty map
    return reply


def failure(entry_id: str, error: SqsError) -> Reply:
    """A batch entry's error, as the single call would have raised it; the batch goes on."""
    return {
        "Id": entry_id,
        "SenderFault": error.sender_fault,
        "Code": error.shape,
        "Message": error.message,
    }
