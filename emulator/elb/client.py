"""The proxy's side towards the clients: a listener's connections, parsed with ``httptools``
(llhttp) as bytes arrive, and their requests answered in order.

- Requests are handled in order on a connection (pipelining works; at most ``MAX_PIPELINE``
  parsed requests wait before the connection stops reading). Request bodies are read whole
  (chunked ones included: the forwarded request carries a ``Content-Length``, because simple
  backends cannot read chunked bodies).
- Malformed requests (not HTTP, a line or header over 16 KiB, a head over 64 KiB) get a 400
  and the connection is closed after the answers before it; the listener keeps serving.
- A client that half-closes still gets the answers to the requests it sent completely.
- Every answer sent whole is told to the listener's ``answered`` callback, when it has one (the
  router publishes it as an ``elb.request`` event): the request (None for one that did not
  parse), the status, and whether a target made it. Answers a client left before, or that a
  failing target cut short, are not told.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httptools

from emulator.elb.answers import ERROR_HEADERS, SERVER_HEADER, date_line, error_body, status_line
from emulator.elb.tcp import set_nodelay
from emulator.elb.upstream import IDEMPOTENT, Exchange, TargetAddress

if TYPE_CHECKING:
    from emulator.elb.proxy import Listener

log = logging.getLogger("emulator.elb.proxy")

MAX_LINE = 16 * 1024  # request line and any single header (the ALB's limit)
MAX_HEAD = 64 * 1024  # all request headers together
MAX_PIPELINE = 32


class Request:
    """One parsed client request. ``headers`` are the raw header lines in order; ``body`` is
    None when the request had no body framing (no Content-Length, not chunked). ``read_at``
    is when it was read whole (``time.perf_counter``), ``routed`` what the router decided for
    it (the router's own record, for its ``answered`` callback)."""

    __slots__ = (
        "method",
        "target",
        "headers",
        "body",
        "version",
        "keep_alive",
        "framed",
        "read_at",
        "routed",
    )

    def __init__(self) -> None:
        self.method = ""
        self.target = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: bytes | None = None
        self.version = "1.1"
        self.keep_alive = True
        self.framed = False
        self.read_at = 0.0
        self.routed: Any = None  # (the router's own record: see its ``Routed``)


class _BadRequest:
    """Queued in place of a request that did not parse: answered 400, then the connection
    closes (after the answers to the requests before it)."""


BAD_REQUEST = _BadRequest()

# Decides what happens to a request: answers it (``respond``) or forwards it (``forward``).
Router = Callable[["ClientConnection", Request], None]
# Told of every answer sent whole: (connection, the request or None when it did not parse,
# status, True when a target made the answer and False when the balancer did).
Answered = Callable[["ClientConnection", Request | None, int, bool], None]


class Input(enum.Enum):
    """What a client connection does with the bytes it receives::

        REQUESTS --a request does not parse--> MALFORMED
        REQUESTS --a request asks to upgrade, with a body--> UPGRADE_BODY --body read--> ENDED
        REQUESTS --a request asks to upgrade, without a body--> ENDED

    and a half-close (``eof_received``) ends whichever it was in: ENDED.
    """

    REQUESTS = "parsing requests as they arrive"
    UPGRADE_BODY = (
        "reading the Content-Length body of a request that asked to switch protocols; it is "
        "the last request (the balancer switches nothing and answers it as a plain one)"
    )
    MALFORMED = "a request did not parse: nothing after it is read; it is answered 400"
    ENDED = "no more requests: the client half-closed, or its last request asked to upgrade"


# (module names: a global lookup, where ``Input.X`` is an attribute lookup on the hot path)
REQUESTS = Input.REQUESTS
UPGRADE_BODY = Input.UPGRADE_BODY
MALFORMED = Input.MALFORMED
ENDED = Input.ENDED


class ClientConnection(asyncio.Protocol):
    """One client connection to a listener. ``input`` is what it does with the bytes it
    receives; ``current`` the request being answered (None: none is), ``exchange`` its trip to
    a target when it was forwarded; ``closing`` asks to close after that answer."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.parser = httptools.HttpRequestParser(self)
        self.input = REQUESTS
        self.queue: deque[Request | _BadRequest] = deque()
        self.current: Request | None = None
        self.exchange: Exchange | None = None
        self.closed = False
        self.closing = False  # close after the answer in progress
        self.reading = True  # (the transport's reading, paused while requests wait)
        self._upgrade_wait: tuple[Request, int] | None = None  # (request, body length)
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
        set_nodelay(transport)
        self.last_active = self.listener.loop.time()
        self.listener.connections.add(self)

    def data_received(self, data: bytes) -> None:
        self.last_active = self.listener.loop.time()
        state = self.input
        if state is REQUESTS:
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserUpgrade as exc:
                self._upgrade(data[exc.args[0] :] if exc.args else b"")
            except httptools.HttpParserError as exc:
                log.debug("400 for a malformed request from %s: %s", self.peer, exc)
                self.queue.append(BAD_REQUEST)
                self.input = MALFORMED
                self._stop_reading()
        elif state is UPGRADE_BODY:
            self._upgrade_body(data)
        else:
            return  # nothing after a malformed request or the last one is read
        if self.current is None and self.queue:
            self._next()
        elif len(self.queue) >= MAX_PIPELINE:
            self._stop_reading()

    def _upgrade(self, rest: bytes) -> None:
        """llhttp stops at a request that asks to switch protocols (Upgrade, CONNECT) as if it
        had no body. The balancer switches nothing (Upgrade is hop-by-hop): the request is
        answered as a plain one, its Content-Length body read here, and it is the last one
        read on the connection."""
        self.input = ENDED
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
            self.input = MALFORMED
            self._stop_reading()
            return
        if length == 0:
            self._stop_reading()
            return
        self.queue.pop()
        self.input = UPGRADE_BODY
        self._upgrade_wait = (request, length)
        self._body = []
        self._upgrade_body(rest)

    def _upgrade_body(self, data: bytes) -> None:
        assert self._upgrade_wait is not None
        request, length = self._upgrade_wait
        self._body.append(data)
        have = sum(len(part) for part in self._body)
        if have >= length:
            request.body = b"".join(self._body)[:length]
            self._body = []
            self._upgrade_wait = None
            self.input = ENDED
            self.queue.append(request)
            self._stop_reading()

    def eof_received(self) -> bool:
        self.input = ENDED
        self._upgrade_wait = None
        return bool(self.current is not None or self.queue)  # answer what was asked, then close

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.listener.connections.discard(self)
        self.queue.clear()
        x = self.exchange
        if x is not None:
            self.exchange = None
            if x.connecting is not None:
                x.connecting.cancel()
            if x.upstream is not None:
                x.upstream.abandon()
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
            and self.current is None
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
        request.read_at = time.perf_counter()
        self._request = None
        self._body = []
        self.queue.append(request)

    # -- answering --------------------------------------------------------------------------

    def _next(self) -> None:
        """Answer queued requests in order until one waits on a target."""
        while self.queue and self.current is None and not self.closed:
            item = self.queue.popleft()
            if item is BAD_REQUEST:
                self.closing = True
                self._write_answer(400, ERROR_HEADERS, error_body(400), head=False)
                answered = self.listener.answered
                if answered is not None:
                    answered(self, None, 400, False)
                self._after_answer()
                return
            assert isinstance(item, Request)
            self.current = item
            try:
                self.listener.router(self, item)
            except Exception:
                log.exception("the balancer failed on a request")
                if self.exchange is None and self.current is not None:
                    self.closing = True
                    self.respond(500, SERVER_HEADER, b"")
                    return
            if self.current is not None:
                return  # forwarded; exchange_done continues
        if not self.queue and self.current is None and not self.closed:
            if self.input is ENDED:
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
            or (self.input is ENDED and not self.queue)
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
        answered = self.listener.answered
        if answered is not None:
            answered(self, request, status, False)
        self._after_answer()

    def respond_error(self, status: int) -> None:
        """Answer the current request with the balancer's error page for ``status``."""
        self.respond(status, ERROR_HEADERS, error_body(status))

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
        self.current = None
        self.last_active = self.listener.loop.time()
        if self.closing:
            self._close()

    def write(self, data: bytes) -> None:
        if not self.closed and self.transport is not None:
            self.transport.write(data)

    def forward(
        self,
        key: TargetAddress,
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
        answered = self.listener.answered
        if answered is not None:
            answered(self, self.current, x.status, True)
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
        self.respond_error(status)
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
        if self.current is not None or self.queue:
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
