"""The upstream connection's answer states (``upstream.Answer``), driven without sockets: a fake
transport, pool and client, and answers fed in pieces as a target might send them."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.elb import upstream
from emulator.elb.upstream import Answer, Exchange, UpstreamConnection


class FakeTransport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name: str) -> Any:
        return None


class FakeLoop:
    def time(self) -> float:
        return 0.0


class FakePool:
    def __init__(self) -> None:
        self.loop = FakeLoop()
        self.released: list[UpstreamConnection] = []
        self.connects: list[Exchange] = []

    def release(self, conn: UpstreamConnection) -> None:
        self.released.append(conn)

    def forget(self, conn: UpstreamConnection) -> None:
        pass

    def connect(self, x: Exchange) -> None:
        self.connects.append(x)


class FakeClient:
    def __init__(self) -> None:
        self.out: list[bytes] = []
        self.outcome: object = None

    def write(self, data: bytes) -> None:
        self.out.append(data)

    def response_head(self, parts: list[bytes]) -> bytes:
        return b"".join(parts) + b"\r\n"

    def exchange_done(self, x: Exchange) -> None:
        self.outcome = "done"

    def exchange_failed(self, x: Exchange, status: int) -> None:
        self.outcome = status


def exchange(*, head: bool = False, reused: bool = False, idempotent: bool = True):
    pool, client = FakePool(), FakeClient()
    conn = UpstreamConnection(pool, ("127.0.0.11", 80, False))  # type: ignore[arg-type]
    conn.connection_made(FakeTransport())  # type: ignore[arg-type]
    x = Exchange(
        client, ("127.0.0.11", 80, False), b"GET / HTTP/1.1\r\n\r\n", idempotent, head, 60.0, None
    )  # type: ignore[arg-type]
    x.reused = reused
    conn.begin(x)
    return conn, pool, client, x


def ok(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


def test_a_content_length_answer_streams_and_the_connection_goes_back_to_the_pool():
    conn, pool, client, x = exchange()
    assert conn.answer is Answer.AWAITING
    conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Le")
    assert conn.answer is Answer.HEAD and client.out == []
    conn.data_received(b"ngth: 10\r\n\r\nhello")
    assert conn.answer is Answer.STREAMING and x.responded
    assert client.out == [b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"]
    conn.data_received(b"world")
    assert client.out[-1] == b"world" and client.outcome == "done"
    assert conn.exchange is None and pool.released == [conn]


def test_interim_answers_are_not_passed_on():
    conn, _, client, _ = exchange()
    conn.data_received(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n")
    assert conn.answer is Answer.HEAD and client.out == []
    conn.data_received(ok(b"final"))
    assert b"".join(client.out) == ok(b"final") and client.outcome == "done"


@pytest.mark.parametrize(
    "answer, state, eof",
    [
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n",
            Answer.CHUNKED,
            b"",
        ),
        (b"HTTP/1.0 200 OK\r\nX-Kind: d\r\n\r\nuntil the", Answer.UNTIL_CLOSE, b" end"),
    ],
)
def test_chunked_and_close_delimited_answers_go_out_whole_with_a_length(answer, state, eof):
    conn, pool, client, _ = exchange()
    conn.data_received(answer)
    assert conn.answer is state and client.out == []
    if state is Answer.CHUNKED:
        conn.data_received(b"5\r\npedia\r\n0\r\n\r\n")
        body, reused = b"wikipedia", [conn]
    else:
        conn.data_received(eof)
        conn.eof_received()
        body, reused = b"until the end", []
    head, _, sent = b"".join(client.out).partition(b"\r\n\r\n")
    assert sent == body and b"Content-Length: %d" % len(body) in head
    assert b"Transfer-Encoding" not in head and client.outcome == "done"
    assert pool.released == reused  # a close-delimited answer used the connection up


def test_head_and_204_answers_have_no_body():
    conn, pool, client, _ = exchange(head=True)
    conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
    assert conn.exchange is None and client.outcome == "done" and pool.released == [conn]
    conn, _, client, _ = exchange()
    conn.data_received(b"HTTP/1.1 204 No Content\r\nX-Kind: empty\r\n\r\n")
    assert b"".join(client.out).startswith(b"HTTP/1.1 204 No Content\r\n")
    assert client.outcome == "done"


def test_more_than_the_answer_makes_the_connection_unfit_for_reuse():
    conn, pool, client, _ = exchange()
    conn.data_received(ok(b"one") + ok(b"two"))
    assert b"".join(client.out) == ok(b"one") and client.outcome == "done"
    assert pool.released == [] and conn.closed


@pytest.mark.parametrize(
    "answer",
    [b"THIS IS NOT HTTP\r\n\r\n", b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok"],
    ids=["garbage", "not-crlf-framed"],
)
def test_answers_that_do_not_parse_are_a_502(answer):
    conn, _, client, _ = exchange()
    conn.data_received(answer)
    assert client.outcome == 502 and client.out == [] and conn.closed


def test_a_reused_connection_closed_before_any_byte_retries_an_idempotent_request():
    conn, pool, client, x = exchange(reused=True)
    conn.connection_lost(None)
    assert pool.connects == [x] and x.retried and client.outcome is None
    conn, pool, client, x = exchange(reused=True, idempotent=False)
    conn.connection_lost(None)
    assert pool.connects == [] and client.outcome == 502
    conn, pool, client, x = exchange(reused=True)
    conn.data_received(b"HTTP/1.1 200")
    conn.connection_lost(None)
    assert pool.connects == [] and client.outcome == 502  # bytes came: not retried


def test_hop_by_hop_answer_headers_and_those_connection_names_are_dropped():
    block, chunked, keep_alive = upstream.filtered_head(
        b"Content-Length: 2\r\nConnection: X-Secret, close\r\nX-Secret: s\r\n"
        b"Keep-Alive: timeout=5\r\nX-Open: o\r\n",
        True,
    )
    assert block == b"Content-Length: 2\r\nX-Open: o\r\n"
    assert not chunked and not keep_alive
