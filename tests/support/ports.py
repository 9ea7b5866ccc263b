"""Ports for the servers a test starts, and whether something listens on one."""

from __future__ import annotations

import socket

# One implementation for the tests and the benches: the benches own it (they do not import the
# tests), and the tests use the same function rather than a copy of it.
from bench.common import free_port

__all__ = ["connects", "free_port"]


def connects(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections at ``host``:``port`` now."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
