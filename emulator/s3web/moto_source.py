"""Reads buckets and objects out of moto's S3 backend for the website.

Every function here touches moto's objects and must run on moto's thread
(``WsgiRunner.run_sync``); it copies what the website needs into the plain dataclasses of
``site`` so the rules never hold a reference into moto."""

from __future__ import annotations

import datetime as dt
from typing import Any

from emulator.s3web.access import BucketAccess, PublicAccessBlock
from emulator.s3web.site import BucketSite, SiteRequest, SiteResponse, StoredObject, serve


def serve_from_moto(request: SiteRequest, bucket_name: str, account_id: str) -> SiteResponse:
    """The website's answer, computed on moto's thread against moto's current state."""
    bucket = _find_bucket(bucket_name, account_id)
    if bucket is None:
        return serve(request, bucket_name, None, lambda _key: None)
    site = _bucket_site(bucket)

    def lookup(key: str) -> StoredObject | None:
        return _stored_object(bucket, key)

    return serve(request, bucket_name, site, lookup)


def _find_bucket(name: str, account_id: str) -> Any | None:
    from moto.s3.models import s3_backends

    partition, owner = s3_backends.bucket_accounts.get(name, ("aws", account_id))
    regions = dict.get(s3_backends, owner)
    backend = dict.get(regions, partition) if regions is not None else None
    if backend is None:
        return None
    return backend.buckets.get(name)


def _bucket_site(bucket: Any) -> BucketSite:
    blocks = []
    for block in (bucket.public_access_block, _account_block(bucket.account_id)):
        if block is not None:
            blocks.append(
                PublicAccessBlock(
                    ignore_public_acls=bool(block.ignore_public_acls),
                    restrict_public_buckets=bool(block.restrict_public_buckets),
                )
            )
    policy = bucket.policy.decode("utf-8", "replace") if bucket.policy else None
    return BucketSite(
        name=bucket.name,
        region=bucket.region_name,
        website=bucket.website_configuration,
        access=BucketAccess(
            name=bucket.name,
            policy=policy,
            blocks=tuple(blocks),
            acls_enabled=_ownership(bucket) != "BucketOwnerEnforced",
        ),
        requester_pays=getattr(bucket, "payer", "BucketOwner") == "Requester",
    )


def _ownership(bucket: Any) -> str | None:
    rule = bucket.ownership_rule
    if isinstance(rule, dict):  # older moto kept the parsed XML element
        return rule.get("ObjectOwnership")
    return rule


def _account_block(account_id: str) -> Any | None:
    """The account-wide Block Public Access (S3 Control), if anyone set it."""
    from moto.s3control.models import s3control_backends

    regions = dict.get(s3control_backends, account_id)
    for backend in (regions or {}).values():
        if backend.public_access_block is not None:
            return backend.public_access_block
    return None


def _stored_object(bucket: Any, key_name: str) -> StoredObject | None:
    from moto.s3.models import FakeKey

    key = bucket.keys.get(key_name)
    if not isinstance(key, FakeKey):  # missing, or a delete marker
        return None
    metadata = {str(k).lower(): str(v) for k, v in key.metadata.items()}
    last_modified = key.last_modified
    if last_modified.tzinfo is None:
        last_modified = last_modified.replace(tzinfo=dt.UTC)
    return StoredObject(
        body=key.value,
        etag=key.etag,
        last_modified=last_modified,
        content_type=metadata.pop("content-type", "binary/octet-stream"),
        acl_public_read=bool(key.acl is not None and key.acl.public_read),
        redirect_location=key.website_redirect_location,
        headers=metadata,
    )
