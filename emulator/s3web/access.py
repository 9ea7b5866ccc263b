"""Whether an anonymous visitor may read an object: the website endpoint only serves what the
whole world may read, and telling 403 from 200 correctly is what students debug in chapter 15.

The lab's default is the book's (pre-2023) behaviour: a ``public-read`` ACL makes an object
public. Block Public Access and Object Ownership are honoured only when someone set them, which
is how a student reproduces the 2023+ defaults (docs/aws-behaviour.md section 6.6)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

GET_OBJECT = "s3:GetObject"


@dataclass(frozen=True)
class PublicAccessBlock:
    """The two Block Public Access switches that matter for reads (the other two only refuse
    writes of public ACLs or policies, which is moto's business)."""

    ignore_public_acls: bool = False
    restrict_public_buckets: bool = False


@dataclass(frozen=True)
class BucketAccess:
    """What decides readability at bucket level."""

    name: str
    policy: str | None = None
    blocks: tuple[PublicAccessBlock, ...] = ()
    acls_enabled: bool = True


def is_publicly_readable(bucket: BucketAccess, key: str, acl_public_read: bool) -> bool:
    """An explicit public Deny wins; otherwise a public policy or a public ACL grants the read,
    unless Block Public Access (bucket or account) says to ignore that kind of grant."""
    decision = policy_decision(bucket.policy, bucket.name, key)
    if decision == "deny":
        return False
    ignore_acls = any(b.ignore_public_acls for b in bucket.blocks)
    restrict_policy = any(b.restrict_public_buckets for b in bucket.blocks)
    if decision == "allow" and not restrict_policy:
        return True
    return acl_public_read and bucket.acls_enabled and not ignore_acls


def policy_decision(policy: str | bytes | None, bucket: str, key: str) -> str | None:
    """ "deny", "allow" or None (policy says nothing) for an anonymous s3:GetObject on the key.

    Conditions are not evaluated; when in doubt the visitor is refused: an Allow with a
    Condition grants nothing, a Deny with a Condition applies (the website endpoint is plain
    HTTP, so the common ``aws:SecureTransport`` deny really would apply). An unreadable policy
    grants nothing."""
    if not policy:
        return None
    try:
        document = json.loads(policy)
    except (ValueError, TypeError):
        return None
    if not isinstance(document, dict):
        return None
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    resource = f"arn:aws:s3:::{bucket}/{key}"
    allowed = False
    for statement in statements if isinstance(statements, list) else []:
        if not isinstance(statement, dict) or not _applies(statement, resource):
            continue
        effect = statement.get("Effect")
        if effect == "Deny":
            return "deny"
        if effect == "Allow" and not statement.get("Condition"):
            allowed = True
    return "allow" if allowed else None


def _applies(statement: dict[str, Any], resource: str) -> bool:
    if "Principal" in statement:
        principal_ok = _is_everyone(statement["Principal"])
    elif "NotPrincipal" in statement:
        principal_ok = not _is_everyone(statement["NotPrincipal"])
    else:
        return False
    if "Action" in statement:
        action_ok = _matches_any(statement["Action"], GET_OBJECT, ignore_case=True)
    elif "NotAction" in statement:
        action_ok = not _matches_any(statement["NotAction"], GET_OBJECT, ignore_case=True)
    else:
        return False
    if "Resource" in statement:
        resource_ok = _matches_any(statement["Resource"], resource)
    elif "NotResource" in statement:
        resource_ok = not _matches_any(statement["NotResource"], resource)
    else:
        return False
    return principal_ok and action_ok and resource_ok


def _is_everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any(v == "*" or (isinstance(v, list) and "*" in v) for v in principal.values())
    return False


def _as_list(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _matches_any(patterns: Any, value: str, ignore_case: bool = False) -> bool:
    return any(_pattern(p, ignore_case).fullmatch(value) for p in _as_list(patterns))


@lru_cache(maxsize=256)
def _pattern(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """IAM wildcards: ``*`` any run of characters, ``?`` one character, nothing else special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)
