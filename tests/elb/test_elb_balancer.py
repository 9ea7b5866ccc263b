"""Target selection (pure): round robin, least outstanding requests, fail-open, 503."""

from __future__ import annotations

from collections import Counter

from emulator.elb.balancer import LEAST_OUTSTANDING, TargetGroupBalancer

A, B, C = "a", "b", "c"


def test_round_robin_cycles_over_healthy_targets():
    lb = TargetGroupBalancer()
    picks = [lb.choose([A, B, C], [A, B, C]).target for _ in range(9)]
    assert picks == [A, B, C] * 3


def test_only_healthy_targets_get_traffic():
    lb = TargetGroupBalancer()
    picks = {lb.choose([A, C], [A, B, C]).target for _ in range(10)}
    assert picks == {A, C}


def test_fail_open_when_no_target_is_healthy():
    lb = TargetGroupBalancer()
    choices = [lb.choose([], [A, B, C]) for _ in range(6)]
    assert all(c.fail_open and c.status == 200 for c in choices)
    assert Counter(c.target for c in choices) == {A: 2, B: 2, C: 2}


def test_no_registered_targets_is_503():
    choice = TargetGroupBalancer().choose([], [])
    assert choice.target is None and choice.status == 503


def test_least_outstanding_prefers_idle_targets():
    lb = TargetGroupBalancer(LEAST_OUTSTANDING)
    lb.begin(A)
    lb.begin(A)
    lb.begin(B)
    assert lb.choose([A, B, C], [A, B, C]).target == C
    lb.begin(C)
    lb.begin(C)
    assert lb.choose([A, B, C], [A, B, C]).target == B
    lb.end(A)
    lb.end(A)
    assert lb.choose([A, B, C], [A, B, C]).target == A
    assert [lb.outstanding(t) for t in (A, B, C)] == [0, 1, 2]


def test_least_outstanding_ties_rotate():
    lb = TargetGroupBalancer(LEAST_OUTSTANDING)
    picks = Counter(lb.choose([A, B, C], [A, B, C]).target for _ in range(9))
    assert picks == {A: 3, B: 3, C: 3}


def test_end_never_goes_negative():
    lb = TargetGroupBalancer()
    lb.end(A)
    assert lb.outstanding(A) == 0
