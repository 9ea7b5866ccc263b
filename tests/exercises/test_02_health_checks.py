"""Exercise 2: the checker fails the slow starting checks without trying them, fails settings
that still take too long, and passes settings that take a failed server out within 15 s;
it fails and heals a web server itself, and leaves it healed."""

from __future__ import annotations

import pytest

from lab import aws
from lab.config import LabConfig
from tests.exercises.conftest import check, failed, start

pytestmark = pytest.mark.slow  # the checker fails a server and waits for health checks


def modify(config: LabConfig, interval: int, unhealthy: int) -> None:
    elb = aws.client("elbv2", config)
    [group] = elb.describe_target_groups(Names=["lab-web"])["TargetGroups"]
    elb.modify_target_group(
        TargetGroupArn=group["TargetGroupArn"],
        HealthCheckIntervalSeconds=interval,
        HealthCheckTimeoutSeconds=min(5, interval - 1),
        UnhealthyThresholdCount=unhealthy,
        HealthyThresholdCount=2,
    )


def states(config: LabConfig) -> set[str]:
    elb = aws.client("elbv2", config)
    [group] = elb.describe_target_groups(Names=["lab-web"])["TargetGroups"]
    found = elb.describe_target_health(TargetGroupArn=group["TargetGroupArn"])
    return {t["TargetHealth"]["State"] for t in found["TargetHealthDescriptions"]}


def test_health_checks(lab_env: dict[str, str], config: LabConfig) -> None:
    assert "a health check every 30 s" in start(lab_env, 2)
    status, shown, report = check(lab_env, 2)
    assert status == 1 and "up to 150 s" in shown and "not tried" in shown
    assert report["max_points"] == 6 and report["points"] == 1  # only "all healthy" holds

    modify(config, interval=10, unhealthy=3)  # wrong: faster, but 30 s
    status, shown, report = check(lab_env, 2)
    assert status == 1 and "expected at most 15 s, saw 30 s" in shown

    modify(config, interval=5, unhealthy=2)  # right: 10 s
    status, shown, report = check(lab_env, 2)
    assert status == 0, shown
    assert failed(report) == [] and report["points"] == 6
    assert "turned unhealthy" in shown and "healthy again" in shown
    assert states(config) == {"healthy"}  # the checker healed what it failed
