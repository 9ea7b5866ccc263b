"""The request as a target gets it: what the balancer forwards for a client's request
(docs/aws-behaviour.md section 5.8), built as one piece of bytes (head and body, one write).

Pure: no sockets, no clock of its own (the time and the random source for the trace id are
arguments), so every header rule is unit-tested on plain values. It runs once per forwarded
request, so it is one pass over the headers in the usual case.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from emulator.elb import headers as hdr

if TYPE_CHECKING:
    from emulator.elb.client import Request

# Request headers the balancer replaces, or that are about one connection only.
FORWARD_DROP = hdr.HOP_BY_HOP | {
    b"x-forwarded-for",
    b"x-forwarded-proto",
    b"x-forwarded-port",
    b"x-amzn-trace-id",
    b"expect",
    b"content-length",
}


def listener_lines(protocol: str, port: int) -> bytes:
    """The ``X-Forwarded-Proto`` and ``X-Forwarded-Port`` lines of a listener: the same for
    every request it forwards, so they are encoded once. ``port`` is the listener's (80), not
    the local port that serves it (8080)."""
    return b"X-Forwarded-Proto: %s\r\nX-Forwarded-Port: %d\r\n" % (protocol.lower().encode(), port)


def forwarded_request(
    request: Request,
    peer: str,
    address: str,
    port: int,
    xff_mode: str,
    forwarded_lines: bytes,
    now: float,
    rng: random.Random,
) -> bytes | None:
    """The request for the target at ``address``:``port``, or None when the balancer answers
    463 itself (more than 30 addresses in X-Forwarded-For). ``peer`` is the client's address;
    ``xff_mode`` the load balancer's ``routing.http.xff_header_processing.mode``;
    ``forwarded_lines`` its listener's (``listener_lines``).

    Hop-by-hop headers and those the Connection header names are dropped (the rule is
    ``headers.connection_names``, shared with the answers' side); ``Host`` is added when the
    client sent none; a body goes on with its ``Content-Length`` (a chunked one too)."""
    drop = FORWARD_DROP
    while True:
        parts = [request.method.encode(), b" ", request.target, b" HTTP/1.1\r\n"]
        xff_in: list[str] = []
        trace_in: list[str] = []
        connection: list[bytes] = []
        has_host = False
        for name, value in request.headers:
            lower = name.lower()
            if lower in drop:
                if lower == b"x-forwarded-for":
                    xff_in.append(value.decode("latin-1"))
                elif lower == b"x-amzn-trace-id":
                    trace_in.append(value.decode("latin-1"))
                elif lower == b"connection":
                    connection.append(value)
                continue
            if lower == b"host":
                has_host = True
            parts += (name, b": ", value, b"\r\n")
        if not connection:
            break
        named = hdr.connection_names(connection) - drop
        # ``close`` is an option, sent by every client that wants the connection closed: not
        # worth a second pass for a header of that name.
        named.discard(b"close")
        if not named:
            break
        drop = drop | named  # the headers Connection names are dropped as well: build again
    if xff_in and sum(hdr.count_addresses(v) for v in xff_in) > hdr.MAX_XFF_ADDRESSES:
        return None
    if not has_host:
        host = f"[{address}]" if ":" in address else address
        parts.append(b"Host: %s:%d\r\n" % (host.encode(), port))
    # (both made of header values as parsed, latin-1, which hold no line breaks)
    xff = hdr.forwarded_for(xff_in, peer, xff_mode)
    if xff is not None:
        parts += (b"X-Forwarded-For: ", xff.encode("latin-1"), b"\r\n")
    parts.append(forwarded_lines)
    trace = hdr.amzn_trace_header(";".join(trace_in) or None, now, rng)
    parts += (b"X-Amzn-Trace-Id: ", trace.encode("latin-1"), b"\r\n")
    body = request.body
    if body is not None:
        parts.append(b"Content-Length: %d\r\n\r\n" % len(body))
        parts.append(body)
    else:
        parts.append(b"\r\n")
    return b"".join(parts)
