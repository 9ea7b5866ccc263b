"""A queue's access policy as AWS writes it: ``AddPermission`` and ``RemovePermission`` edit the
``Policy`` attribute, and ``SetQueueAttributes`` may replace it whole.

Pure text in, text out: the engine keeps the document as the queue attribute it is (so it
persists with the queue's other attributes), and the action layer stores what these functions
return through ``SetQueueAttributes``' own path. Nothing here enforces a policy: the lab has one
account and one (fake) user, so every caller may do everything, as the queue's owner may on AWS
(docs/aws-behaviour.md section 1.2).

The shape is what AWS answered when recorded (LocalStack's ``test_sqs_permission_lifecycle``):
version ``2008-10-17``, id ``<queue ARN>/SQSDefaultPolicy``, one statement per label, a single
principal or action as a string and several as a list, and no ``Policy`` attribute at all once
the last statement is removed."""

from __future__ import annotations

import json
import re
from typing import Any

from emulator.sqs.errors import SqsError, invalid_value, missing

POLICY_VERSION = "2008-10-17"
# Amazon SQS policy quotas (SQS Developer Guide, quotas-policies.html).
MAX_POLICY_BYTES = 8192
MAX_STATEMENTS = 20
MAX_PRINCIPALS = 50
MAX_ACTIONS_PER_STATEMENT = 7

# What AddPermission may grant: the API reference's "the name of any action or *", less the
# actions that cross-account permissions do not apply to (SQS Developer Guide,
# sqs-limitations-of-custom-policies.html); the list as moto has it.
GRANTABLE = frozenset(
    {
        "*",
        "ChangeMessageVisibility",
        "DeleteMessage",
        "GetQueueAttributes",
        "GetQueueUrl",
        "ListDeadLetterSourceQueues",
        "PurgeQueue",
        "ReceiveMessage",
        "SendMessage",
    }
)
OWNER_ONLY = frozenset(
    {
        "AddPermission",
        "CancelMessageMoveTask",
        "CreateQueue",
        "DeleteQueue",
        "ListMessageMoveTasks",
        "ListQueues",
        "ListQueueTags",
        "RemovePermission",
        "SetQueueAttributes",
        "StartMessageMoveTask",
        "TagQueue",
        "UntagQueue",
    }
)
_LABEL = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_ACCOUNT = re.compile(r"^[0-9]{12}$")
# How SetQueueAttributes refuses a policy (recorded on AWS: InvalidAttributeValue with this
# message, in a terraform-provider-aws debug log, pull request 42209).
_BAD_POLICY = "Invalid value for the parameter Policy."


def _bad_policy() -> SqsError:
    return SqsError("InvalidAttributeValue", _BAD_POLICY)


def _statements(document: dict[str, Any]) -> list[Any]:
    """A policy's statements as a list: the grammar allows one statement object alone."""
    statement = document.get("Statement")
    if isinstance(statement, dict):
        return [statement]
    return list(statement) if isinstance(statement, list) else []


def check_policy(name: str, value: str) -> str:
    """The ``Policy`` attribute's check for SetQueueAttributes and CreateQueue: a JSON object
    with at least one statement, within the size quota. AWS refuses a document with no
    statement (a client that empties the list by hand gets the error), which is why removing
    the last permission removes the attribute instead. The text is kept as given."""
    if len(value.encode()) > MAX_POLICY_BYTES:
        raise _bad_policy()
    try:
        document = json.loads(value)
    except (TypeError, ValueError):
        raise _bad_policy() from None
    if not isinstance(document, dict):
        raise _bad_policy()
    statements = _statements(document)
    if not statements or not all(isinstance(s, dict) for s in statements):
        raise _bad_policy()
    return value


def _one_or_many(items: list[str]) -> str | list[str]:
    return items[0] if len(items) == 1 else items


def _text(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))


def add_permission(
    policy: str | None,
    queue_arn: str,
    label: str | None,
    account_ids: list[str],
    actions: list[str],
) -> str:
    """The policy with a statement for ``label`` added: a new document when the queue has
    none, else the existing one (as SetQueueAttributes or earlier calls left it) extended.

    The order of the checks is the emulator's; the messages for a duplicate label are
    recorded on AWS, the others are as moto words them (unverified)."""
    if not label:
        raise missing("Label")
    if not _LABEL.match(label):
        raise invalid_value(
            "Label",
            label,
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length.",
        )
    if not actions:
        raise missing("Actions")
    if not account_ids:
        raise invalid_value("PrincipalId", "[]", "Unable to verify.")
    if len(actions) > MAX_ACTIONS_PER_STATEMENT:
        raise SqsError(
            "OverLimit",
            f"{len(actions)} Actions were found, maximum allowed is {MAX_ACTIONS_PER_STATEMENT}.",
        )
    for action in actions:
        if action in OWNER_ONLY:
            raise invalid_value(
                "ActionName",
                f"SQS:{action}",
                "Only the queue owner is allowed to invoke this action.",
            )
        if action not in GRANTABLE:
            raise invalid_value(
                "ActionName",
                f"SQS:{action}",
                "Please refer to the appropriate WSDL for a list of valid actions.",
            )
    for account in account_ids:
        if not _ACCOUNT.match(account):
            raise invalid_value("PrincipalId", f"[{account}]", "Unable to verify.")
    if policy:
        document = json.loads(policy)
    else:
        document = {"Version": POLICY_VERSION, "Id": f"{queue_arn}/SQSDefaultPolicy"}
    statements = _statements(document)
    if any(isinstance(s, dict) and s.get("Sid") == label for s in statements):
        raise invalid_value("Label", label, "Already exists.")
    if len(statements) >= MAX_STATEMENTS:
        raise SqsError(
            "OverLimit",
            f"{len(statements) + 1} Statements were found, maximum allowed is {MAX_STATEMENTS}.",
        )
    # AWS listed two principals in another order than they were sent (the recorded answer);
    # sorted is the emulator's guess at that order.
    principals = sorted({f"arn:aws:iam::{account}:root" for account in account_ids})
    if len(principals) > MAX_PRINCIPALS:
        raise SqsError(
            "OverLimit",
            f"{len(principals)} Principals were found, maximum allowed is {MAX_PRINCIPALS}.",
        )
    statements.append(
        {
            "Sid": label,
            "Effect": "Allow",
            "Principal": {"AWS": _one_or_many(principals)},
            "Action": _one_or_many([f"SQS:{action}" for action in dict.fromkeys(actions)]),
            "Resource": queue_arn,
        }
    )
    document["Statement"] = statements
    return _text(document)


def remove_permission(policy: str | None, label: str | None) -> str | None:
    """The policy without the statement ``label``, or None once no statement is left: AWS
    then answers GetQueueAttributes without a Policy (recorded)."""
    if not label:
        raise missing("Label")
    document = json.loads(policy) if policy else {}
    statements = _statements(document)
    kept = [s for s in statements if not (isinstance(s, dict) and s.get("Sid") == label)]
    if len(kept) == len(statements):
        raise invalid_value("Label", label, "can't find label.")
    if not kept:
        return None
    document["Statement"] = kept
    return _text(document)
