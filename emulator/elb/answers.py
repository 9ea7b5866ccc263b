"""Answers the balancer makes itself (docs/aws-behaviour.md section 5.9): its error pages,
redirects and fixed responses, and the status and Date lines of every answer it sends.

They are bytes ready for the wire and cached, because a listener whose targets are all down
answers every request from here."""

from __future__ import annotations

import email.utils
import functools
import time
from http import HTTPStatus

SERVER_HEADER = b"Server: awselb/2.0\r\n"
ERROR_HEADERS = SERVER_HEADER + b"Content-Type: text/html\r\n"
STATUS_TITLES = {
    301: "301 Moved Permanently",
    302: "302 Found",
    400: "400 Bad Request",
    405: "405 Method Not Allowed",
    463: "463",
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}

_REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}
_STATUS_LINES: dict[int, bytes] = {}
_ERROR_BODIES: dict[int, bytes] = {}


def status_line(status: int) -> bytes:
    """``HTTP/1.1 <status> <standard reason>\\r\\n``."""
    line = _STATUS_LINES.get(status)
    if line is None:
        line = _STATUS_LINES[status] = b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b""))
    return line


@functools.lru_cache(maxsize=1)
def _date_line_at(second: int) -> bytes:
    return b"Date: " + email.utils.formatdate(second, usegmt=True).encode() + b"\r\n"


def date_line() -> bytes:
    """``Date: ...\\r\\n`` for answers the balancer makes itself, formatted once a second."""
    return _date_line_at(int(time.time()))


def error_body(status: int) -> bytes:
    """The balancer's own error page, shaped like the ALB's."""
    body = _ERROR_BODIES.get(status)
    if body is None:
        title = STATUS_TITLES.get(status, str(status))
        body = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
        ).encode()
        _ERROR_BODIES[status] = body
    return body


def header_value(text: str) -> bytes:
    """A header value for the wire (a redirect's Location, a fixed response's type): latin-1
    round-trips what clients sent; line breaks are dropped so a value cannot add headers."""
    text = text.replace("\r", "").replace("\n", "")
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")
