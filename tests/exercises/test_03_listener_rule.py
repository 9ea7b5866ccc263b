"""Exercise 3: the checker fails the starting state, a rule that forwards to the first group,
a pattern without the wildcard and a rule that takes every path; it passes /images/* to a
group of the two image servers."""

from __future__ import annotations

from typing import Any

from lab import aws
from lab.config import LabConfig
from tests.exercises.conftest import check, failed, start
from tests.support.waiting import wait_until


def rule(config: LabConfig, pattern: str, own_group: bool = True) -> None:
    """What a student types with the AWS CLI, through boto3: a target group of the two image
    servers (once), and the listener's one rule, replaced."""
    elb = aws.client("elbv2", config)
    [first] = elb.describe_target_groups(Names=["lab-web"])["TargetGroups"]
    target = first["TargetGroupArn"]
    if own_group:
        found = [g for g in elb.describe_target_groups()["TargetGroups"]
                 if g["TargetGroupName"] == "lab-images"]  # fmt: skip
        group: dict[str, Any] = found[0] if found else elb.create_target_group(
            Name="lab-images", Protocol="HTTP", Port=config.web_port, VpcId=first["VpcId"],
            HealthCheckPath="/index.html", HealthCheckIntervalSeconds=5,
            HealthCheckTimeoutSeconds=4, HealthyThresholdCount=2,
        )["TargetGroups"][0]  # fmt: skip
        target = group["TargetGroupArn"]
        elb.register_targets(
            TargetGroupArn=target, Targets=[{"Id": "127.0.0.21"}, {"Id": "127.0.0.22"}]
        )
    [balancer] = elb.describe_load_balancers(Names=["lab-web"])["LoadBalancers"]
    [listener] = elb.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    for old in elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]:
        if not old["IsDefault"]:
            elb.delete_rule(RuleArn=old["RuleArn"])
    elb.create_rule(
        ListenerArn=listener["ListenerArn"],
        Priority=10,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": [pattern]}}],
        Actions=[{"Type": "forward", "TargetGroupArn": target}],
    )
    # a group's targets are "unused" until a rule sends it traffic, then "initial", then healthy
    wait_until(lambda: {t["TargetHealth"]["State"] for t in elb.describe_target_health(
        TargetGroupArn=target)["TargetHealthDescriptions"]} == {"healthy"}, 40)  # fmt: skip


def test_listener_rule(lab_env: dict[str, str], config: LabConfig) -> None:
    assert "127.0.0.21" in start(lab_env, 3)
    status, shown, report = check(lab_env, 3)
    assert status == 1 and "0 rule(s) besides the default" in shown
    assert report["max_points"] == 7 and report["points"] == 0

    rule(config, "/images/*", own_group=False)  # wrong: back to the first group
    status, shown, report = check(lab_env, 3)
    assert status == 1 and "it forwards to a second target group" in failed(report)

    rule(config, "/images")  # wrong: no wildcard, /images/cat.png goes elsewhere
    status, shown, report = check(lab_env, 3)
    assert failed(report)[0] == "a rule on port 80 matches /images/cat.png", shown
    assert "(paths: /images)" in shown

    rule(config, "/*")  # wrong: every path goes to the image servers
    status, shown, report = check(lab_env, 3)
    assert failed(report) == ["every other path reaches the first"], shown

    rule(config, "/images/*")  # right
    status, shown, report = check(lab_env, 3)
    assert status == 0 and report["points"] == 7, shown
