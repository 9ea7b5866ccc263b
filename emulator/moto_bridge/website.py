"""``s3.object_put`` and ``s3.object_deleted`` events for buckets with website hosting, seen as
S3 requests pass through the moto bridge (``MotoBridge.handle``).

Which requests: ``change_of`` reads the method, host, path and query of each request (no moto,
no I/O) and names an object put (PutObject, CopyObject, CompleteMultipartUpload), an object
delete (DeleteObject, DeleteObjects) or a change to a bucket itself (CreateBucket, DeleteBucket,
PutBucketWebsite, DeleteBucketWebsite and the other bucket subresources). Path-style and
virtual-host style are told apart as moto does: a host that is an IP address, ``localhost``,
has no dot, or is the S3 endpoint itself (``s3.`` / ``s3-``) names no bucket.

Whether a bucket has website hosting is moto's state, read on moto's thread and cached per
bucket name: a change to the bucket itself forgets its entry, a CloudFormation change or a
change made behind a request (``MotoBridge.changed``) forgets them all. So a put into an
ordinary bucket costs a dictionary lookup once its answer is cached. For a website bucket,
one read on moto's thread before a delete (the size and type of what goes) or after a put (of
what was stored); events only when moto answered 2xx."""

from __future__ import annotations

import ipaddress
import logging
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote

from aiohttp import web

from emulator import routing
from emulator.actions import is_read_only
from emulator.events.model import Event
from emulator.events.s3 import S3ObjectDeleted, S3ObjectPut

RunSync = Callable[..., Awaitable[Any]]
EventSink = Callable[[Event], None]

log = logging.getLogger("emulator.moto")

# Query parameters that do not make a request a subresource's (``?acl``, ``?tagging``, ...):
# botocore's operation hint, a version, and presigned URLs' signature.
_PLAIN = frozenset({"x-id", "versionId", "AWSAccessKeyId", "Signature", "Expires"})
_PUT_IDS = frozenset({"PutObject", "CopyObject"})


@dataclass(frozen=True)
class Change:
    """What an S3 request may change: ``keys`` for ``delete_many`` come from its body."""

    kind: Literal["put", "delete", "delete_many", "bucket"]
    bucket: str
    key: str = ""


@dataclass(frozen=True)
class StoredObject:
    size: int
    content_type: str | None


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def names_bucket(host: str) -> bool:
    """Whether a request's Host names the bucket (virtual-host style), as moto decides."""
    name = _hostname(host)
    if not name or "." not in name or name.startswith(("localhost", "s3.", "s3-")):
        return False
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return True
    return False


def bucket_and_key(host: str, raw_path: str) -> tuple[str, str]:
    """The bucket and the (decoded) key a request names; the key is "" for the bucket."""
    path = unquote(raw_path.partition("?")[0])
    if names_bucket(host):
        return _hostname(host).split(".", 1)[0], path[1:]
    bucket, _, key = path[1:].partition("/")
    return bucket, key


def _subresource(query: Mapping[str, str]) -> bool:
    return any(name not in _PLAIN and not name.startswith("X-Amz-") for name in query)


def change_of(method: str, host: str, raw_path: str, query: Mapping[str, str]) -> Change | None:
    """What an S3 request may change (see the module docstring), or None: nothing a website
    bucket's events care about."""
    if method not in ("PUT", "POST", "DELETE"):
        return None
    bucket, key = bucket_and_key(host, raw_path)
    if not bucket:
        return None
    if not key:
        if method == "POST" and "delete" in query:
            return Change("delete_many", bucket)
        return Change("bucket", bucket)  # created, deleted, its website or policy changed
    operation = query.get("x-id")
    if method == "PUT":
        if operation in _PUT_IDS or (operation is None and not _subresource(query)):
            return Change("put", bucket, key)
    elif method == "POST":
        if "uploadId" in query and "partNumber" not in query:
            return Change("put", bucket, key)  # CompleteMultipartUpload
    elif operation == "DeleteObject" or (operation is None and not _subresource(query)):
        return Change("delete", bucket, key)
    return None


def deleted_keys(body: bytes, tag: str) -> list[str]:
    """The keys in a DeleteObjects request (``tag`` "Object") or answer ("Deleted")."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return []
    keys = []
    for element in root.iter():
        if element.tag.rpartition("}")[2] != tag:
            continue
        for child in element:
            if child.tag.rpartition("}")[2] == "Key" and child.text is not None:
                keys.append(child.text)
    return keys


# -- on moto's thread ---------------------------------------------------------------------------


def _bucket(account_id: str, name: str) -> Any | None:
    from moto.s3.models import s3_backends

    partition, owner = s3_backends.bucket_accounts.get(name, ("aws", account_id))
    regions = dict.get(s3_backends, owner)
    backend = dict.get(regions, partition) if regions is not None else None
    return backend.buckets.get(name) if backend is not None else None


def has_website(account_id: str, name: str) -> bool:
    bucket = _bucket(account_id, name)
    return bucket is not None and bucket.website_configuration is not None


def stored_objects(account_id: str, name: str, keys: list[str]) -> dict[str, StoredObject]:
    """The objects of ``keys`` the bucket holds now (missing keys and delete markers left out)."""
    from moto.s3.models import FakeKey

    bucket = _bucket(account_id, name)
    found: dict[str, StoredObject] = {}
    if bucket is None:
        return found
    for key in keys:
        obj = bucket.keys.get(key)
        if isinstance(obj, FakeKey):
            found[key] = StoredObject(int(obj.size), obj.metadata.get("Content-Type"))
    return found


# -- the adapter ---------------------------------------------------------------------------------


class WebsiteObjectEvents:
    """Publishes object events of website buckets around the moto requests that change them."""

    def __init__(self, run_sync: RunSync, account_id: str, publish: EventSink) -> None:
        self.run_sync = run_sync
        self.account_id = account_id
        self.publish = publish
        self._website: dict[str, bool] = {}

    def forget(self) -> None:
        """Buckets may have changed behind the requests seen (a stack, a direct change)."""
        self._website.clear()

    def change_of(self, request: web.Request, body: bytes) -> Change | None:
        """The change an incoming request may make, for ``before`` and ``after``."""
        headers, query, method = request.headers, request.query, request.method
        service = routing.service_of(headers, request.path, query)
        if service != "s3":
            if service == "cloudformation" and not is_read_only(method, query, headers, body):
                self.forget()  # a stack may create or delete website buckets
            return None
        return change_of(method, request.host, request.raw_path, query)

    async def before(self, change: Change, body: bytes) -> dict[str, StoredObject] | None:
        """What to remember before moto runs the request: None when no event can follow (an
        ordinary bucket, or a change to the bucket itself); the objects a delete removes. A
        failure here is logged and costs the events, never the request."""
        try:
            return await self._before(change, body)
        except Exception:
            log.exception("reading bucket %s for its object events failed", change.bucket)
            return None

    async def after(
        self, change: Change, status: int, answer: bytes, before: dict[str, StoredObject] | None
    ) -> None:
        """moto answered ``status``: publish what it did to a website bucket's objects."""
        try:
            await self._after(change, status, answer, before)
        except Exception:
            log.exception("object events of bucket %s failed", change.bucket)

    async def _before(self, change: Change, body: bytes) -> dict[str, StoredObject] | None:
        if change.kind == "bucket":
            return None
        website = self._website.get(change.bucket)
        if website is None:
            website = await self.run_sync(has_website, self.account_id, change.bucket)
            self._website[change.bucket] = website
        if not website:
            return None
        if change.kind == "put":
            return {}
        keys = [change.key] if change.kind == "delete" else deleted_keys(body, "Object")
        return await self.run_sync(stored_objects, self.account_id, change.bucket, keys)

    async def _after(
        self, change: Change, status: int, answer: bytes, before: dict[str, StoredObject] | None
    ) -> None:
        if change.kind == "bucket":
            self._website.pop(change.bucket, None)
            return
        if before is None or not 200 <= status < 300:
            return
        if change.kind == "put":
            stored = await self.run_sync(
                stored_objects, self.account_id, change.bucket, [change.key]
            )
            obj = stored.get(change.key)
            if obj is not None:
                self.publish(S3ObjectPut(change.bucket, change.key, obj.size, obj.content_type))
            return
        keys = [change.key] if change.kind == "delete" else deleted_keys(answer, "Deleted")
        for key in keys:
            obj = before.get(key)
            if obj is not None:
                self.publish(S3ObjectDeleted(change.bucket, key, obj.size, obj.content_type))
