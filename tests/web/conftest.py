"""Fixtures for the web servers and load balancers of section 15.1: real ``lab.web.server``
processes on 127.0.0.11-13, started through ``lab.web.fleet`` with a state folder of the test's
own, so nothing collides with a running lab."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from lab.config import LabConfig
from lab.lb import nginx
from lab.web import fleet
from tests.support.ports import free_port

IPS = ("127.0.0.11", "127.0.0.12", "127.0.0.13")


@pytest.fixture
def lab_config(tmp_path: Path) -> LabConfig:
    return replace(
        LabConfig(),
        state_dir=tmp_path / "state",
        web_port=free_port(IPS),
        nginx_port=free_port(),
        health_check_interval=5,
    )


@pytest.fixture
def web_servers(lab_config: LabConfig) -> Iterator[list[fleet.ServerSpec]]:
    specs = [fleet.ServerSpec(ip, lab_config.web_port) for ip in IPS]
    for spec in specs:
        fleet.start(lab_config, spec)
    yield specs
    for spec in specs:
        fleet.stop(lab_config, spec)
    nginx.stop(lab_config)


@pytest.fixture
def unique_name() -> str:
    return f"web-{uuid.uuid4().hex[:10]}"
