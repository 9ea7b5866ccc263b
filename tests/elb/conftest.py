"""Fixtures for the ALB data plane tests (helpers live in ``elbkit``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.elb.elbkit import BACKEND_IPS, Alb, Backend
from tests.support.ports import free_port


@pytest.fixture
def backends() -> Iterator[list[Backend]]:
    """Three web servers on 127.0.0.11-13, one port for all."""
    port = free_port(BACKEND_IPS)
    servers = [Backend(ip, port) for ip in BACKEND_IPS]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def alb(emulator: Any) -> Iterator[Alb]:
    """A load balancer (no listener yet) on the shared emulator."""
    balancer = Alb(emulator)
    yield balancer
    balancer.close()
