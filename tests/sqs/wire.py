"""Raw HTTP to the emulator's SQS, for what the SDKs cannot send: the query protocol (botocore
speaks only JSON to SQS now), GETs, other Accept headers, broken bodies."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlencode

# Routing reads the SigV4 credential scope; the emulator does not check signatures.
SIGNED = (
    "AWS4-HMAC-SHA256 Credential=test/20261129/us-east-1/sqs/aws4_request, "
    "SignedHeaders=host, Signature=0"
)
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def send(
    endpoint: str,
    path: str = "/",
    *,
    method: str = "POST",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lower-case names, body) of one request, whatever the status."""
    request = urllib.request.Request(
        endpoint + path,
        data=body,
        headers={"Authorization": SIGNED, **(headers or {})},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as resp:
            return resp.status, _lower(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, _lower(err.headers), err.read()


def _lower(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def xml(body: bytes) -> ET.Element:
    """The XML document with namespaces dropped, so paths read as in the API reference."""
    root = ET.fromstring(body)
    for element in root.iter():
        element.tag = element.tag.split("}")[-1]
    return root


def query(
    endpoint: str,
    params: dict[str, str],
    path: str = "/",
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """A query-protocol request: the form as the body of a POST, or in the URL of a GET."""
    encoded = urlencode(params)
    if method == "GET":
        return send(endpoint, f"{path}?{encoded}", method="GET", headers=headers)
    return send(
        endpoint,
        path,
        body=encoded.encode(),
        headers={"Content-Type": FORM, **(headers or {})},
    )


def query_xml(
    endpoint: str, params: dict[str, str], path: str = "/", **kwargs: Any
) -> tuple[int, ET.Element]:
    status, _, body = query(endpoint, params, path, **kwargs)
    return status, xml(body)


def json_call(
    endpoint: str, action: str, params: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """A JSON-protocol request as botocore sends it; (status, headers, decoded body)."""
    status, answer_headers, body = send(
        endpoint,
        body=json.dumps(params).encode(),
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"AmazonSQS.{action}",
            "x-amzn-query-mode": "true",
            **(headers or {}),
        },
    )
    return status, answer_headers, json.loads(body) if body else {}


def queue_path(url: str) -> str:
    """``/<account>/<name>`` of a queue URL: where query requests for the queue may go."""
    return "/" + url.split("/", 3)[3]
