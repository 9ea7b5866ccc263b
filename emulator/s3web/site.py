"""What the S3 website endpoint answers, decided from a bucket's state and an object lookup.

Nothing here does I/O or knows about moto or aiohttp: the adapter hands in a ``BucketSite`` and a
function that finds objects by key, and gets back status, headers and body. That keeps every
website rule (index documents, folder redirects, error documents, 403 vs 404, conditional GETs,
routing rules) testable and replaceable on its own. Rules follow docs/aws-behaviour.md section 6."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import quote, unquote

from emulator.s3web.access import BucketAccess, is_publicly_readable
from emulator.s3web.config import Redirect, RoutingRule, WebsiteConfig, parse_website_config

# S3 refuses longer keys; a website path longer than that cannot name an object.
MAX_KEY_BYTES = 1024
_REGION_IN_HOST = re.compile(r"\.s3-website[.\-](?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)\.", re.I)
# A key named in a header: anything but printable ASCII (a CR/LF from %0D%0A in the path, or
# non-ASCII) is percent-encoded, so no request can split or break the answer's headers.
_HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7F))
# Stored headers S3 sends back with the object, besides Content-Type and user metadata.
_ECHOED_HEADERS = (
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "expires",
)


@dataclass(frozen=True)
class StoredObject:
    """One object as the website sees it."""

    body: bytes
    etag: str  # quoted, as S3 sends it
    last_modified: dt.datetime  # timezone-aware
    content_type: str = "binary/octet-stream"
    acl_public_read: bool = False
    redirect_location: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names


@dataclass(frozen=True)
class BucketSite:
    """A bucket as the website sees it; ``website`` is the stored configuration document."""

    name: str
    region: str
    website: bytes | str | None
    access: BucketAccess
    requester_pays: bool = False


ObjectLookup = Callable[[str], StoredObject | None]


@dataclass(frozen=True)
class SiteRequest:
    method: str
    raw_path: str  # as sent, percent-encoded, query included
    host: str
    headers: Mapping[str, str]  # lower-case names
    request_id: str = "0000000000000000"


@dataclass
class SiteResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""


@dataclass(frozen=True)
class _Error:
    status: int
    code: str
    message: str
    details: tuple[tuple[str, str], ...] = ()


_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    412: "Precondition Failed",
    500: "Internal Server Error",
}


def serve(
    request: SiteRequest, bucket_name: str, bucket: BucketSite | None, lookup: ObjectLookup
) -> SiteResponse:
    """The website's answer to one request."""
    return _Site(request, bucket_name, bucket, lookup).answer()


def error_page(error_status: int, code: str, message: str, request_id: str) -> SiteResponse:
    """A bare S3-style HTML error page, for failures outside the website rules (e.g. a crash)."""
    return _page(_Error(error_status, code, message), request_id, head=False)


class _Site:
    def __init__(
        self,
        request: SiteRequest,
        bucket_name: str,
        bucket: BucketSite | None,
        lookup: ObjectLookup,
    ) -> None:
        self.request = request
        self.bucket_name = bucket_name
        self.bucket = bucket
        self.lookup = lookup
        self.head = request.method == "HEAD"

    def answer(self) -> SiteResponse:
        request = self.request
        if request.method not in ("GET", "HEAD"):
            error = _Error(
                405,
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
                (("Method", request.method), ("ResourceType", "OBJECT")),
            )
            response = self.page(error)
            response.headers.append(("Allow", "GET, HEAD"))
            return response
        bucket = self.bucket
        if bucket is None:
            return self.page(
                _Error(
                    404,
                    "NoSuchBucket",
                    "The specified bucket does not exist",
                    (("BucketName", self.bucket_name),),
                )
            )
        host_region = _REGION_IN_HOST.search(request.host or "")
        if host_region and host_region.group("region").lower() != bucket.region:
            return self.page(
                _Error(
                    400,
                    "IncorrectEndpoint",
                    "The specified bucket exists in another region. Please direct requests "
                    "to the specified endpoint.",
                    (("BucketName", bucket.name), ("Region", bucket.region)),
                )
            )
        config = _config(bucket.website)
        if config is None:
            return self.page(
                _Error(
                    404,
                    "NoSuchWebsiteConfiguration",
                    "The specified bucket does not have a website configuration",
                    (("BucketName", bucket.name),),
                )
            )
        if bucket.requester_pays:
            return self.page(_Error(403, "AccessDenied", "Requester Pays buckets are not served"))
        path = request.raw_path.split("?", 1)[0]
        if config.redirect_all is not None:
            return self.redirect(config.redirect_all, path.lstrip("/"), None, "301")
        key = unquote(path[1:] if path.startswith("/") else path, errors="replace")
        if len(key.encode("utf-8", "surrogateescape")) > MAX_KEY_BYTES:
            error = _Error(400, "KeyTooLongError", "Your key is too long")
            return self.failure(config, key, error)
        for rule in config.routing_rules:
            if rule.http_error_code_returned_equals is None and _prefix_matches(rule, key):
                return self.redirect(rule.redirect, key, rule.key_prefix_equals, "301")
        return self.serve_key(config, key)

    def serve_key(self, config: WebsiteConfig, key: str) -> SiteResponse:
        wanted = key
        if key == "" or key.endswith("/"):
            if not config.index_suffix:
                return self.failure(config, key, _no_such_key(key))
            wanted = key + config.index_suffix
        obj = self.lookup(wanted)
        if obj is None:
            if wanted == key and config.index_suffix:
                folder_index = f"{key}/{config.index_suffix}"
                if self.lookup(folder_index) is not None:
                    location = "/" + quote(key, safe="/~!$&'()*+,;=:@") + "/"
                    return SiteResponse(302, [*self.common(), ("Location", location)])
            return self.failure(config, key, _no_such_key(wanted))
        if not self.readable(wanted, obj):
            return self.failure(config, key, _access_denied())
        if obj.redirect_location:
            return SiteResponse(301, [*self.common(), ("Location", obj.redirect_location)])
        return self.object(obj, 200)

    def object(self, obj: StoredObject, status: int, error: _Error | None = None) -> SiteResponse:
        """The object's body and stored headers; ``error`` when it stands in as the error
        document, whose answer names the original error in ``x-amz-error-*`` headers."""
        headers = [
            *(_error_headers(error) if error is not None else ()),
            *self.common(),
            ("Content-Type", obj.content_type),
            ("ETag", obj.etag),
            ("Last-Modified", _http_date(obj.last_modified)),
        ]
        for name in _ECHOED_HEADERS:
            if obj.headers.get(name):
                headers.append((name.title(), obj.headers[name]))
        headers += [(n, v) for n, v in obj.headers.items() if n.startswith("x-amz-meta-")]
        if status == 200:
            precondition = _precondition(self.request.headers, obj)
            if precondition == 412:
                return self.page(_precondition_failed())
            if precondition == 304:
                keep = {"etag", "last-modified", "cache-control", "expires", "x-amz-request-id"}
                return SiteResponse(304, [h for h in headers if h[0].lower() in keep])
        return SiteResponse(status, headers, obj.body)

    def failure(self, config: WebsiteConfig, key: str, error: _Error) -> SiteResponse:
        """A 4xx for a key: a matching error-code routing rule, else the error document with the
        original status, else S3's own page saying why the error document failed too.

        The error document is answered as the object it is (its Content-Type, ETag,
        Last-Modified and stored headers) under the original status, and one with a website
        redirect location redirects like any object (301). HEAD never reads it: AWS answers
        the status and the ``x-amz-error-*`` headers only."""
        for rule in config.routing_rules:
            code = rule.http_error_code_returned_equals
            if code == str(error.status) and _prefix_matches(rule, key):
                return self.redirect(rule.redirect, key, rule.key_prefix_equals, "301")
        if not config.error_key or self.head:
            return self.page(error)
        document = self.lookup(config.error_key)
        if document is None:
            return self.page(error, _no_such_key(config.error_key))
        if not self.readable(config.error_key, document):
            return self.page(error, _access_denied())
        if document.redirect_location:
            return SiteResponse(301, [*self.common(), ("Location", document.redirect_location)])
        return self.object(document, error.status, error)

    def readable(self, key: str, obj: StoredObject) -> bool:
        assert self.bucket is not None
        return is_publicly_readable(self.bucket.access, key, obj.acl_public_read)

    def redirect(
        self, redirect: Redirect, key: str, matched_prefix: str | None, default_code: str
    ) -> SiteResponse:
        if redirect.replace_key_with is not None:
            new_key = redirect.replace_key_with
        elif redirect.replace_key_prefix_with is not None:
            rest = key[len(matched_prefix) :] if matched_prefix else key
            new_key = redirect.replace_key_prefix_with + rest
        else:
            new_key = key
        protocol = redirect.protocol or "http"
        host = redirect.host_name or self.request.host
        given = redirect.http_redirect_code or ""
        # a configuration stored before PutBucketWebsite checked codes may hold anything
        code = int(given if given.isdigit() else default_code)
        location = f"{protocol}://{host}/{quote(new_key, safe='/~!$&()*+,;=:@')}"
        return SiteResponse(code, [*self.common(), ("Location", location)])

    def common(self) -> list[tuple[str, str]]:
        return [
            ("x-amz-request-id", self.request.request_id),
            ("x-amz-id-2", self.request.request_id),
            ("Server", "AmazonS3"),
        ]

    def page(self, error: _Error, document_error: _Error | None = None) -> SiteResponse:
        return _page(error, self.request.request_id, self.head, document_error)


def _page(
    error: _Error, request_id: str, head: bool, document_error: _Error | None = None
) -> SiteResponse:
    title = f"{error.status} {_REASONS.get(error.status, 'Error')}"

    def items(e: _Error) -> str:
        rows = [("Code", e.code), ("Message", e.message), *e.details]
        if e is error:
            rows += [("RequestId", request_id), ("HostId", request_id)]
        return "".join(f"<li>{html.escape(n)}: {html.escape(v)}</li>\n" for n, v in rows)

    text = f"<html>\n<head><title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n<ul>\n"
    text += items(error) + "</ul>\n"
    if document_error is not None:
        text += (
            "<h3>An Error Occurred While Attempting to Retrieve a Custom Error Document</h3>\n"
            f"<ul>\n{items(document_error)}</ul>\n"
        )
    text += "<hr/>\n</body>\n</html>\n"
    headers = [
        # a HEAD has no page to read, so the error is told in headers (as the error document is)
        *(_error_headers(error) if head else ()),
        ("x-amz-request-id", request_id),
        ("x-amz-id-2", request_id),
        ("Server", "AmazonS3"),
        ("Content-Type", "text/html; charset=utf-8"),
    ]
    return SiteResponse(error.status, headers, text.encode())


def _error_headers(error: _Error) -> list[tuple[str, str]]:
    headers = [("x-amz-error-code", error.code), ("x-amz-error-message", error.message)]
    headers += [
        (f"x-amz-error-detail-{name}", quote(value, safe=_HEADER_SAFE))
        for name, value in error.details
        if name == "Key"
    ]
    return headers


def _no_such_key(key: str) -> _Error:
    return _Error(404, "NoSuchKey", "The specified key does not exist.", (("Key", key),))


def _precondition_failed() -> _Error:
    return _Error(
        412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"
    )


def _access_denied() -> _Error:
    return _Error(403, "AccessDenied", "Access Denied")


def _config(document: bytes | str | None) -> WebsiteConfig | None:
    if not document:
        return None
    try:
        return parse_website_config(document)
    except ValueError:
        return None


def _prefix_matches(rule: RoutingRule, key: str) -> bool:
    return rule.key_prefix_equals is None or key.startswith(rule.key_prefix_equals)


def _http_date(when: dt.datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return format_datetime(when.astimezone(dt.UTC), usegmt=True)


def _parse_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _etag_matches(header: str, etag: str) -> bool:
    wanted = etag.strip('"')
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*":
            return True
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate.strip('"') == wanted:
            return True
    return False


def _precondition(headers: Mapping[str, str], obj: StoredObject) -> int | None:
    """RFC 9110 order: If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since."""
    modified = obj.last_modified.replace(microsecond=0)
    if modified.tzinfo is None:
        modified = modified.replace(tzinfo=dt.UTC)
    if_match = headers.get("if-match")
    if if_match is not None:
        if not _etag_matches(if_match, obj.etag):
            return 412
    else:
        since = _parse_date(headers.get("if-unmodified-since"))
        if since is not None and modified > since:
            return 412
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        return 304 if _etag_matches(if_none_match, obj.etag) else None
    since = _parse_date(headers.get("if-modified-since"))
    if since is not None and modified <= since:
        return 304
    return None
