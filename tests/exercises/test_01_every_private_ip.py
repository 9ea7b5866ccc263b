"""Exercise 1: the checker fails before the student reloads, fails requests that bypass the
load balancer or reach only some servers, and passes reloads that reach every server."""

from __future__ import annotations

import urllib.request

from lab.config import LabConfig
from tests.exercises.conftest import check, failed, start

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def reload(url: str, times: int) -> None:
    for _ in range(times):
        with NO_PROXY.open(url, timeout=10) as reply:
            assert reply.status == 200


def test_every_private_ip(lab_env: dict[str, str], config: LabConfig) -> None:
    said = start(lab_env, 1)
    assert "all healthy" in said
    balancer = f"http://{config.listener_host}:{config.local_port(80)}/"

    status, shown, report = check(lab_env, 1)  # the starting state: nothing reloaded yet
    assert status == 1 and "✗ you sent requests through the load balancer" in shown
    assert "hint:" in shown and report["points"] < report["max_points"]

    # wrong: straight to one web server, bypassing the balancer
    reload(f"http://{config.web_ips[0]}:{config.web_port}/", 6)
    status, shown, report = check(lab_env, 1)
    assert status == 1 and "forwarded 0 request(s)" in shown

    # wrong: one reload reaches one server of three
    reload(balancer, 1)
    status, shown, report = check(lab_env, 1)
    assert status == 1 and failed(report) == ["requests reached every healthy target"]
    assert "expected a request at each of" in shown and "saw none at" in shown

    # right: reload until every server answered
    reload(balancer, 5)
    status, shown, report = check(lab_env, 1)
    assert status == 0, shown
    assert report["passed"] and report["points"] == report["max_points"] == 4
    assert shown.count("✓") == 3 and "✗" not in shown
