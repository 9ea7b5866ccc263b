"""The request a target gets (``forwarding.forwarded_request``), built from plain values: no
sockets, a fixed time and a seeded random source."""

from __future__ import annotations

import random

from emulator.elb.client import Request
from emulator.elb.forwarding import forwarded_request, listener_lines

NOW = 1_665_400_000.0
LINES = listener_lines("HTTP", 80)


def request(
    headers: list[tuple[bytes, bytes]],
    *,
    method: str = "GET",
    target: bytes = b"/a?b=1",
    body: bytes | None = None,
) -> Request:
    parsed = Request()
    parsed.method = method
    parsed.target = target
    parsed.headers = headers
    parsed.body = body
    return parsed


def forward(
    req: Request,
    *,
    peer: str = "127.0.0.1",
    address: str = "127.0.0.11",
    port: int = 8001,
    xff_mode: str = "append",
) -> bytes | None:
    return forwarded_request(req, peer, address, port, xff_mode, LINES, NOW, random.Random(7))


def split(payload: bytes | None) -> tuple[bytes, list[tuple[str, str]], bytes]:
    """Request line, header (name, value) pairs in order, body."""
    assert payload is not None
    head, _, body = payload.partition(b"\r\n\r\n")
    line, *lines = head.decode("latin-1").split("\r\n")
    pairs = []
    for text in lines:
        name, _, value = text.partition(": ")
        pairs.append((name, value))
    return line.encode(), pairs, body


def names(pairs: list[tuple[str, str]]) -> list[str]:
    return [name.lower() for name, _ in pairs]


def value(pairs: list[tuple[str, str]], name: str) -> str | None:
    found = [v for n, v in pairs if n.lower() == name.lower()]
    assert len(found) <= 1, found
    return found[0] if found else None


def test_request_line_client_headers_in_order_then_the_balancers():
    line, pairs, body = split(
        forward(request([(b"Host", b"example.com"), (b"Accept", b"*/*"), (b"X-B", b"2")]))
    )
    assert line == b"GET /a?b=1 HTTP/1.1"
    assert pairs[:3] == [("Host", "example.com"), ("Accept", "*/*"), ("X-B", "2")]
    assert names(pairs)[3:] == [
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-port",
        "x-amzn-trace-id",
    ]
    assert value(pairs, "X-Forwarded-Proto") == "http"
    assert value(pairs, "X-Forwarded-Port") == "80"  # the listener's port, not the local one
    trace = value(pairs, "X-Amzn-Trace-Id")
    assert trace is not None and trace.startswith(f"Root=1-{int(NOW):08x}-")
    assert body == b""


def test_hop_by_hop_and_replaced_headers_are_dropped():
    _, pairs, _ = split(
        forward(
            request(
                [
                    (b"Host", b"h"),
                    (b"Keep-Alive", b"timeout=5"),
                    (b"TE", b"trailers"),
                    (b"Upgrade", b"websocket"),
                    (b"Proxy-Authorization", b"x"),
                    (b"Expect", b"100-continue"),
                    (b"X-Forwarded-Proto", b"https"),
                    (b"X-Forwarded-Port", b"443"),
                    (b"Content-Length", b"3"),
                ],
                body=b"abc",
            )
        )
    )
    assert names(pairs) == [
        "host",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-port",
        "x-amzn-trace-id",
        "content-length",
    ]
    assert value(pairs, "X-Forwarded-Proto") == "http"


def test_headers_the_connection_header_names_are_dropped():
    _, pairs, _ = split(
        forward(
            request(
                [
                    (b"Host", b"h"),
                    (b"X-Secret", b"1"),
                    (b"Connection", b"keep-alive, X-SECRET,x-other"),
                    (b"x-other", b"2"),
                    (b"X-Kept", b"3"),
                    (b"Connection", b"close"),
                ]
            )
        )
    )
    assert "connection" not in names(pairs)
    assert "x-secret" not in names(pairs) and "x-other" not in names(pairs)
    assert value(pairs, "X-Kept") == "3"


def test_connection_close_alone_drops_only_connection():
    _, pairs, _ = split(forward(request([(b"Host", b"h"), (b"Connection", b"close")])))
    assert names(pairs)[0] == "host" and "connection" not in names(pairs)


def test_x_forwarded_for_append_preserve_remove():
    sent = [
        (b"Host", b"h"),
        (b"X-Forwarded-For", b"203.0.113.7"),
        (b"x-forwarded-for", b"10.1.1.1"),
    ]
    _, pairs, _ = split(forward(request(sent), peer="127.0.0.5"))
    assert value(pairs, "X-Forwarded-For") == "203.0.113.7, 10.1.1.1, 127.0.0.5"
    _, pairs, _ = split(forward(request(sent), xff_mode="preserve"))
    assert value(pairs, "X-Forwarded-For") == "203.0.113.7, 10.1.1.1"
    _, pairs, _ = split(forward(request(sent), xff_mode="remove"))
    assert value(pairs, "X-Forwarded-For") is None
    _, pairs, _ = split(forward(request([(b"Host", b"h")]), xff_mode="preserve"))
    assert value(pairs, "X-Forwarded-For") is None
    _, pairs, _ = split(forward(request([(b"Host", b"h")]), peer="::1"))
    assert value(pairs, "X-Forwarded-For") == "::1"


def test_more_than_30_forwarded_addresses_is_a_463():
    thirty = ", ".join(f"10.0.0.{i}" for i in range(30)).encode()
    assert forward(request([(b"X-Forwarded-For", thirty)])) is not None
    assert forward(request([(b"X-Forwarded-For", thirty + b", 10.0.0.99")])) is None
    split_over_two = [(b"X-Forwarded-For", thirty), (b"X-Forwarded-For", b"10.0.0.99")]
    assert forward(request(split_over_two)) is None
    # (counted before the mode applies: even ``remove`` answers 463)
    assert forward(request(split_over_two), xff_mode="remove") is None


def test_host_added_when_the_client_sent_none():
    _, pairs, _ = split(forward(request([]), address="127.0.0.11", port=8001))
    assert pairs[0] == ("Host", "127.0.0.11:8001")
    _, pairs, _ = split(forward(request([]), address="::1", port=80))
    assert pairs[0] == ("Host", "[::1]:80")
    _, pairs, _ = split(forward(request([(b"hOsT", b"client.example")])))
    assert [v for n, v in pairs if n.lower() == "host"] == ["client.example"]


def test_body_goes_on_with_its_length():
    body = b"x" * 1000
    sent = [(b"Host", b"h"), (b"Transfer-Encoding", b"chunked"), (b"Content-Length", b"5")]
    _, pairs, got = split(forward(request(sent, method="POST", body=body)))
    assert value(pairs, "Content-Length") == "1000"
    assert "transfer-encoding" not in names(pairs)
    assert names(pairs)[-1] == "content-length"
    assert got == body
    _, pairs, got = split(forward(request([(b"Host", b"h")], method="POST", body=b"")))
    assert value(pairs, "Content-Length") == "0" and got == b""
    payload = forward(request([(b"Host", b"h")]))
    assert payload is not None and payload.endswith(b"\r\n\r\n")
    assert b"content-length" not in payload.lower()


def test_trace_header_keeps_the_clients_root():
    sent = b"Root=1-63441c4a-abcdef012345678912345678;Lineage=a:1"
    _, pairs, _ = split(forward(request([(b"Host", b"h"), (b"X-Amzn-Trace-Id", sent)])))
    trace = value(pairs, "X-Amzn-Trace-Id")
    assert trace is not None
    first, rest = trace.split(";", 1)
    assert first.startswith("Self=1-") and rest == sent.decode()


def test_listener_lines():
    assert listener_lines("HTTPS", 443) == b"X-Forwarded-Proto: https\r\nX-Forwarded-Port: 443\r\n"
