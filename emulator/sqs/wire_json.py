"""The JSON protocol (awsJson1_0 with awsQueryCompatible): what boto3 and the AWS CLI speak."""

from __future__ import annotations

import json
from typing import Any

from emulator.sqs.errors import SqsError

CONTENT_TYPE = "application/x-amz-json-1.0"
TARGET_PREFIX = "AmazonSQS."


def decode(target: str, body: bytes) -> tuple[str, dict[str, Any]]:
    """(action, params) from ``X-Amz-Target`` and the body."""
    if not target.startswith(TARGET_PREFIX):
        raise SqsError("UnknownOperationException", f"Unknown operation {target!r}.")
    action = target[len(TARGET_PREFIX) :]
    if not body.strip():
        return action, {}
    try:
        params = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SqsError(
            "SerializationException", f"The request body is not valid JSON: {exc}"
        ) from None
    if not isinstance(params, dict):
        raise SqsError("SerializationException", "The request body must be a JSON object.")
    return action, params


def encode(reply: dict[str, Any]) -> bytes:
    return json.dumps(reply, separators=(",", ":")).encode()


def encode_error(error: SqsError) -> tuple[int, dict[str, str], bytes]:
    fault = "Sender" if error.sender_fault else "Receiver"
    headers = {"x-amzn-query-error": f"{error.query_code};{fault}", "Content-Type": CONTENT_TYPE}
    body = {"__type": f"com.amazonaws.sqs#{error.shape}", "message": error.message}
    return error.status, headers, encode(body)
