"""The listeners' HTTP/1.1 reverse proxy: asyncio protocols, ``httptools`` (llhttp) parsing.

This is the data plane's hot path, so it is written against ``asyncio.Protocol`` rather than a
web framework: a client connection parses requests as bytes arrive, hands each complete request
to a *router* (``DataPlane`` decides with the pure cores: rules, balancer, headers), and either
answers itself (errors, redirects, fixed responses) or forwards the request to a target over a
kept-alive upstream connection and relays the answer. Per request that is one write upstream (head
and body together) and, for an answer that arrives in one piece, one write back.

Semantics, as the ALB's:

- Requests are handled in order on a connection (pipelining works; at most ``MAX_PIPELINE``
  parsed requests wait before the connection stops reading). Request bodies are read whole and
  sent on with a ``Content-Length`` (chunked request bodies included: simple backends cannot
  read chunked bodies).
- Answers with a ``Content-Length`` are streamed through; chunked or close-delimited answers are
  read whole and sent on with a ``Content-Length``. Hop-by-hop headers are dropped both ways.
- Malformed requests (not HTTP, a line or header over 16 KiB, a head over 64 KiB) get a 400 and
  the connection is closed; the listener keeps serving.
- Upstream connections are pooled per target (LIFO, so the warmest is reused). When a reused
  connection turns out to be closed by the target before any byte of the answer, an idempotent
  request is retried once on a fresh connection; others get a 502.
- 502 when the target refuses, resets, closes early or answers garbage; 504 when it does not
  accept the connection within ``CONNECT_TIMEOUT`` or sends nothing for the listener's idle
  timeout. Once the answer's head has gone to the client, a failure can only cut the connection.
- Client connections idle for the listener's idle timeout are closed. A client that half-closes
  still gets the answers to the requests it sent completely.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import functools
import logging
import re
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable
from http import HTTPStatus

import httptools

from emulator.elb import headers as hdr

log = logging.getLogger("emulator.elb.proxy")

MAX_LINE = 16 * 1024  # request line and any single header (the ALB's limit)
MAX_HEAD = 64 * 1024  # all request headers together
MAX_PIPELINE = 32
CONNECT_TIMEOUT = 10.0
SWEEP_INTERVAL = 0.2
MAX_IDLE_PER_TARGET = 256
POOL_IDLE_TIMEOUT = 30.0  # an upstream connection unused this long is closed
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

HOP_BY_HOP = frozenset(name.encode() for name in hdr.HOP_BY_HOP)

_REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}
_STATUS_LINES: dict[tuple[int, bytes], bytes] = {}


def status_line(status: int, reason: bytes | None = None) -> bytes:
    """``HTTP/1.1 <status> <reason>\\r\\n``; the standard phrase when ``reason`` is None."""
    if reason is None:
        reason = _REASONS.get(status, b"")
    key = (status, reason)
    line = _STATUS_LINES.get(key)
    if line is None:
        line = b"HTTP/1.1 %d %s\r\n" % (status, reason)
        if len(_STATUS_LINES) < 1024:
            _STATUS_LINES[key] = line
    return line


_date_second = 0
_date_line = b""


def date_line() -> bytes:
    """``Date: ...\\r\\n`` for answers the balancer makes itself, formatted once a second."""
    global _date_second, _date_line
    now = int(time.time())
    if now != _date_second:
        _date_second = now
        _date_line = b"Date: " + email.utils.formatdate(now, usegmt=True).encode() + b"\r\n"
    return _date_line


class Request:
    """One parsed client request. ``headers`` are the raw header lines in order; ``body`` is
    None when the request had no body framing (no Content-Length, not chunked)."""

    __slots__ = ("method", "target", "headers", "body", "version", "keep_alive", "framed")

    def __init__(self) -> None:
        self.method = ""
        self.target = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: bytes | None = None
        self.version = "1.1"
        self.keep_alive = True
        self.framed = False


class _BadRequest:
    """Queued in place of a request that did not parse: answered 400, then the connection
    closes (after the answers to the requests before it)."""


BAD_REQUEST = _BadRequest()

Router = Callable[["ClientConnection", Request], None]


# -- the upstream side ------------------------------------------------------------------------


class Exchange:
    """One request forwarded to one target; ``done`` runs once whatever the outcome."""

    __slots__ = (
        "client",
        "key",
        "payload",
        "idempotent",
        "head_request",
        "idle_timeout",
        "done",
        "upstream",
        "deadline",
        "responded",
        "reused",
        "retried",
        "connecting",
        "finished",
    )

    def __init__(
        self,
        client: ClientConnection,
        key: tuple[str, int, bool],
        payload: bytes,
        idempotent: bool,
        head_request: bool,
        idle_timeout: float,
        done: Callable[[], None] | None,
    ) -> None:
        self.client = client
        self.key = key
        self.payload = payload
        self.idempotent = idempotent
        self.head_request = head_request
        self.idle_timeout = idle_timeout
        self.done = done
        self.upstream: UpstreamConnection | None = None
        self.deadline = 0.0
        self.responded = False  # the answer's head went to the client
        self.reused = False
        self.retried = False
        self.connecting: asyncio.Task[None] | None = None
        self.finished = False


class UpstreamConnection(asyncio.Protocol):
    """A kept-alive connection to one target; carries one exchange at a time.

    llhttp frames the answer (length, chunks, 1xx, keep-alive); the head is relayed from the
    raw bytes: when it has no hop-by-hop header (the usual case) it goes out as the target sent
    it, after a new status line; otherwise its lines are filtered (``_filtered_head``)."""

    def __init__(self, pool: UpstreamPool, key: tuple[str, int, bool]) -> None:
        self.pool = pool
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.exchange: Exchange | None = None
        self.closed = False
        self.paused = False
        self.idle_since = 0.0
        self._reset()

    def _reset(self) -> None:
        self.got_bytes = False
        self.raw: list[bytes] = []  # bytes received while the head is incomplete
        self.head_start = 0  # where the current head starts in the joined ``raw``
        self.interim = False
        self.mode = 0  # 0 head not yet seen, 1 streaming, 2 buffering, 3 no body
        self.delimited = False  # the body ends when the connection closes
        self.head_parts: list[bytes] = []
        self.body_parts: list[bytes] = []
        self.out: list[bytes] = []
        self.complete = False
        self.keep_alive = True
        self.broken = False
        self.invalid = False

    # -- asyncio ----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        _nodelay(transport)

    def begin(self, exchange: Exchange) -> None:
        self._reset()
        self.exchange = exchange
        exchange.upstream = self
        exchange.deadline = self.pool.loop.time() + exchange.idle_timeout
        assert self.transport is not None
        if self.paused:
            self.resume_reading()
        self.transport.write(exchange.payload)

    def data_received(self, data: bytes) -> None:
        x = self.exchange
        if x is None:  # bytes nobody asked for: the connection cannot be trusted
            self._close()
            return
        self.got_bytes = True
        x.deadline = self.pool.loop.time() + x.idle_timeout
        if not self.mode:
            self.raw.append(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(502)
            return
        except httptools.HttpParserError:
            if not self.complete:
                self._fail(502)
                return
            self.broken = True  # garbage after a complete answer
        if self.invalid:
            self._fail(502)
            return
        if self.out:
            out, self.out = self.out, []
            x.client.write(b"".join(out) if len(out) > 1 else out[0])
        if self.complete:
            self._finish()

    def eof_received(self) -> bool:
        if self.exchange is not None and self.delimited:
            self.complete, self.keep_alive = True, False  # a close-delimited body ended
            self._finish()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.forget(self)
        x = self.exchange
        if x is None:
            return
        if not self.got_bytes and x.reused and x.idempotent and not x.retried:
            # The target closed a kept-alive connection we just reused: try a fresh one.
            self.exchange = None
            x.upstream = None
            x.retried = True
            self.pool.connect(x)
            return
        self._fail(502)

    def pause_reading(self) -> None:
        if self.transport is not None and not self.closed and not self.paused:
            self.paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self.closed and self.paused:
            self.paused = False
            self.transport.resume_reading()

    # -- httptools callbacks ----------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.complete:
            self.broken = True  # a second answer to one request

    def on_headers_complete(self) -> None:
        if self.complete:
            return
        x = self.exchange
        assert x is not None
        raw = self.raw[0] if len(self.raw) == 1 else b"".join(self.raw)
        start = self.head_start
        end = raw.find(b"\r\n\r\n", start)
        line_end = raw.find(b"\r\n", start)
        if end < 0 or line_end < 0:
            self.invalid = True  # not CRLF-framed as llhttp's strict mode requires
            return
        self.head_start = end + 4
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            self.interim = True  # 1xx interim answers are not passed on
            return
        self.raw = []
        line = raw[start : line_end + 2]
        if not line.startswith(b"HTTP/1.1 "):
            line = b"HTTP/1.1" + line[8:]
        block = raw[line_end + 2 : end + 2]
        lower = b"\n" + block.lower()
        bodiless = x.head_request or status in (204, 304)
        has_length = b"\ncontent-length:" in lower
        if _RESPONSE_SPECIAL.search(lower) is None:
            chunked = False
            keep_alive = self.parser.get_http_version() == "1.1"
        else:
            block, chunked, keep_alive = _filtered_head(block, bodiless or has_length)
        if bodiless:
            self.mode = 3
        elif has_length and not chunked:
            self.mode = 1
        else:
            self.mode = 2
            self.delimited = not chunked
            self.head_parts = [line, block]
            return  # the head goes out with the whole body and its length
        self.out.append(x.client.response_head([line, block]))
        x.responded = True
        if x.head_request:
            # llhttp does not know the request was HEAD and would wait for a body: this answer
            # is complete; a fresh parser reads the next one (the old one ignores the rest).
            self.complete = True
            self.keep_alive = keep_alive
            self.parser = httptools.HttpResponseParser(self)

    def on_body(self, body: bytes) -> None:
        if self.complete:
            return
        if self.mode == 1:
            self.out.append(body)
        else:
            self.body_parts.append(body)

    def on_message_complete(self) -> None:
        if self.complete:
            return
        if self.interim:
            self.interim = False
            return
        self.complete = True
        self.keep_alive = self.parser.should_keep_alive()

    # -- outcomes ---------------------------------------------------------------------------

    def _finish(self) -> None:
        x = self.exchange
        assert x is not None
        if self.mode == 2:
            # a chunked or close-delimited answer, sent on whole with its length
            head, body = self.head_parts, b"".join(self.body_parts)
            self.head_parts, self.body_parts = [], []
            head.append(b"Content-Length: %d\r\n" % len(body))
            x.client.write(x.client.response_head(head) + body)
            x.responded = True
        self.exchange = None
        x.upstream = None
        if self.keep_alive and not self.broken and not self.closed:
            self.pool.release(self)
        else:
            self._close()
        x.client.exchange_done(x)

    def _fail(self, status: int) -> None:
        x = self.exchange
        self._close()
        if x is None:
            return
        self.exchange = None
        x.upstream = None
        x.client.exchange_failed(x, status)

    def timed_out(self) -> None:
        self._fail(504)

    def _close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.abort()
        self.pool.forget(self)


# Response headers that need the slow path: hop-by-hop ones (``\n`` + lowercased name + ``:``).
_RESPONSE_SPECIAL = re.compile(
    rb"\n(?:" + b"|".join(re.escape(name) for name in sorted(HOP_BY_HOP)) + rb")[ \t]*:"
)


def _filtered_head(block: bytes, keep_length: bool) -> tuple[bytes, bool, bool]:
    """Header lines without the hop-by-hop ones (and those Connection names, and the length
    unless ``keep_length``); also whether the body is chunked and whether the target keeps
    the connection open (HTTP/1.1 without ``Connection: close``)."""
    headers: list[tuple[bytes, bytes]] = []
    for line in block.split(b"\r\n"):
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and headers:  # obsolete line folding
            name, value = headers[-1]
            headers[-1] = (name, value + b" " + line.strip())
            continue
        name, _, value = line.partition(b":")
        headers.append((name.strip(), value.strip()))
    tokens: set[bytes] = set()
    chunked = False
    for name, value in headers:
        lower = name.lower()
        if lower == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b","))
        elif lower == b"transfer-encoding":
            chunked = True
    drop = HOP_BY_HOP | tokens
    if chunked or not keep_length:
        drop = drop | {b"content-length"}
    kept = [b"%s: %s\r\n" % (name, value) for name, value in headers if name.lower() not in drop]
    return b"".join(kept), chunked, b"close" not in tokens


class UpstreamPool:
    """Idle kept-alive connections per (address, port), and new connections when none."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.idle: dict[tuple[str, int, bool], list[UpstreamConnection]] = {}
        self.connecting: set[asyncio.Task[None]] = set()

    def start(self, x: Exchange) -> None:
        """Send ``x`` on an idle connection, or on a new one."""
        idle = self.idle.get(x.key)
        while idle:
            upstream = idle.pop()
            if not upstream.closed:
                x.reused = True
                upstream.begin(x)
                return
        self.connect(x)

    def connect(self, x: Exchange) -> None:
        x.reused = False
        x.deadline = self.loop.time() + CONNECT_TIMEOUT
        task = self.loop.create_task(self._connect(x))
        x.connecting = task
        self.connecting.add(task)
        task.add_done_callback(self.connecting.discard)

    async def _connect(self, x: Exchange) -> None:
        host, port, tls = x.key
        try:
            _, upstream = await self.loop.create_connection(
                lambda: UpstreamConnection(self, x.key),
                host,
                port,
                ssl=_unverified_tls() if tls else None,
            )
        except asyncio.CancelledError:
            return  # timed out (the sweep answered 504) or the client left
        except (OSError, ValueError):
            x.connecting = None
            if not x.finished:
                x.client.exchange_failed(x, 502)
            return
        x.connecting = None
        if x.finished:
            self.release(upstream)  # the client left meanwhile; keep the connection
            return
        upstream.begin(x)

    def release(self, upstream: UpstreamConnection) -> None:
        if upstream.closed:
            return
        idle = self.idle.get(upstream.key)
        if idle is None:
            idle = self.idle[upstream.key] = []
        elif len(idle) >= MAX_IDLE_PER_TARGET:
            upstream._close()
            return
        upstream.idle_since = self.loop.time()
        idle.append(upstream)

    def expire(self, now: float) -> None:
        """Close connections idle for ``POOL_IDLE_TIMEOUT`` (the oldest are first in line)."""
        for key, idle in list(self.idle.items()):
            while idle and now - idle[0].idle_since > POOL_IDLE_TIMEOUT:
                idle[0]._close()  # (forget() takes it off the list)
            if not idle:
                del self.idle[key]

    def forget(self, upstream: UpstreamConnection) -> None:
        idle = self.idle.get(upstream.key)
        if idle and upstream in idle:
            idle.remove(upstream)

    def close(self) -> None:
        for task in list(self.connecting):
            task.cancel()
        for idle in self.idle.values():
            for upstream in list(idle):
                upstream._close()
        self.idle.clear()


@functools.cache
def _unverified_tls() -> ssl.SSLContext:
    """For HTTPS targets: ALBs do not verify target certificates either."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _nodelay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


# -- the client side --------------------------------------------------------------------------


class ClientConnection(asyncio.Protocol):
    """One client connection to a listener."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.parser = httptools.HttpRequestParser(self)
        self.queue: deque[Request | _BadRequest] = deque()
        self.current: Request | None = None
        self.exchange: Exchange | None = None
        self.busy = False
        self.closed = False
        self.closing = False  # close after the answer in progress
        self.eof = False
        self.upgraded = False
        self._upgrade_wait: tuple[Request, int] | None = None
        self.reading = True
        self.last_active = 0.0
        self._request: Request | None = None
        self._url: list[bytes] = []
        self._head_size = 0
        self._body: list[bytes] = []

    # -- asyncio ----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.peer = str(peer[0]) if peer else ""
        _nodelay(transport)
        self.last_active = self.listener.loop.time()
        self.listener.connections.add(self)

    def data_received(self, data: bytes) -> None:
        self.last_active = self.listener.loop.time()
        if self.queue and self.queue[-1] is BAD_REQUEST:
            return  # nothing after a malformed request is read
        if self.upgraded:
            self._upgrade_body(data)
        else:
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserUpgrade as exc:
                self._upgrade(data[exc.args[0] :] if exc.args else b"")
            except httptools.HttpParserError as exc:
                log.debug("400 for a malformed request from %s: %s", self.peer, exc)
                self.queue.append(BAD_REQUEST)
                self._stop_reading()
        if not self.busy and self.queue:
            self._next()
        elif len(self.queue) >= MAX_PIPELINE:
            self._stop_reading()

    def _upgrade(self, rest: bytes) -> None:
        """llhttp stops at a request that asks to switch protocols (Upgrade, CONNECT) as if it
        had no body. The balancer switches nothing (Upgrade is hop-by-hop): the request is
        answered as a plain one, its Content-Length body read here, and it is the last one
        read on the connection."""
        self.upgraded = True
        self.eof = True  # no more requests from this client
        request = self.queue[-1] if self.queue else None
        if not isinstance(request, Request) or request.method == "CONNECT":
            self._stop_reading()
            return
        length = 0
        for name, value in request.headers:
            lower = name.lower()
            if lower == b"transfer-encoding":
                length = -1
                break
            if lower == b"content-length":
                length = int(value)  # llhttp checked it is a number
        if length < 0:  # a chunked body after an upgrade: not worth decoding by hand
            self.queue[-1] = BAD_REQUEST
            self._stop_reading()
            return
        if length == 0:
            self._stop_reading()
            return
        self.queue.pop()
        self._upgrade_wait = (request, length)
        self._body = []
        self._upgrade_body(rest)

    def _upgrade_body(self, data: bytes) -> None:
        if self._upgrade_wait is None:
            return  # (bytes after the last request are ignored)
        request, length = self._upgrade_wait
        self._body.append(data)
        have = sum(len(part) for part in self._body)
        if have >= length:
            request.body = b"".join(self._body)[:length]
            self._body = []
            self._upgrade_wait = None
            self.queue.append(request)
            self._stop_reading()

    def eof_received(self) -> bool:
        self.eof = True
        self._upgrade_wait = None
        return bool(self.busy or self.queue)  # answer what was asked, then close

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.listener.connections.discard(self)
        self.queue.clear()
        x = self.exchange
        if x is not None:
            self.exchange = None
            if x.connecting is not None:
                x.connecting.cancel()
            upstream = x.upstream
            if upstream is not None:
                upstream.exchange = None
                upstream._close()  # mid-answer: the connection cannot be reused
            self._end(x)

    def pause_writing(self) -> None:
        if self.exchange is not None and self.exchange.upstream is not None:
            self.exchange.upstream.pause_reading()

    def resume_writing(self) -> None:
        if self.exchange is not None and self.exchange.upstream is not None:
            self.exchange.upstream.resume_reading()

    # -- httptools callbacks ----------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._request = Request()
        self._url = []
        self._head_size = 0
        self._body = []

    def on_url(self, url: bytes) -> None:
        self._url.append(url)
        self._head_size += len(url)
        if self._head_size > MAX_LINE:
            raise ValueError("request line too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name) + len(value)
        if size > MAX_LINE:
            raise ValueError("header too long")
        self._head_size += size + 4
        if self._head_size > MAX_HEAD:
            raise ValueError("request head too large")
        request = self._request
        assert request is not None
        request.headers.append((name, value))
        if (len(name) == 14 or len(name) == 17) and name.lower() in (
            b"content-length",
            b"transfer-encoding",
        ):
            request.framed = True

    def on_headers_complete(self) -> None:
        request = self._request
        assert request is not None
        parser = self.parser
        request.method = _method(parser.get_method())
        request.version = parser.get_http_version()
        request.keep_alive = parser.should_keep_alive()
        url = self._url
        request.target = url[0] if len(url) == 1 else b"".join(url)
        if (
            request.framed
            and not self.busy
            and not self.queue
            and request.version == "1.1"
            and _expects_continue(request.headers)
        ):
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        request = self._request
        assert request is not None
        if request.framed:
            body = self._body
            request.body = b"".join(body) if len(body) != 1 else body[0]
        self._request = None
        self._body = []
        self.queue.append(request)

    # -- answering --------------------------------------------------------------------------

    def _next(self) -> None:
        """Answer queued requests in order until one waits on a target."""
        while self.queue and not self.busy and not self.closed:
            item = self.queue.popleft()
            if item is BAD_REQUEST:
                self.current = None
                self.closing = True
                self._write_answer(400, BAD_REQUEST_HEADERS, BAD_REQUEST_BODY, head=False)
                self._after_answer()
                return
            assert isinstance(item, Request)
            self.current = item
            self.busy = True
            try:
                self.listener.router(self, item)
            except Exception:
                log.exception("the balancer failed on a request")
                if self.exchange is None and self.busy:
                    self.closing = True
                    self.respond(500, b"Server: awselb/2.0\r\n", b"")
                    return
            if self.busy:
                return  # forwarded; exchange_done continues
        if not self.queue and not self.busy and not self.closed:
            if self.eof and self._upgrade_wait is None:
                self._close()  # (half a request, if any, can never complete)
            elif not self.reading and not self.closing:
                self._resume_reading()

    def response_head(self, parts: list[bytes]) -> bytes:
        """Finish an answer's head (status line and header lines in ``parts``) for this
        connection: Connection as the client and the balancer need it, the blank line."""
        request = self.current
        if (
            self.closing
            or request is None
            or not request.keep_alive
            or (self.eof and not self.queue and self._upgrade_wait is None)
        ):
            self.closing = True
            parts.append(b"Connection: close\r\n\r\n")
        elif request.version == "1.0":
            parts.append(b"Connection: keep-alive\r\n\r\n")
        else:
            parts.append(b"\r\n")
        return b"".join(parts)

    def respond(self, status: int, header_lines: bytes, body: bytes) -> None:
        """Answer the current request with a response the balancer makes itself;
        ``header_lines`` are complete ``Name: value\\r\\n`` lines (no length, no date)."""
        request = self.current
        head = request is not None and request.method == "HEAD"
        self._write_answer(status, header_lines, body, head=head)
        self._after_answer()

    def _write_answer(self, status: int, header_lines: bytes, body: bytes, head: bool) -> None:
        parts = [
            status_line(status),
            date_line(),
            header_lines,
            b"Content-Length: %d\r\n" % len(body),
        ]
        data = self.response_head(parts)
        self.write(data if head else data + body)

    def _after_answer(self) -> None:
        self.busy = False
        self.current = None
        self.last_active = self.listener.loop.time()
        if self.closing:
            self._close()

    def write(self, data: bytes) -> None:
        if not self.closed and self.transport is not None:
            self.transport.write(data)

    def forward(
        self,
        key: tuple[str, int, bool],
        payload: bytes,
        *,
        idle_timeout: float,
        done: Callable[[], None] | None = None,
    ) -> None:
        """Send the current request (``payload``: head and body, ready to write) to the target
        at ``key`` and relay its answer; ``done`` runs when the exchange ends, however."""
        request = self.current
        assert request is not None
        x = Exchange(
            self,
            key,
            payload,
            request.method in IDEMPOTENT,
            request.method == "HEAD",
            idle_timeout,
            done,
        )
        self.exchange = x
        self.listener.pool.start(x)

    def exchange_done(self, x: Exchange) -> None:
        self._end(x)
        if self.closed:
            return
        self._after_answer()
        self._next()

    def exchange_failed(self, x: Exchange, status: int) -> None:
        if x.finished:
            return
        self._end(x)
        if self.closed:
            return
        if x.responded:
            self._close()  # the head is out: all we can do is cut the answer short
            return
        self.respond(status, ERROR_HEADERS, error_body(status))
        self._next()

    def timed_out(self, now: float) -> bool:
        """Called by the sweep; True when the connection was dealt with."""
        x = self.exchange
        if x is not None:
            if x.deadline and now >= x.deadline:
                if x.connecting is not None:
                    x.connecting.cancel()
                    x.connecting = None
                    self.exchange_failed(x, 504)
                elif x.upstream is not None:
                    x.upstream.timed_out()
                return True
            return False
        if now - self.last_active >= self.listener.idle_timeout:
            self._close()
            return True
        return False

    def _end(self, x: Exchange) -> None:
        if x.finished:
            return
        x.finished = True
        if self.exchange is x:
            self.exchange = None
        if x.done is not None:
            try:
                x.done()
            except Exception:
                log.exception("exchange callback failed")

    def _stop_reading(self) -> None:
        if self.reading and self.transport is not None and not self.closed:
            self.reading = False
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if not self.reading and self.transport is not None and not self.closed:
            self.reading = True
            self.transport.resume_reading()

    def _close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()

    def shutdown(self) -> None:
        """The listener is going away: close now if idle, else after the current answer."""
        if self.busy or self.queue:
            self.closing = True
            self.queue.clear()
        else:
            self._close()


def _expects_continue(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(n.lower() == b"expect" and v.lower() == b"100-continue" for n, v in headers)


_METHODS: dict[bytes, str] = {}


def _method(raw: bytes) -> str:
    method = _METHODS.get(raw)
    if method is None:
        method = raw.decode("ascii", "replace")
        if len(_METHODS) < 64:
            _METHODS[raw] = method
    return method


# -- answers the balancer makes ---------------------------------------------------------------

ERROR_HEADERS = b"Server: awselb/2.0\r\nContent-Type: text/html\r\n"
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
_ERROR_BODIES: dict[int, bytes] = {}


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


BAD_REQUEST_HEADERS = ERROR_HEADERS
BAD_REQUEST_BODY = error_body(400)


# -- listeners --------------------------------------------------------------------------------


class ProxyRuntime:
    """What the listeners share: the upstream pool and the timeout sweep."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.pool = UpstreamPool(self.loop)
        self.listeners: set[Listener] = set()
        self._sweeper = self.loop.create_task(self._sweep(), name="elb-proxy-sweep")

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            now = self.loop.time()
            self.pool.expire(now)
            for listener in list(self.listeners):
                for conn in list(listener.connections):
                    try:
                        conn.timed_out(now)
                    except Exception:
                        log.exception("timeout sweep failed for a connection")

    def listener(self, router: Router, idle_timeout: float) -> Listener:
        listener = Listener(self, router, idle_timeout)
        self.listeners.add(listener)
        return listener

    async def close(self) -> None:
        self._sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._sweeper
        for listener in list(self.listeners):
            listener.close()
        self.pool.close()


class Listener:
    """One listening socket and its client connections."""

    def __init__(self, runtime: ProxyRuntime, router: Router, idle_timeout: float) -> None:
        self.runtime = runtime
        self.loop = runtime.loop
        self.pool = runtime.pool
        self.router = router
        self.idle_timeout = idle_timeout
        self.connections: set[ClientConnection] = set()
        self.server: asyncio.AbstractServer | None = None

    async def start(self, host: str, port: int) -> None:
        self.server = await self.loop.create_server(
            lambda: ClientConnection(self), host, port, reuse_address=True, backlog=1024
        )

    def close(self) -> None:
        """Stop accepting at once; idle connections close now, busy ones after their answer
        (``wait_closed`` cuts what is left)."""
        if self.server is not None:
            self.server.close()
        for conn in list(self.connections):
            conn.shutdown()

    async def wait_closed(self, timeout: float = 1.0) -> None:
        deadline = self.loop.time() + timeout
        while self.connections and self.loop.time() < deadline:
            await asyncio.sleep(0.05)
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.abort()
        self.runtime.listeners.discard(self)
        if self.server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2.0)
