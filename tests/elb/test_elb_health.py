"""Target health state machine (pure) with a manual clock: no sleeping."""

from __future__ import annotations

import pytest

from emulator.clock import ManualClock
from emulator.elb.health import (
    CheckResult,
    HealthCheckConfig,
    HealthRegistry,
    Matcher,
    TargetGroupHealth,
    TargetKey,
)

T1 = TargetKey("127.0.0.11", 8001)
T2 = TargetKey("127.0.0.12", 8001)
CONFIG = HealthCheckConfig(
    path="/health",
    interval=5,
    timeout=2,
    healthy_threshold=3,
    unhealthy_threshold=2,
    matcher="200-299",
)


def group(*targets: TargetKey, clock: ManualClock | None = None, **kw) -> TargetGroupHealth:
    g = TargetGroupHealth("tg", clock or ManualClock())
    g.update(CONFIG, targets, **kw)
    return g


def run(g: TargetGroupHealth, result: CheckResult, target: TargetKey = T1) -> int:
    """Start the due checks and answer the one for ``target``; returns how many were due."""
    checks = g.due()
    for check in checks:
        g.record(check, result if check.target == target else CheckResult.code(200))
    return len(checks)


def state(g: TargetGroupHealth, key: TargetKey = T1) -> tuple:
    h = g.health(key)
    return (h.state, h.reason, h.description)


@pytest.mark.parametrize(
    ("spec", "yes", "no"),
    [
        ("200", [200], [201, 404]),
        ("200,202", [200, 202], [201]),
        ("200-299", [200, 250, 299], [199, 300]),
        ("200-204,302", [203, 302], [301, 205]),
    ],
)
def test_matcher(spec, yes, no):
    m = Matcher(spec)
    assert all(c in m for c in yes) and not any(c in m for c in no)


def test_new_target_is_initial_then_healthy_after_one_passing_check():
    g = group(T1)
    assert state(g) == (
        "initial",
        "Elb.RegistrationInProgress",
        "Target registration is in progress",
    )
    checks = g.due()
    assert [(c.target, c.port, c.path, c.timeout) for c in checks] == [(T1, 8001, "/health", 2)]
    assert state(g)[1] == "Elb.InitialHealthChecking"
    g.record(checks[0], CheckResult.code(204))
    assert state(g) == ("healthy", None, None)


def test_checks_are_due_once_per_interval():
    clock = ManualClock()
    g = group(T1, clock=clock)
    assert run(g, CheckResult.code(200)) == 1
    assert g.due() == []
    clock.advance(4.9)
    assert g.due() == []
    clock.advance(0.1)
    assert len(g.due()) == 1
    assert g.next_due() is None or g.next_due() >= clock.now()


def test_no_second_check_while_one_is_in_progress():
    clock = ManualClock()
    g = group(T1, clock=clock)
    first = g.due()
    clock.advance(10)
    assert g.due() == []
    g.record(first[0], CheckResult.code(200))
    assert len(g.due()) == 1


def test_unhealthy_after_threshold_failures_then_healthy_after_threshold_successes():
    clock = ManualClock()
    g = group(T1, clock=clock)
    run(g, CheckResult.code(200))
    clock.advance(5)
    run(g, CheckResult.code(503))
    assert state(g)[0] == "healthy"  # one failure is not enough
    clock.advance(5)
    run(g, CheckResult.code(503))
    assert state(g) == (
        "unhealthy",
        "Target.ResponseCodeMismatch",
        "Health checks failed with these codes: [503]",
    )
    for _ in range(2):
        clock.advance(5)
        run(g, CheckResult.code(200))
        assert state(g)[0] == "unhealthy"
    clock.advance(5)
    run(g, CheckResult.code(200))
    assert state(g) == ("healthy", None, None)


def test_failures_must_be_consecutive():
    clock = ManualClock()
    g = group(T1, clock=clock)
    for result in (200, 500, 200, 500, 200):
        run(g, CheckResult.code(result))
        clock.advance(5)
    assert state(g)[0] == "healthy"


def test_timeout_and_connection_failure_reasons():
    clock = ManualClock()
    g = group(T1, clock=clock)
    run(g, CheckResult.timed_out())
    clock.advance(5)
    run(g, CheckResult.timed_out())
    assert state(g) == ("unhealthy", "Target.Timeout", "Request timed out")
    clock.advance(5)
    run(g, CheckResult.failed())
    assert state(g) == ("unhealthy", "Target.FailedHealthChecks", "Health checks failed")


def test_new_target_failing_becomes_unhealthy_after_threshold():
    clock = ManualClock()
    g = group(T1, clock=clock)
    run(g, CheckResult.code(404))
    assert state(g)[0] == "initial"
    clock.advance(5)
    run(g, CheckResult.code(404))
    assert state(g)[:2] == ("unhealthy", "Target.ResponseCodeMismatch")


def test_traffic_port_and_explicit_health_port():
    g = TargetGroupHealth("tg", ManualClock())
    g.update(HealthCheckConfig(port="9999", interval=5, timeout=2), [T1])
    assert g.due()[0].port == 9999


def test_deregistered_target_drains_for_the_delay_then_leaves():
    clock = ManualClock()
    g = group(T1, T2, clock=clock, deregistration_delay=30)
    run(g, CheckResult.code(200))
    g.update(CONFIG, [T2], deregistration_delay=30)
    assert state(g) == (
        "draining",
        "Target.DeregistrationInProgress",
        "Target deregistration is in progress",
    )
    assert g.routing() == ((T2,), (T2,))  # no new requests to the draining target
    clock.advance(29.9)
    assert state(g)[0] == "draining"
    assert [c.target for c in g.due()] == [T2]  # draining targets are not checked
    clock.advance(0.1)
    assert state(g) == (
        "unused",
        "Target.NotRegistered",
        "Target is not registered to the target group",
    )
    assert [k for k, _ in g.descriptions()] == [T2]


def test_zero_delay_leaves_at_once():
    g = group(T1, deregistration_delay=0)
    g.update(CONFIG, [], deregistration_delay=0)
    assert g.descriptions() == []


def test_reregistering_a_draining_target_starts_over_and_ignores_stale_results():
    clock = ManualClock()
    g = group(T1, clock=clock, deregistration_delay=300)
    stale = g.due()
    g.update(CONFIG, [], deregistration_delay=300)
    g.update(CONFIG, [T1], deregistration_delay=300)
    assert state(g)[:2] == ("initial", "Elb.RegistrationInProgress")
    g.record(stale[0], CheckResult.code(200))
    assert state(g)[0] == "initial"
    run(g, CheckResult.code(200))
    assert state(g)[0] == "healthy"


def test_group_in_no_listener_is_unused_and_unchecked():
    clock = ManualClock()
    g = group(T1, clock=clock, in_use=False)
    assert state(g) == (
        "unused",
        "Target.NotInUse",
        "Target group is not configured to receive traffic from the load balancer",
    )
    assert g.due() == []
    g.update(CONFIG, [T1], in_use=True)
    assert state(g)[:2] == ("initial", "Elb.RegistrationInProgress")
    run(g, CheckResult.code(200))
    assert state(g)[0] == "healthy"
    g.update(CONFIG, [T1], in_use=False)
    assert state(g)[:2] == ("unused", "Target.NotInUse")


def test_invalid_instance_is_unused_invalid_state():
    g = group(T1, invalid={T1})
    assert state(g)[:2] == ("unused", "Target.InvalidState")
    assert g.routing() == ((), ())


def test_routing_lists_healthy_and_registered():
    clock = ManualClock()
    g = group(T1, T2, clock=clock)
    assert g.routing() == ((), (T1, T2))  # initial targets: fail open over them
    run(g, CheckResult.code(200))
    assert g.routing() == ((T1, T2), (T1, T2))
    clock.advance(5)
    run(g, CheckResult.code(500))
    clock.advance(5)
    run(g, CheckResult.code(500))
    assert g.routing() == ((T2,), (T1, T2))


def test_registry_spans_groups():
    clock = ManualClock()
    reg = HealthRegistry(clock)
    reg.group("a").update(CONFIG, [T1])
    reg.group("b").update(CONFIG, [T2])
    checks = reg.due()
    assert {c.group_arn for c in checks} == {"a", "b"}
    for c in checks:
        reg.record(c, CheckResult.code(200))
    assert reg.group("a").health(T1).state == "healthy"
    assert reg.next_due() == clock.now() + 5
    reg.drop("a")
    assert "a" not in reg.groups


def test_shorter_interval_applies_to_pending_check():
    clock = ManualClock()
    g = TargetGroupHealth("tg", clock)
    slow = HealthCheckConfig(interval=300, timeout=5)
    g.update(slow, [T1])
    run(g, CheckResult.code(200))
    g.update(HealthCheckConfig(interval=10, timeout=5), [T1])
    clock.advance(10)
    assert len(g.due()) == 1
