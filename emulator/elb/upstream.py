"""The proxy's side towards the targets: one exchange per forwarded request, kept-alive
connections that carry them, and the pool that keeps those connections per target.

- Connections are pooled per target (LIFO, so the warmest is reused). When a reused connection
  turns out to be closed by the target before any byte of the answer, an idempotent request is
  retried once on a fresh connection; others get a 502.
- 502 when the target refuses, resets, closes early or answers garbage; 504 when it does not
  accept the connection within ``CONNECT_TIMEOUT`` or sends nothing for the listener's idle
  timeout (the sweep in ``proxy`` watches the deadlines). Once the answer's head has gone to
  the client, a failure can only cut the connection.
- Answers with a ``Content-Length`` are streamed through; chunked or close-delimited answers
  are read whole and sent on with a ``Content-Length``. Hop-by-hop headers are dropped.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import re
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING

import httptools

from emulator.elb.headers import HOP_BY_HOP, connection_names
from emulator.elb.tcp import set_nodelay

if TYPE_CHECKING:
    from emulator.elb.client import ClientConnection

CONNECT_TIMEOUT = 10.0
MAX_IDLE_PER_TARGET = 256
POOL_IDLE_TIMEOUT = 30.0  # an upstream connection unused this long is closed
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

TargetAddress = tuple[str, int, bool]  # (address, port, TLS)


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
        "status",
    )

    def __init__(
        self,
        client: ClientConnection,
        key: TargetAddress,
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
        self.status = 0  # the target's final status code, once its head arrived


class Answer(enum.Enum):
    """How far an upstream connection has read the answer to its exchange. A request starts at
    ``AWAITING``; the head decides how its body is relayed; every way ends at ``COMPLETE``::

        AWAITING -> HEAD (-> INTERIM -> HEAD ...) -> STREAMING | CHUNKED | UNTIL_CLOSE | NO_BODY
                                                  -> COMPLETE
    """

    AWAITING = (
        "the request went out; no byte of the answer yet (a reused connection found closed "
        "now is retried)"
    )
    HEAD = "part of the head arrived; its bytes are kept to relay it as the target sent it"
    INTERIM = "a 1xx interim head was read: it is not passed on; the real head follows"
    STREAMING = "the head went out; the Content-Length body is relayed as it arrives"
    CHUNKED = "a chunked body: collected, to go out whole with a Content-Length"
    UNTIL_CLOSE = "a body that ends when the target closes: collected likewise"
    NO_BODY = "the head went out and is the whole answer (HEAD request, 204, 304)"
    COMPLETE = "the answer ended; anything more from the target is garbage"


# (module names: a global lookup, where ``Answer.X`` is an attribute lookup on the hot path)
AWAITING = Answer.AWAITING
HEAD = Answer.HEAD
INTERIM = Answer.INTERIM
STREAMING = Answer.STREAMING
CHUNKED = Answer.CHUNKED
UNTIL_CLOSE = Answer.UNTIL_CLOSE
NO_BODY = Answer.NO_BODY
COMPLETE = Answer.COMPLETE


class _NotCrlfFramed(ValueError):
    """Raised in a parser callback: the head is not CRLF-framed as llhttp's strict mode wants
    (llhttp reports it as a parser error, and the exchange fails with a 502)."""


class UpstreamConnection(asyncio.Protocol):
    """A kept-alive connection to one target; carries one exchange at a time (``exchange`` is
    None while it waits in the pool). ``answer`` is where it is in reading that exchange's
    answer; ``reusable`` whether the connection may carry another one after it.

    llhttp frames the answer (length, chunks, 1xx, keep-alive); the head is relayed from the
    raw bytes: when it has no hop-by-hop header (the usual case) it goes out as the target sent
    it, after a new status line; otherwise its lines are filtered (``filtered_head``)."""

    def __init__(self, pool: UpstreamPool, key: TargetAddress) -> None:
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
        self.answer = AWAITING
        # False once the target said it closes, or sent more than the one answer asked for.
        self.reusable = True
        self.raw: list[bytes] = []  # bytes received while the head is incomplete
        self.head_start = 0  # where the current head starts in the joined ``raw``
        self.head_parts: list[bytes] = []  # a collected answer's head, until its body ends
        self.body_parts: list[bytes] = []
        self.out: list[bytes] = []  # for the client, written once per received segment

    # -- asyncio ----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        set_nodelay(transport)

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
        x.deadline = self.pool.loop.time() + x.idle_timeout
        answer = self.answer
        if answer is AWAITING:
            self.answer = HEAD
            self.raw.append(data)
        elif answer is HEAD or answer is INTERIM:
            self.raw.append(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(502)
            return
        except httptools.HttpParserError:
            if self.answer is not COMPLETE:
                self._fail(502)
                return
            self.reusable = False  # garbage after a complete answer
        if self.out:
            out, self.out = self.out, []
            x.client.write(b"".join(out) if len(out) > 1 else out[0])
        if self.answer is COMPLETE:
            self._finish()

    def eof_received(self) -> bool:
        if self.exchange is not None and self.answer is UNTIL_CLOSE:
            self.answer, self.reusable = COMPLETE, False  # a close-delimited body ended
            self._finish()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.forget(self)
        x = self.exchange
        if x is None:
            return
        if self.answer is AWAITING and x.reused and x.idempotent and not x.retried:
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
        if self.answer is COMPLETE:
            self.reusable = False  # a second answer to one request

    def on_headers_complete(self) -> None:
        if self.answer is COMPLETE:
            return
        x = self.exchange
        assert x is not None
        raw = self.raw[0] if len(self.raw) == 1 else b"".join(self.raw)
        start = self.head_start
        end = raw.find(b"\r\n\r\n", start)
        line_end = raw.find(b"\r\n", start)
        if end < 0 or line_end < 0:
            raise _NotCrlfFramed
        self.head_start = end + 4
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            self.answer = INTERIM
            return
        x.status = status
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
            block, chunked, keep_alive = filtered_head(block, bodiless or has_length)
        if bodiless:
            self.answer = NO_BODY
        elif has_length and not chunked:
            self.answer = STREAMING
        else:
            self.answer = CHUNKED if chunked else UNTIL_CLOSE
            self.head_parts = [line, block]
            return  # the head goes out with the whole body and its length
        self.out.append(x.client.response_head([line, block]))
        x.responded = True
        if x.head_request:
            # llhttp does not know the request was HEAD and would wait for a body: this answer
            # is complete; a fresh parser reads the next one (the old one ignores the rest).
            self.answer = COMPLETE
            self.reusable = keep_alive
            self.parser = httptools.HttpResponseParser(self)

    def on_body(self, body: bytes) -> None:
        answer = self.answer
        if answer is STREAMING:
            self.out.append(body)
        elif answer is not COMPLETE:
            self.body_parts.append(body)

    def on_message_complete(self) -> None:
        answer = self.answer
        if answer is COMPLETE:
            return
        if answer is INTERIM:
            self.answer = HEAD  # the final head follows
            return
        self.answer = COMPLETE
        self.reusable = self.parser.should_keep_alive()

    # -- outcomes ---------------------------------------------------------------------------

    def _finish(self) -> None:
        x = self.exchange
        assert x is not None
        head = self.head_parts
        if head:
            # a chunked or close-delimited answer, sent on whole with its length
            body = b"".join(self.body_parts)
            self.head_parts, self.body_parts = [], []
            head.append(b"Content-Length: %d\r\n" % len(body))
            x.client.write(x.client.response_head(head) + body)
            x.responded = True
        self.exchange = None
        x.upstream = None
        if self.reusable and not self.closed:
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

    def abandon(self) -> None:
        """The client left mid-answer: the connection cannot be reused."""
        self.exchange = None
        self._close()

    def _close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.abort()
        self.pool.forget(self)


# Response headers that need the slow path: hop-by-hop ones (``\n`` + lowercased name + ``:``).
_RESPONSE_SPECIAL = re.compile(
    rb"\n(?:" + b"|".join(re.escape(name) for name in sorted(HOP_BY_HOP)) + rb")[ \t]*:"
)


def filtered_head(block: bytes, keep_length: bool) -> tuple[bytes, bool, bool]:
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
    connection: list[bytes] = []
    chunked = False
    for name, value in headers:
        lower = name.lower()
        if lower == b"connection":
            connection.append(value)
        elif lower == b"transfer-encoding":
            chunked = True
    named = connection_names(connection)
    drop = HOP_BY_HOP | named
    if chunked or not keep_length:
        drop = drop | {b"content-length"}
    kept = [b"%s: %s\r\n" % (name, value) for name, value in headers if name.lower() not in drop]
    return b"".join(kept), chunked, b"close" not in named


class UpstreamPool:
    """Idle kept-alive connections per target, and new connections when none."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.idle: dict[TargetAddress, list[UpstreamConnection]] = {}
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
