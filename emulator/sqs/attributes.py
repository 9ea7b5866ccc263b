"""Queue attributes: names, defaults, ranges and checks (docs/aws-behaviour.md sections 1.2, 1.3).
Values travel as strings on the wire and are kept as strings, as SQS returns them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from emulator.sqs import limits, permissions
from emulator.sqs.errors import SqsError

MAX_MESSAGE_BYTES = 1_048_576


def _bad(name: str, value: str, why: str = "") -> SqsError:
    return SqsError("InvalidAttributeValue", f"Invalid value for the parameter {name}.{why}")


def _int_range(allowed: limits.Range) -> Callable[[str, str], str]:
    lo, hi = allowed.lo, allowed.hi

    def check(name: str, value: str) -> str:
        try:
            number = int(str(value).strip())
        except ValueError:
            raise _bad(name, value, f" Must be an integer from {lo} to {hi}.") from None
        if number not in allowed:
            raise _bad(name, value, f" Must be between {lo} and {hi}.")
        return str(number)

    return check


def _boolean(name: str, value: str) -> str:
    text = str(value).lower()
    if text not in ("true", "false"):
        raise _bad(name, value, " Must be true or false.")
    return text


def _one_of(*choices: str) -> Callable[[str, str], str]:
    def check(name: str, value: str) -> str:
        if value not in choices:
            raise _bad(name, value, f" Must be one of {', '.join(choices)}.")
        return value

    return check


def _json_object(name: str, value: str) -> str:
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        raise _bad(name, value, " It must be a JSON object.") from None
    if not isinstance(parsed, dict):
        raise _bad(name, value, " It must be a JSON object.")
    return value


def _redrive_policy(name: str, value: str) -> str:
    _json_object(name, value)
    policy = json.loads(value)
    arn = policy.get("deadLetterTargetArn")
    count = policy.get("maxReceiveCount")
    if not isinstance(arn, str) or not arn.startswith("arn:aws:sqs:"):
        raise _bad(name, value, " Reason: deadLetterTargetArn must be an SQS queue ARN.")
    try:
        count_number = int(count)
    except (TypeError, ValueError):
        raise _bad(name, value, " Reason: maxReceiveCount must be an integer.") from None
    if not 1 <= count_number <= 1000:
        raise _bad(name, value, " Reason: maxReceiveCount must be between 1 and 1000.")
    return json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": count_number})


def _redrive_allow_policy(name: str, value: str) -> str:
    _json_object(name, value)
    policy = json.loads(value)
    permission = policy.get("redrivePermission")
    if permission not in ("allowAll", "denyAll", "byQueue"):
        raise _bad(name, value, " Reason: redrivePermission must be allowAll, denyAll or byQueue.")
    sources = policy.get("sourceQueueArns", [])
    if permission == "byQueue" and not (isinstance(sources, list) and 1 <= len(sources) <= 10):
        raise _bad(name, value, " Reason: byQueue needs 1 to 10 sourceQueueArns.")
    return value


def _any(name: str, value: str) -> str:
    return str(value)


@dataclass(frozen=True)
class AttributeSpec:
    check: Callable[[str, str], str]
    default: str | None = None
    fifo_only: bool = False
    create_only: bool = False


SETTABLE: dict[str, AttributeSpec] = {
    "DelaySeconds": AttributeSpec(_int_range(limits.DELAY_SECONDS), "0"),
    "MaximumMessageSize": AttributeSpec(
        _int_range(limits.Range(1024, MAX_MESSAGE_BYTES)), str(MAX_MESSAGE_BYTES)
    ),
    "MessageRetentionPeriod": AttributeSpec(_int_range(limits.Range(60, 1_209_600)), "345600"),
    "ReceiveMessageWaitTimeSeconds": AttributeSpec(_int_range(limits.WAIT_TIME_SECONDS), "0"),
    "VisibilityTimeout": AttributeSpec(_int_range(limits.VISIBILITY_TIMEOUT), "30"),
    "Policy": AttributeSpec(permissions.check_policy),
    "RedrivePolicy": AttributeSpec(_redrive_policy),
    "RedriveAllowPolicy": AttributeSpec(_redrive_allow_policy),
    "KmsMasterKeyId": AttributeSpec(_any),
    "KmsDataKeyReusePeriodSeconds": AttributeSpec(_int_range(limits.Range(60, 86_400))),
    "SqsManagedSseEnabled": AttributeSpec(_boolean, "true"),
    # FIFO queues only, even as "false"; SetQueueAttributes takes it only as "true" (a no-op).
    "FifoQueue": AttributeSpec(_boolean, fifo_only=True),
    "ContentBasedDeduplication": AttributeSpec(_boolean, "false", fifo_only=True),
    "DeduplicationScope": AttributeSpec(_one_of("queue", "messageGroup"), "queue", fifo_only=True),
    "FifoThroughputLimit": AttributeSpec(
        _one_of("perQueue", "perMessageGroupId"), "perQueue", fifo_only=True
    ),
}

READ_ONLY = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
)

ALL_NAMES = frozenset(SETTABLE) | frozenset(READ_ONLY) | {"All"}


def unknown_attribute(name: str) -> SqsError:
    return SqsError("InvalidAttributeName", f"Unknown Attribute {name}.")


def validate(attributes: dict[str, str], *, fifo: bool, creating: bool) -> dict[str, str]:
    """Checked, normalised copy of settable attributes; raises the error SQS would.

    A FIFO-only attribute on a standard queue is unknown to it, at creation and later
    (``Unknown Attribute FifoQueue.`` even for ``FifoQueue=false``); a FIFO queue's type cannot
    be changed (docs/aws-behaviour.md section 1.2)."""
    clean: dict[str, str] = {}
    for name, value in attributes.items():
        spec = SETTABLE.get(name)
        if spec is None or (spec.fifo_only and not fifo) or (spec.create_only and not creating):
            raise unknown_attribute(name)
        if not isinstance(value, str | int | bool):
            raise _bad(name, str(value), " Attribute values must be strings.")
        text = str(value).lower() if isinstance(value, bool) else str(value)
        clean[name] = spec.check(name, text)
    if not creating and clean.get("FifoQueue", "true") != "true":
        raise _bad(
            "FifoQueue", clean["FifoQueue"], " Reason: Modifying queue type is not supported."
        )
    return clean


def check_throughput(attributes: dict[str, str]) -> None:
    """perMessageGroupId is allowed only with DeduplicationScope messageGroup. Checked on the
    attributes the queue would have, so a queue already scoped by group may take the limit alone."""
    if attributes.get("FifoThroughputLimit") == "perMessageGroupId" and (
        attributes.get("DeduplicationScope", "queue") != "messageGroup"
    ):
        raise _bad(
            "FifoThroughputLimit",
            "perMessageGroupId",
            " Reason: The perMessageGroupId value is allowed only when the value for "
            "DeduplicationScope is messageGroup.",
        )


def defaults(fifo: bool) -> dict[str, str]:
    return {
        name: spec.default
        for name, spec in SETTABLE.items()
        if spec.default is not None and (fifo or not spec.fifo_only)
    }
