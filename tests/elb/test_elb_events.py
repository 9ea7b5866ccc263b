"""The load balancer's events (``elb.request``, ``elb.health_check``, ``elb.target_state``) and
its health checks under a faster clock: through the real emulator and its event stream, and
the state machine and the checker alone, with the clocks injected."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import urllib.request
from typing import Any

from emulator.clock import ManualClock, ScaledClock
from emulator.elb.checks import HealthChecker
from emulator.elb.health import CheckResult, HealthCheckConfig, HealthRegistry, TargetKey
from emulator.events.elb import ElbHealthCheck, ElbTargetState
from emulator.events.model import Event
from tests.elb.elbkit import BACKEND_IPS, Alb, Backend
from tests.support.emulator import EmulatorProcess
from tests.support.ports import free_port
from tests.support.waiting import wait_until

IP1, IP2, _ = BACKEND_IPS


def events(emulator: Any, prefix: str, after: int = 0) -> list[dict]:
    """Every event of the stream after ``after`` whose type starts with ``prefix``."""
    out: list[dict] = []
    while True:
        url = f"{emulator.endpoint}/_lab/events?after={after}&type={prefix}&limit=10000"
        with urllib.request.urlopen(url, timeout=30) as response:
            page = json.loads(response.read())
        out += page["events"]
        if page["next_after"] >= page["last_id"]:
            return out
        after = page["next_after"]


def last_id(emulator: Any) -> int:
    with urllib.request.urlopen(f"{emulator.endpoint}/_lab/events?limit=1", timeout=30) as r:
        return json.loads(r.read())["last_id"]


def test_every_answer_is_a_request_event_with_its_rule_target_and_time(alb, backends, emulator):
    tg = alb.target_group(backends[0].port)
    listener = alb.listen(tg)
    alb.elb.create_rule(
        ListenerArn=listener,
        Priority=7,
        Conditions=[{"Field": "path-pattern", "Values": ["/fixed"]}],
        Actions=[
            {
                "Type": "fixed-response",
                "FixedResponseConfig": {"StatusCode": "418", "MessageBody": "tea"},
            }
        ],
    )
    alb.register(tg, [IP1])
    alb.wait_states(tg, {IP1: "healthy"}, timeout=5)
    start = last_id(emulator)
    assert alb.get("/slow?s=0.2").status == 200
    assert alb.get("/fixed").status == 418
    assert alb.get("/reset").status == 502  # the target resets: the balancer's own 502
    assert alb.get("/x", method="TRACE").status == 405
    lb = alb.lb["LoadBalancerName"]
    mine = [e for e in events(emulator, "elb.request", start) if e["load_balancer"] == lb]
    assert len(mine) == 4, mine
    slow, fixed, reset, trace = mine
    assert {k: slow[k] for k in slow if k not in ("schema", "stream", "id", "at", "ms")} == {
        "type": "elb.request",
        "load_balancer": lb,
        "listener_port": alb.port,
        "method": "GET",
        "path": "/slow?s=0.2",
        "rule": "default",
        "target_group": f"tg-{alb.tag}",
        "target_id": IP1,
        "target_address": IP1,
        "status": 200,
        "answered_by": "target",
    }
    assert 190 <= slow["ms"] < 5000, slow["ms"]
    assert (fixed["rule"], fixed["status"], fixed["answered_by"], fixed["target_id"]) == (
        7,
        418,
        "balancer",
        None,
    )
    assert (reset["status"], reset["answered_by"], reset["target_id"]) == (502, "balancer", IP1)
    assert (trace["rule"], trace["status"], trace["method"]) == (None, 405, "TRACE")
    assert slow["id"] < fixed["id"] < reset["id"] < trace["id"]


def test_health_checks_and_state_changes_are_events_in_order(alb, backends, emulator):
    start = last_id(emulator)
    tg = alb.target_group(backends[0].port, "ev")
    alb.listen(tg)
    alb.register(tg, [IP1])
    alb.wait_states(tg, {IP1: "healthy"}, timeout=5)
    backends[0].health = 503
    alb.wait_states(tg, {IP1: "unhealthy"}, timeout=15)
    alb.deregister(tg, [IP1])
    name = f"ev-{alb.tag}"
    mine = [
        e
        for e in events(emulator, "elb.", start)
        if e.get("target_group") == name and e["type"] != "elb.request"
    ]
    states = [
        (e["previous"], e["state"], e["reason"]) for e in mine if e["type"] != "elb.health_check"
    ]
    assert states == [
        (None, "initial", "Elb.RegistrationInProgress"),
        ("initial", "healthy", None),
        ("healthy", "unhealthy", "Target.ResponseCodeMismatch"),
        ("unhealthy", "draining", "Target.DeregistrationInProgress"),
    ]
    checks = [e for e in mine if e["type"] == "elb.health_check"]
    assert checks[0] == {
        **{k: checks[0][k] for k in ("schema", "stream", "id", "at")},
        "type": "elb.health_check",
        "target_group": name,
        "target_id": IP1,
        "port": backends[0].port,
        "address": IP1,
        "ok": True,
        "status": 200,
        "error": None,
    }
    assert [(c["ok"], c["status"]) for c in checks[-2:]] == [(False, 503), (False, 503)]
    # a check comes before the change it causes
    types = [e["type"] for e in mine]
    assert types[:3] == ["elb.target_state", "elb.health_check", "elb.target_state"]
    assert types[types.index("elb.target_state", 3) - 1] == "elb.health_check"


class QuietEmulator(EmulatorProcess):
    """An emulator started with request events off."""

    def options(self) -> list[str]:
        return [*super().options(), "--no-elb-request-events"]


def test_a_faster_clock_speeds_health_checks_and_request_events_can_be_off(tmp_path, backends):
    """At 20x, interval 5 s x threshold 2 make a failing target unhealthy in about 0.5 s (10 s
    at 1x); with ``--no-elb-request-events`` requests publish nothing, checks still do."""
    emulator = QuietEmulator(tmp_path / "state").start()
    alb = Alb(emulator)
    try:
        request = urllib.request.Request(
            f"{emulator.endpoint}/_lab/clock",
            data=json.dumps({"speed": 20}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=10).read()
        tg = alb.target_group(backends[0].port)
        alb.listen(tg)
        alb.register(tg, [IP1])
        alb.wait_states(tg, {IP1: "healthy"}, timeout=5)
        assert alb.get("/").status == 200
        backends[0].health = 500
        failing = time.monotonic()
        wait_until(lambda: alb.states(tg) == {IP1: "unhealthy"}, 5, 0.05)
        took = time.monotonic() - failing
        assert took < 2.0, took  # interval x threshold / 20 = 0.5 s (10 s at 1x), with slack
        backends[0].health = "hang"  # HealthCheckTimeoutSeconds 2 (emulated): 0.1 s real
        hanging = time.monotonic()
        wait_until(lambda: alb.health(tg)[IP1][1] == "Target.Timeout", 5, 0.05)
        assert time.monotonic() - hanging < 1.5  # (a 2-second timeout alone would take 2 s)
        assert events(emulator, "elb.request") == []
        assert events(emulator, "elb.health_check")
    finally:
        alb.close()
        emulator.stop()


# -- the cores, with injected clocks ----------------------------------------------------------


def test_the_state_machine_tells_every_change_of_state():
    clock = ManualClock()
    changes: list[tuple] = []
    registry = HealthRegistry(clock, lambda *change: changes.append(change))
    group = registry.group("arn:tg")
    key = TargetKey(IP1, 80)
    config = HealthCheckConfig(interval=5, timeout=2, healthy_threshold=2, unhealthy_threshold=2)
    group.update(config, [key], deregistration_delay=30)

    def check(result: CheckResult) -> None:
        clock.advance(5)
        (due,) = group.due()
        assert group.judge(due, result) is (result.status == 200)
        group.record(due, result)

    check(CheckResult.code(200))
    check(CheckResult.code(500))
    check(CheckResult.timed_out())
    check(CheckResult.timed_out())  # unhealthy already: a new reason is not a new state
    group.update(config, [], deregistration_delay=30)
    clock.advance(31)
    group.descriptions()
    assert changes == [
        ("arn:tg", key, None, "initial", "Elb.RegistrationInProgress"),
        ("arn:tg", key, "initial", "healthy", None),
        ("arn:tg", key, "healthy", "unhealthy", "Target.Timeout"),
        ("arn:tg", key, "unhealthy", "draining", "Target.DeregistrationInProgress"),
        ("arn:tg", key, "draining", "unused", "Target.NotRegistered"),
    ]


def test_the_checker_waits_in_real_time_under_a_scaled_clock():
    """The checker alone against a real web server, at 20x: checks every 5 emulated seconds are
    0.25 s apart, a 2-second timeout gives up after 0.1 s, and each result is an event before
    the state change it causes."""
    port = free_port((IP1,))
    backend = Backend(IP1, port)
    published: list[Event] = []

    async def scenario() -> tuple[float, float]:
        clock = ScaledClock(speed=20)
        registry = HealthRegistry(clock)
        checker = HealthChecker(
            registry,
            lambda _arn, key: key.id,
            lambda _address: True,
            clock,
            publish=published.append,
            name_of=lambda arn: arn,
        )

        def state_changed(arn: str, key: TargetKey, previous: Any, state: str, reason: Any) -> None:
            published.append(ElbTargetState(arn, key.id, key.port, previous, state, reason))

        registry.on_change = state_changed
        group = registry.group("web")
        config = HealthCheckConfig(
            path="/health", interval=5, timeout=2, healthy_threshold=2, unhealthy_threshold=2
        )
        group.update(config, [TargetKey(IP1, port)])
        await checker.start()
        try:

            async def until(state: str) -> float:
                start = time.monotonic()
                while group.health(TargetKey(IP1, port)).state != state:
                    await asyncio.sleep(0.01)
                    assert time.monotonic() - start < 5, state
                return time.monotonic() - start

            await until("healthy")
            backend.health = 500
            to_unhealthy = await until("unhealthy")
            backend.health = 200
            await until("healthy")
            backend.health = "hang"
            to_timeout = await until("unhealthy")
            return to_unhealthy, to_timeout
        finally:
            await checker.stop()

    try:
        to_unhealthy, to_timeout = asyncio.run(scenario())
    finally:
        backend.stop()
    assert 0.2 < to_unhealthy < 2.0, to_unhealthy  # 2 checks 0.25 s apart (5-10 s at 1x)
    assert 0.2 < to_timeout < 2.0, to_timeout  # 2 timeouts of 0.1 s, 0.25 s apart (7 s at 1x)
    times = [at for at, _headers in backend.health_checks]
    intervals = [b - a for a, b in itertools.pairwise(times)]
    assert min(intervals) > 0.15 and sorted(intervals)[len(intervals) // 2] < 0.4, intervals
    checks = [e for e in published if isinstance(e, ElbHealthCheck)]
    assert {c.error for c in checks} == {None, "timeout"}
    assert [c.status for c in checks if not c.ok and c.error is None] == [500, 500]
    kinds = [type(e).__name__ for e in published]
    for i, kind in enumerate(kinds):
        if kind == "ElbTargetState" and i > 0:
            assert kinds[i - 1] == "ElbHealthCheck"  # (after the registration)
