"""Which region a request and a queue URL belong to, and how the emulator writes queue URLs.

SQS is regional: a queue belongs to one account and one region, and the same name in two
regions is two queues that share nothing ("Every Amazon SQS endpoint is independent", SQS
Developer Guide, sqs-making-api-requests-json.html). On AWS the endpoint a request reaches
decides its region, and SigV4 makes the client sign for that region. On the emulator's one port
the signature is the only reliable sign of what the client was configured for, so:

- a signed request belongs to the region of its credential scope
  (``Credential=KEY/DATE/REGION/sqs/aws4_request``, in the Authorization header or a presigned
  URL's ``X-Amz-Credential``);
- an unsigned one (curl, a browser) to the region its address names, an AWS-style host
  (``sqs.REGION.localhost``) or a path-style queue URL (``/queue/REGION/ACCOUNT/NAME``), else to
  the emulator's default region.

A queue URL given as ``QueueUrl`` names its queue by its last path segment; if it also names a
region other than the request's, the queue is not in the request's region and the answer is
the one AWS gives a client configured for the wrong region: QueueDoesNotExist.

How queue URLs are written is the ``sqs_endpoint_strategy`` setting, with LocalStack's names for
the same three choices (LocalStack docs, "SQS_ENDPOINT_STRATEGY"):

- ``off`` (the default): the host the request reached, ``http://HOST:PORT/ACCOUNT/NAME``. AWS
  too answers with the host the client used (``queue.amazonaws.com`` for clients that still
  call the legacy endpoint). The URL does not say its region: two regions' queues of one name
  have the same URL, and the request's region tells them apart.
- ``standard``: AWS's form under the emulator's public host,
  ``http://sqs.REGION.PUBLIC_HOST:PORT/ACCOUNT/NAME``. ``*.localhost`` is loopback (RFC 6761):
  browsers, curl and systemd-resolved resolve it, a bare glibc does not. botocore sends every
  request to its endpoint URL, but some SDKs send to the queue URL's host (aws-sdk-js v3 unless
  given an ``endpoint``; docs/aws-behaviour.md section 4.1): ``off`` stays the default.
- ``path``: ``http://HOST:PORT/queue/REGION/ACCOUNT/NAME``, the region in the path, for hosts
  where no subdomain resolves.

Pure: text in, text out."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from emulator.sqs.errors import no_queue

OFF, STANDARD, PATH = "off", "standard", "path"
STRATEGIES = (OFF, STANDARD, PATH)

# What a region looks like in a host or a path: us-east-1, eu-central-1, us-gov-west-1,
# cn-north-1. Strict, so that no other label (``queue``, an account id) is taken for one.
_REGION = re.compile(r"^[a-z]{2,}(?:-[a-z]+)+-\d{1,2}$")
# What a signing region may be: one DNS label, as every AWS region is. Anything else (no SDK
# signs with it) is not trusted into hosts and ARNs; such a request gets the default region.
_SIGNING_REGION = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$")
# The legacy endpoint of us-east-1, which older SDKs and the AWS CLI still wrote into queue URLs
# (botocore issue 2705; AWS CLI issue 1715).
_LEGACY_US_EAST_1 = "queue.amazonaws.com"


def is_region(text: str) -> bool:
    """Whether a host label or path segment is a region name (and not, say, ``queue``)."""
    return bool(_REGION.match(text))


def trusted_region(region: str | None) -> str | None:
    """A signing region that may go into hosts and ARNs, or None."""
    return region if region and _SIGNING_REGION.match(region) else None


def host_region(host: str) -> str | None:
    """The region an SQS host names: ``sqs.REGION.`` or ``sqs-fips.REGION.`` anything (AWS's
    endpoints, the standard strategy's hosts, LocalStack's), ``REGION.queue.`` anything (AWS's
    legacy regional hosts), or ``queue.amazonaws.com`` (us-east-1's legacy host)."""
    name = host.rsplit(":", 1)[0].lower() if _port(host) else host.lower()
    labels = name.split(".")
    if len(labels) >= 3:
        if labels[0] in ("sqs", "sqs-fips") and is_region(labels[1]):
            return labels[1]
        if labels[1] == "queue" and is_region(labels[0]):
            return labels[0]
    return "us-east-1" if name == _LEGACY_US_EAST_1 else None


def path_region(path: str) -> str | None:
    """The region of a path-style queue path, ``/queue/REGION/ACCOUNT/NAME``."""
    if not path.startswith("/queue/"):
        return None
    parts = [p for p in path.split("/") if p]
    return parts[1] if len(parts) == 4 and is_region(parts[1]) else None


def url_region(url: str) -> str | None:
    """The region a queue URL names, if any. A bare name or ``ACCOUNT/NAME``, which AWS also
    accepts as a QueueUrl, names none; nor does an ``off`` strategy URL."""
    if "://" not in url:
        return path_region(url) if url.startswith("/") else None
    parts = urlsplit(url)
    return path_region(parts.path) or host_region(parts.netloc)


def request_region(default: str, *, signed: str | None, host: str, path: str) -> str:
    """The region a request belongs to: the one it is signed for (``signed``, from its
    credential scope), else the one its address names, else the emulator's default."""
    return trusted_region(signed) or host_region(host) or path_region(path) or default


def check_queue_region(params: dict[str, object], region: str) -> None:
    """A QueueUrl naming another region names a queue this region does not have."""
    url = params.get("QueueUrl")
    if isinstance(url, str):
        named = url_region(url)
        if named is not None and named != region:
            raise no_queue()


def _port(host: str) -> str:
    """``:PORT`` of a Host header, or nothing (``[::1]:4566`` has one, ``[::1]`` has none)."""
    _, colon, port = host.rpartition(":")
    return colon + port if colon and port.isdigit() else ""


def base_url(strategy: str, host: str, region: str, public_host: str) -> str:
    """What a queue URL starts with, before ``/ACCOUNT/NAME``, for a request that reached
    ``host`` (its Host header) in ``region``. The standard strategy keeps the port the client
    reached, which is the emulator's own unless something forwards to it."""
    if strategy == STANDARD:
        return f"http://sqs.{region}.{public_host}{_port(host)}"
    if strategy == PATH:
        return f"http://{host}/queue/{region}"
    return f"http://{host}"
