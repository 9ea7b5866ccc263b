"""Which API action a request is, and whether it can change state: one answer for every part
of the emulator (the moto bridge deciding when to snapshot, the load balancer and the instance
runner deciding when to re-read moto's records).

Query-protocol services (EC2, ELBv2, Auto Scaling, CloudFormation, IAM, STS) send every call as
a POST with ``Action=...`` in the form; JSON services name it in ``X-Amz-Target``; S3 says it
with the method. Read-only actions are named ``Describe*``, ``List*``, ``Get*`` (and
CloudFormation's ``Validate*``, ``Estimate*``); when in doubt a request counts as a change,
which costs at most one snapshot or one sync too many."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_ONLY_PREFIXES = ("Describe", "List", "Get", "Validate", "Estimate")


def form_params(query: Mapping[str, str], body: bytes, content_type: str = "") -> dict[str, str]:
    """Query-protocol parameters: the URL's, then a form-encoded body's (not a JSON body's)."""
    params = dict(query)
    if body and "json" not in content_type and "xml" not in content_type:
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def action_of(query: Mapping[str, str], headers: Mapping[str, str], body: bytes) -> str:
    """The API action a request names (``DescribeTargetHealth``, ``SendMessage``), or ``""``."""
    target = headers.get("X-Amz-Target") or ""
    if target:
        return target.rpartition(".")[2]
    action = query.get("Action")
    if action:
        return action
    if "x-www-form-urlencoded" in (headers.get("Content-Type") or ""):
        return form_params({}, body).get("Action", "")
    return ""


def is_read_only_action(action: str) -> bool:
    return bool(action) and action.startswith(READ_ONLY_PREFIXES)


def is_read_only(
    method: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes
) -> bool:
    """Whether a request cannot have changed state."""
    if method.upper() in READ_ONLY_METHODS:
        return True
    return is_read_only_action(action_of(query, headers, body))
