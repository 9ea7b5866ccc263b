"""Socket options both sides of the proxy set on their connections."""

from __future__ import annotations

import asyncio
import contextlib
import socket


def set_nodelay(transport: asyncio.BaseTransport) -> None:
    """Disable Nagle: an answer goes out in one write, and waiting for its ACK to send the next
    small write would add tens of milliseconds to a kept-alive exchange."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
