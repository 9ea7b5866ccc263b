"""Reading a decoded request's parameters into the engine's types.

Both wire protocols hand over whatever the client sent, so any value may have any JSON type. A
reader checks the type and answers a wrong one with the error SQS gives (``InvalidParameterValue``
or ``MissingParameter``), never a 500. Ranges come from ``limits``: the rule is the engine's, the
reading is the service's."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import urlsplit

from emulator.sqs.engine import SendRequest
from emulator.sqs.errors import SqsError, invalid_value, missing
from emulator.sqs.limits import DELAY_SECONDS, VISIBILITY_TIMEOUT, Range, check_batch_ids
from emulator.sqs.messages import AttributeValue

Params = dict[str, Any]


def string(params: Params, name: str) -> str | None:
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid_value(name, value, "Must be a string.")
    return value


def required_string(params: Params, name: str) -> str:
    value = string(params, name)
    if value is None:
        raise missing(name)
    return value


# How SQS words a request parameter out of its range, which differs by parameter (recorded on
# AWS: WaitTimeSeconds and MaxNumberOfMessages in LocalStack's parity snapshots, DelaySeconds in
# users' reports; VisibilityTimeout as other emulators have it, unverified).
_OUT_OF_RANGE: dict[str, str] = {
    "WaitTimeSeconds": "Must be >= {lo} and <= {hi}, if provided.",
    "VisibilityTimeout": "Must be >= {lo} and <= {hi}, if provided.",
    "DelaySeconds": "DelaySeconds must be >= {lo} and <= {hi}.",
}
_OUT_OF_RANGE_DEFAULT = "Must be between {lo} and {hi}, if provided."


def integer(params: Params, name: str, allowed: Range) -> int | None:
    """Accepts a JSON number or a numeral (the query protocol sends every value as text)."""
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise invalid_value(name, value, f"Must be an integer from {allowed.lo} to {allowed.hi}.")
    try:
        number = int(value)
    except ValueError:
        raise invalid_value(
            name, value, f"Must be an integer from {allowed.lo} to {allowed.hi}."
        ) from None
    if number not in allowed:
        reason = _OUT_OF_RANGE.get(name, _OUT_OF_RANGE_DEFAULT)
        raise invalid_value(name, value, reason.format(lo=allowed.lo, hi=allowed.hi))
    return number


def required_integer(params: Params, name: str, allowed: Range) -> int:
    value = integer(params, name, allowed)
    if value is None:
        raise missing(name)
    return value


def str_map(params: Params, name: str) -> dict[str, str]:
    """A map of attribute or tag values. A bad value is ``InvalidAttributeValue``, as SQS answers
    for queue attributes; numbers are taken as their numerals."""
    value = params.get(name) or {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise invalid_value(name, value, "Must be a map of strings.")
    for key, item in value.items():
        if not isinstance(item, str | int) or isinstance(item, bool):
            raise SqsError("InvalidAttributeValue", f"Invalid value for the parameter {key}.")
    return {k: str(v) for k, v in value.items()}


def str_list(params: Params, name: str) -> list[str]:
    value = params.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid_value(name, value, "Must be a list of strings.")
    return value


def message_attributes(params: Params, name: str) -> dict[str, AttributeValue]:
    """Message (or system) attributes, binary values decoded from base64. Their names and types
    are checked by the engine, which applies the same rules to every caller."""
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
        string_value = value.get("StringValue")
        if string_value is not None and not isinstance(string_value, str):
            raise invalid_value(f"{name}.{key}.StringValue", string_value, "Must be a string.")
        if value.get("StringListValues") or value.get("BinaryListValues"):
            raise SqsError(
                "UnsupportedOperation", "StringListValues and BinaryListValues are not implemented."
            )
        out[key] = AttributeValue(data_type, string_value, binary)
    return out


def entries(params: Params, entry_label: str) -> list[Params]:
    """A batch's entries, each a map with a valid, distinct ``Id``: what the batch helper needs
    to answer every entry by its id."""
    value = params.get("Entries")
    if value is None:
        value = []
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise invalid_value("Entries", "...", "Must be a list of entries.")
    check_batch_ids([e.get("Id") for e in value], entry_label)
    return value


def queue_name(params: Params) -> str:
    """The queue a request names. Clients send the full URL, whose host may be any name the
    emulator answers on, so only the last path segment counts."""
    url = required_string(params, "QueueUrl")
    path = urlsplit(url).path if "://" in url else url
    parts = [p for p in path.split("/") if p]
    if not parts:
        raise SqsError("InvalidAddress", f"The address {url} is not valid for this endpoint.")
    return parts[-1]


def send_request(params: Params, trace_header: str | None = None) -> SendRequest:
    """A SendMessage request, or one SendMessageBatch entry: both carry the same members. An
    empty body is a missing one, as SQS answers it (recorded on AWS). ``trace_header`` is the
    request's X-Ray header, which SQS keeps as the AWSTraceHeader of every message the request
    sends unless the message names its own."""
    body = required_string(params, "MessageBody")
    if body == "":
        raise missing("MessageBody")
    return SendRequest(
        body=body,
        delay_seconds=integer(params, "DelaySeconds", DELAY_SECONDS),
        attributes=message_attributes(params, "MessageAttributes"),
        system_attributes=message_attributes(params, "MessageSystemAttributes"),
        group_id=string(params, "MessageGroupId"),
        dedup_id=string(params, "MessageDeduplicationId"),
        trace_header=trace_header or None,
    )


def visibility_change(params: Params) -> tuple[str, int]:
    """(receipt handle, timeout) of a ChangeMessageVisibility request or batch entry."""
    receipt = required_string(params, "ReceiptHandle")
    return receipt, required_integer(params, "VisibilityTimeout", VISIBILITY_TIMEOUT)
