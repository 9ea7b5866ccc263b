"""The JSON protocol (awsJson1_0 with awsQueryCompatible): what boto3 and the AWS CLI speak."""

from __future__ import annotations

import json
from typing import Any

from emulator.sqs.errors import SqsError

CONTENT_TYPE = "application/x-amz-json-1.0"
TARGET_PREFIX = "AmazonSQS."


def _unreadable(reason: str) -> SqsError:
    """A body that is not a JSON object. AWS's JSON deserializer answers SerializationException,
    whose query-compatible code is MalformedInput (the query protocol's deserializer error)."""
    return SqsError("MalformedInput", f"The request body could not be read: {reason}")


def decode(target: str, body: bytes) -> tuple[str, dict[str, Any]]:
    """(action, params) from ``X-Amz-Target`` and the body."""
    if not target.startswith(TARGET_PREFIX):
        raise SqsError("UnknownOperationException", f"Unknown operation {target}.")
    action = target[len(TARGET_PREFIX) :]
    if not body.strip():
        return action, {}
    try:
        params = json.loads(body)
    except RecursionError:
        # json.loads gives up on deep nesting with RecursionError, which no ValueError catches.
        raise _unreadable("it is nested too deeply.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise _unreadable(f"it is not valid JSON ({exc}).") from None
    if not isinstance(params, dict):
        raise _unreadable("it must be a JSON object.")
    return action, params


def encode(reply: dict[str, Any]) -> bytes:
    return json.dumps(reply, separators=(",", ":")).encode()


def encode_error(error: SqsError) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body. botocore takes the code from ``x-amzn-query-error`` when it is
    there (the query protocol's code), else from ``__type`` after ``#``."""
    fault = "Sender" if error.sender_fault else "Receiver"
    headers = {"x-amzn-query-error": f"{error.query_code};{fault}", "Content-Type": CONTENT_TYPE}
    body = {"__type": error.json_type, "message": error.message}
    return error.status, headers, encode(body)
