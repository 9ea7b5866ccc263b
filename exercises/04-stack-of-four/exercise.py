"""Exercise 4 (section 15.1.1): the chapter's CloudFormation stack, scaled from 2 instances
to 4, all of them healthy and all of them answering through the stack's load balancer.

The stack's listener is on port 80, like lab-web's, and the lab serves listener port 80 of
every load balancer on the same local port: only one of them can have it. While this
exercise runs, lab-web's listener moves to port 81, so the stack's load balancer answers on
the usual local port; ``undo`` deletes the stack and puts lab-web back on 80."""

from __future__ import annotations

import contextlib
import os
import re
from typing import Any

from lab.exercises import Grader, Stop
from lab.exercises.context import Lab
from lab.stack import chapter

TITLE = "The chapter's CloudFormation stack, scaled to 4 instances"
SECTION = "15.1.1"
RUNS_ON = ("lab",)  # the stack's listener is reached through the lab's local port mapping
STACK = os.environ.get("LAB_STACK_NAME", chapter.DEFAULT_NAME)  # as lab stack names it
SIZE, WANTED = 2, 4  # the template's NumberOfVirtualMachines, and what the student makes it
LAB_WEB, ASIDE = "lab-web", 81  # lab-web's listener port while the stack's has 80
DEPLOY_WITHIN = 600.0  # seconds
HEALTHY_WITHIN = 90.0  # seconds: three passing checks at the chapter's 10-second interval
REQUESTS = 12  # through the stack's load balancer: three per instance, round robin
UNUSABLE = ("CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED")  # no update
PRIVATE_IP = re.compile(r'id="private-ip">([0-9.]+)<')

NOTEBOOK_CELLS = (
    (
        "markdown",
        "## The stack and its auto-scaling group\n"
        "Read the stack's outputs, then its group: how many instances it wants and has.",
    ),
    (
        "code",
        """from lab import aws
from lab.config import LabConfig

config = LabConfig.from_env()
cfn = aws.client("cloudformation", config)
autoscaling = aws.client("autoscaling", config)
[stack] = cfn.describe_stacks(StackName="loadbalancer")["Stacks"]
outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
[group] = autoscaling.describe_auto_scaling_groups(
    AutoScalingGroupNames=[outputs["AutoScalingGroupName"]]
)["AutoScalingGroups"]
stack["StackStatus"], stack["Parameters"], group["DesiredCapacity"], len(group["Instances"])""",
    ),
    (
        "code",
        """# TODO: 4 instances. Either update the stack's parameter ...
# cfn.update_stack(
#     StackName="loadbalancer", UsePreviousTemplate=True,
#     Parameters=[{"ParameterKey": "NumberOfVirtualMachines", "ParameterValue": "4"}, ...],
# )
# ... or set the group's desired capacity:
# autoscaling.set_desired_capacity(AutoScalingGroupName=..., DesiredCapacity=...)""",
    ),
)


# -- lab-web's listener, moved aside while the stack's load balancer holds port 80 ----------


def _move_lab_web(lab: Lab, old: int, new: int) -> bool:
    """Move lab-web's listener from port ``old`` to ``new``; whether there was one to move.
    Where lab-web has a listener on ``new`` already (``lab up`` makes one on 80 when it finds
    none there), the one on ``old`` is deleted instead: a load balancer has one per port."""
    elb = lab.client("elbv2")
    arn = lab.load_balancer(LAB_WEB)["LoadBalancerArn"]
    listeners = {
        item.get("Port"): item["ListenerArn"]
        for item in elb.describe_listeners(LoadBalancerArn=arn)["Listeners"]
    }
    if old not in listeners:
        return False
    if new in listeners:
        elb.delete_listener(ListenerArn=listeners[old])
    else:
        elb.modify_listener(ListenerArn=listeners[old], Port=new)
    return True


# -- the stack ------------------------------------------------------------------------------


def _parameters(lab: Lab, instances: int | None = None) -> list[dict[str, str]]:
    """As ``lab stack deploy`` gives them: the lab's health-check interval and instance port."""
    return chapter.parameters(
        instances, lab.config.health_check_interval, web_server_port=lab.config.instance_port
    )


def _stack(lab: Lab) -> dict[str, Any] | None:
    cfn = lab.client("cloudformation")
    found = chapter.find(cfn, STACK)
    if found is not None and found["StackStatus"].endswith("_IN_PROGRESS"):
        lab.say(f"stack {STACK} is {found['StackStatus']}: waiting for it")
        found = chapter.wait(cfn, found["StackId"], DEPLOY_WITHIN)
    return found


def _health(lab: Lab, stack: dict[str, Any]) -> dict[str, str]:
    arn = chapter.outputs(stack)[chapter.TARGET_GROUP_OUTPUT]
    described = lab.client("elbv2").describe_target_health(TargetGroupArn=arn)
    return {
        t["Target"]["Id"]: t["TargetHealth"]["State"] for t in described["TargetHealthDescriptions"]
    }


def _url(lab: Lab, stack: dict[str, Any]) -> str | None:
    """Where the lab serves the stack's load balancer (``GET /_lab/elb``, as ``lab stack
    status`` asks), or None while its listener is not served."""
    return chapter.local_url(lab.config.endpoint, chapter.outputs(stack).get("DNSName"))


def start(lab: Lab) -> None:
    """The chapter's stack at its default size (deployed if missing), lab-web's listener out
    of its way, its instances healthy."""
    with contextlib.suppress(Stop):
        if _move_lab_web(lab, 80, ASIDE):
            lab.say(
                f"moved lab-web's listener from port 80 to {ASIDE} (now at "
                f"{lab.listener_url(port=ASIDE)}): the stack's load balancer needs port 80"
            )
    cfn, autoscaling = lab.client("cloudformation"), lab.client("autoscaling")
    try:
        found = _stack(lab)
        if found is not None and found["StackStatus"] in UNUSABLE:
            lab.say(f"stack {STACK} is {found['StackStatus']}: deleting it to deploy it again")
            chapter.delete(cfn, STACK, DEPLOY_WITHIN)
            found = None
        if found is None:
            lab.say(
                f"deploying the chapter's stack {STACK} from lab/templates/loadbalancer.yaml "
                f"with {SIZE} instances (it takes a few seconds)"
            )
        action, stack = chapter.deploy(cfn, STACK, _parameters(lab, SIZE), DEPLOY_WITHIN)
        if action != "created":
            lab.say(f"stack {STACK} {action}: NumberOfVirtualMachines {SIZE}")
        group = chapter.group_of(autoscaling, stack)
        if int(group["DesiredCapacity"]) != SIZE:
            chapter.scale(autoscaling, stack, SIZE)
            lab.say(f"{group['AutoScalingGroupName']}: desired capacity back to {SIZE}")
        lab.say(f"waiting until its {SIZE} instances pass their health checks")
        chapter.wait_healthy(lab.client("elbv2"), autoscaling, stack, HEALTHY_WITHIN)
    except chapter.StackError as exc:
        raise Stop(str(exc)) from None
    url, _ = lab.wait(lambda: _url(lab, stack), timeout=15)
    lab.say(f"stack {STACK}: {SIZE} instances, all healthy; its load balancer: {url or '-'}")
    lab.say(f"scale it to {WANTED} instances (lab stack status shows them)")


def undo(lab: Lab) -> None:
    try:
        outcome = chapter.delete(lab.client("cloudformation"), STACK, DEPLOY_WITHIN)
    except chapter.StackError as exc:
        raise Stop(str(exc)) from None
    if outcome is not None:
        lab.say(f"deleted the stack {STACK}")
    with contextlib.suppress(Stop):
        if _move_lab_web(lab, ASIDE, 80):
            lab.say(f"lab-web's listener is back on port 80 ({lab.listener_url()})")


# -- the checks -----------------------------------------------------------------------------

# (title, points) of the checks after the stack's own
GROUP = (
    (f"its auto-scaling group wants {WANTED} instances", 1),
    (f"{WANTED} instances are in service", 1),
    (f"{WANTED} targets are healthy", 1),
    (f"requests reach {WANTED} different private IPs", 2),
)


def _not_tried(grade: Grader, checks: tuple[tuple[str, int], ...], first: str) -> None:
    for title, points in checks:
        grade.that(title, False, f"not tried: first {first}", points=points)


def check(lab: Lab, grade: Grader) -> None:
    try:
        _check(lab, grade)
    except chapter.StackError as exc:  # a stack that does not settle, an output missing
        raise Stop(str(exc)) from None


def _check(lab: Lab, grade: Grader) -> None:
    stack = _stack(lab)
    status = stack["StackStatus"] if stack else "missing"
    complete = status in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    grade.that(
        f"the stack {STACK} is complete",
        complete,
        f"the stack {STACK} is {status}"
        + (f" ({stack['StackStatusReason']})" if stack and stack.get("StackStatusReason") else ""),
        hint="lab exercise start 4 deploys it; aws cloudformation describe-stack-events "
        f"--stack-name {STACK} says why an update failed",
        expected="CREATE_COMPLETE or UPDATE_COMPLETE",
        actual=status,
    )
    if stack is None or not complete:
        _not_tried(grade, GROUP, f"the stack {STACK}, complete")
        return
    group = chapter.group_of(lab.client("autoscaling"), stack)
    desired, low, high = (int(group[k]) for k in ("DesiredCapacity", "MinSize", "MaxSize"))
    grade.that(
        GROUP[0][0],
        desired == WANTED,
        f"{group['AutoScalingGroupName']} wants {desired} instances ({low} to {high})",
        hint="aws cloudformation update-stack --stack-name loadbalancer --use-previous-template "
        "--parameters ParameterKey=NumberOfVirtualMachines,ParameterValue=4 ... (or aws "
        "autoscaling set-desired-capacity, or lab stack scale 4)",
        expected=WANTED,
        actual=desired,
        points=GROUP[0][1],
    )
    in_service = sorted(
        i["InstanceId"]
        for i in group.get("Instances", [])
        if i.get("LifecycleState") == "InService"
    )
    grade.that(
        GROUP[1][0],
        len(in_service) == WANTED,
        f"{len(in_service)} of the group's {len(group.get('Instances', []))} instances are "
        "InService",
        hint="the group starts as many instances as it wants, within its MinSize and MaxSize",
        expected=WANTED,
        actual=len(in_service),
        points=GROUP[1][1],
    )
    health = _health(lab, stack)
    if "initial" in health.values() or len(health) < len(in_service):
        lab.say("waiting for the first health checks of the new instances...")
        lab.wait(
            lambda: (
                "initial" not in _health(lab, stack).values()
                and len(_health(lab, stack)) >= len(in_service)
            ),
            HEALTHY_WITHIN,
        )
        health = _health(lab, stack)
    healthy = sorted(t for t, state in health.items() if state == "healthy")
    others = ", ".join(f"{t} {s}" for t, s in sorted(health.items()) if s != "healthy")
    grade.that(
        GROUP[2][0],
        len(healthy) == WANTED,
        f"{len(healthy)} of the target group's {len(health)} targets are healthy"
        + (f" ({others})" if others else ""),
        hint="lab stack status shows each instance's target health and why",
        expected=WANTED,
        actual=len(healthy),
        points=GROUP[2][1],
    )
    _probe(lab, grade, stack, in_service)


def _probe(lab: Lab, grade: Grader, stack: dict[str, Any], in_service: list[str]) -> None:
    title, points = GROUP[3]
    url = _url(lab, stack)
    if url is None:
        grade.that(
            title,
            False,
            "the lab does not serve the stack's load balancer: another one holds its port 80",
            hint="lab exercise start 4 moves lab-web's listener out of the way; lab stack "
            "status shows where the stack's load balancer is served",
            points=points,
        )
        return
    reservations = lab.client("ec2").describe_instances(InstanceIds=in_service)["Reservations"]
    ips = {i.get("PrivateIpAddress") for r in reservations for i in r["Instances"]} - {None}
    seen: list[str] = []
    try:
        for _ in range(REQUESTS):
            answer, page = lab.get(url)
            found = PRIVATE_IP.search(page)
            seen.append(found[1] if found else f"HTTP {answer} without an IP")
    except Stop as exc:
        grade.that(title, False, str(exc), points=points)
        return
    distinct = sorted(set(seen))
    strangers = [ip for ip in distinct if ip not in ips]
    grade.that(
        title,
        len(set(seen) & ips) >= WANTED and not strangers,
        f"{REQUESTS} requests to {url} showed {len(distinct)} private IP(s): "
        + ", ".join(distinct),
        hint="only healthy targets get requests: every instance must be in service and healthy",
        expected=f"{WANTED} of the group's instances",
        actual=f"{', '.join(strangers)} not in the group" if strangers else len(distinct),
        points=points,
    )
