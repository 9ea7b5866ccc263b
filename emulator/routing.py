"""Which service a request is for. AWS tells services apart by host name; on one local port the
SigV4 credential scope says it instead (``Credential=AKID/DATE/REGION/SERVICE/aws4_request``), so
plain SDK clients with one endpoint URL reach every service."""

from __future__ import annotations

import re
from collections.abc import Mapping

_CREDENTIAL = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")
# A queue URL's path, also path-style (``/queue/REGION/ACCOUNT/NAME``, emulator/sqs/queue_urls.py)
_QUEUE_PATH = re.compile(r"^(?:/queue/[a-z0-9-]+)?/\d{12}/[^/]+/?$")
# An SQS host as AWS names them, and as the sqs_endpoint_strategy "standard" writes queue URLs:
# sqs.REGION.amazonaws.com, sqs.REGION.localhost, REGION.queue.amazonaws.com (legacy).
_SQS_HOST = re.compile(
    r"^(?:sqs(?:-fips)?\.[a-z]{2,}(?:-[a-z]+)+-\d{1,2}\.|(?:[a-z0-9-]+\.)?queue\.amazonaws\.com)",
    re.I,
)
_WEBSITE_HOST = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])\.s3-website[.\-]", re.I)

TARGET_PREFIXES = {"AmazonSQS.": "sqs"}


def signing_scope(headers: Mapping[str, str], query: Mapping[str, str]) -> tuple[str, str] | None:
    """(region, service) from a SigV4 Authorization header or a presigned URL, if any."""
    auth = headers.get("Authorization") or ""
    match = _CREDENTIAL.search(auth)
    if match:
        return match.group(1), match.group(2)
    cred = query.get("X-Amz-Credential") or ""
    parts = cred.split("/")
    if len(parts) == 5 and parts[4] == "aws4_request":
        return parts[2], parts[3]
    return None


def website_bucket(host: str) -> str | None:
    """The bucket named by an S3 website host such as ``photos.s3-website.localhost:4566``."""
    match = _WEBSITE_HOST.match(host or "")
    return match.group("bucket") if match else None


def service_of(headers: Mapping[str, str], path: str, query: Mapping[str, str]) -> str:
    """The service a request is for: ``s3web`` for website hosts, else an AWS signing name."""
    if website_bucket(headers.get("Host", "")):
        return "s3web"
    target = headers.get("X-Amz-Target") or ""
    for prefix, service in TARGET_PREFIXES.items():
        if target.startswith(prefix):
            return service
    scope = signing_scope(headers, query)
    if scope:
        return scope[1]
    if (
        _QUEUE_PATH.match(path)
        or query.get("Version") == "2012-11-05"
        or _SQS_HOST.match(headers.get("Host", ""))
    ):
        return "sqs"
    # Unsigned requests (a browser, curl) are S3 path-style requests, as in moto.
    return "s3"
