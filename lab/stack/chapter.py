"""The chapter's load-balancer stack through the AWS APIs: deploy (create or update), scale,
read back, delete. Every function takes boto3 clients, so it runs the same against the emulator
and AWS; the emulator is only told apart to learn the listener's local URL (``GET /_lab/elb``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from lab.lb.stack import served_listeners
from lab.templates import LOADBALANCER

DEFAULT_NAME = "loadbalancer"
GROUP_OUTPUT = "AutoScalingGroupName"
TARGET_GROUP_OUTPUT = "TargetGroupArn"
POLL_SECONDS = 1.0
Echo = Callable[[str], object]


class StackError(RuntimeError):
    """Something the user should read (a failed stack, a bad size); the message says what."""


def template_body() -> str:
    return LOADBALANCER.read_text()


def parameters(
    instances: int | None = None,
    health_check_interval: int | None = None,
    deregistration_delay: int | None = None,
    healthy_threshold: int | None = None,
    web_server_port: int | None = None,
) -> list[dict[str, str]]:
    """Stack parameters; the ones left None keep the template's defaults (the chapter's). A
    shorter health-check interval brings the timeout below it, as ELBv2 requires."""
    values: dict[str, int] = {}
    if instances is not None:
        values["NumberOfVirtualMachines"] = instances
    if health_check_interval is not None and health_check_interval != 10:
        values["HealthCheckIntervalSeconds"] = health_check_interval
        values["HealthCheckTimeoutSeconds"] = min(5, health_check_interval - 1)
    if deregistration_delay is not None:
        values["DeregistrationDelaySeconds"] = deregistration_delay
    if healthy_threshold is not None:
        values["HealthyThresholdCount"] = healthy_threshold
    if web_server_port is not None and web_server_port != 80:
        values["WebServerPort"] = web_server_port
    return [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in values.items()]


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", ""))


def find(cfn: Any, name: str) -> dict[str, Any] | None:
    """The stack called ``name`` (or with that id), or None when there is none."""
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if _code(exc) == "ValidationError" and "does not exist" in _message(exc):
            return None
        raise
    return stacks[0] if stacks else None


def wait(cfn: Any, stack_id: str, timeout: float, echo: Echo | None = None) -> dict[str, Any]:
    """Poll until the stack leaves its ``*_IN_PROGRESS`` state; return it."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        stack = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
        status = stack["StackStatus"]
        if status != last and echo is not None:
            echo(f"  {status}")
        last = status
        if not status.endswith("_IN_PROGRESS"):
            return stack
        if time.monotonic() > deadline:
            raise StackError(f"stack still {status} after {timeout:.0f} s")
        time.sleep(POLL_SECONDS)


def failure_reasons(cfn: Any, stack_id: str, limit: int = 5) -> list[str]:
    events = cfn.describe_stack_events(StackName=stack_id).get("StackEvents", [])
    reasons = []
    for event in events:
        if event.get("ResourceStatus", "").endswith("FAILED") and event.get("ResourceStatusReason"):
            reasons.append(f"{event['LogicalResourceId']}: {event['ResourceStatusReason']}")
    return reasons[:limit]


def deploy(
    cfn: Any,
    name: str,
    params: list[dict[str, str]],
    timeout: float = 1800,
    echo: Echo | None = None,
) -> tuple[str, dict[str, Any]]:
    """Create the stack, or update it with new parameters. Returns (what was done, stack)."""
    existing = find(cfn, name)
    if existing is None:
        stack_id = cfn.create_stack(
            StackName=name,
            TemplateBody=template_body(),
            Parameters=params,
            Tags=[{"Key": "lab", "Value": "chapter-15"}],
        )["StackId"]
        action = "created"
    else:
        stack_id = existing["StackId"]
        if existing["StackStatus"].endswith("_IN_PROGRESS"):
            existing = wait(cfn, stack_id, timeout, echo)
        # Parameters not given keep their current values.
        given = {p["ParameterKey"] for p in params}
        kept = [
            {"ParameterKey": p["ParameterKey"], "UsePreviousValue": True}
            for p in existing.get("Parameters", [])
            if p["ParameterKey"] not in given
        ]
        try:
            cfn.update_stack(
                StackName=stack_id, TemplateBody=template_body(), Parameters=params + kept
            )
        except ClientError as exc:
            if "No updates are to be performed" in _message(exc):
                return "unchanged", existing
            raise
        action = "updated"
    stack = wait(cfn, stack_id, timeout, echo)
    if stack["StackStatus"] not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        reasons = "; ".join(failure_reasons(cfn, stack_id)) or stack.get("StackStatusReason", "")
        raise StackError(f"stack {name} is {stack['StackStatus']}: {reasons}")
    return action, stack


def outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}


def group_of(autoscaling: Any, stack: dict[str, Any]) -> dict[str, Any]:
    name = outputs(stack).get(GROUP_OUTPUT)
    if not name:
        raise StackError(f"stack {stack['StackName']} has no {GROUP_OUTPUT} output")
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])
    if not groups["AutoScalingGroups"]:
        raise StackError(f"auto-scaling group {name} not found")
    return dict(groups["AutoScalingGroups"][0])


def scale(autoscaling: Any, stack: dict[str, Any], desired: int) -> dict[str, Any]:
    """Set the group's desired capacity (within its MinSize..MaxSize, checked here because the
    emulator does not); returns the group as it was before."""
    group = group_of(autoscaling, stack)
    low, high = int(group["MinSize"]), int(group["MaxSize"])
    if not low <= desired <= high:
        raise StackError(f"the group holds {low} to {high} instances; {desired} is outside")
    autoscaling.set_desired_capacity(
        AutoScalingGroupName=group["AutoScalingGroupName"],
        DesiredCapacity=desired,
        HonorCooldown=False,
    )
    return group


def delete(cfn: Any, name: str, timeout: float = 1800, echo: Echo | None = None) -> str | None:
    """Delete the stack and wait; the final status, or None when there was no stack."""
    existing = find(cfn, name)
    if existing is None:
        return None
    stack_id = existing["StackId"]
    cfn.delete_stack(StackName=stack_id)
    deadline = time.monotonic() + timeout
    while True:
        stack = find(cfn, stack_id)  # by id: a deleted stack still reads DELETE_COMPLETE
        status = stack["StackStatus"] if stack else "DELETE_COMPLETE"
        if not status.endswith("_IN_PROGRESS"):
            if status != "DELETE_COMPLETE":
                reason = "; ".join(failure_reasons(cfn, stack_id)) or ""
                raise StackError(f"stack {name} is {status}: {reason}")
            return status
        if time.monotonic() > deadline:
            raise StackError(f"stack {name} still {status} after {timeout:.0f} s")
        if echo is not None:
            echo(f"  {status}")
        time.sleep(POLL_SECONDS)


@dataclass
class InstanceRow:
    instance_id: str
    state: str
    private_ip: str | None
    zone: str | None
    health: str = "-"
    reason: str | None = None


@dataclass
class Status:
    name: str
    status: str
    url: str | None
    local_url: str | None
    desired: int | None = None
    min_size: int | None = None
    max_size: int | None = None
    instances: list[InstanceRow] = field(default_factory=list)


def status(
    cfn: Any,
    autoscaling: Any,
    ec2: Any,
    elbv2: Any,
    name: str,
    endpoint: str | None = None,
) -> Status | None:
    stack = find(cfn, name)
    if stack is None:
        return None
    out = outputs(stack)
    result = Status(
        name, stack["StackStatus"], out.get("URL"), local_url(endpoint, out.get("DNSName"))
    )
    if not stack["StackStatus"].endswith("_COMPLETE") or "DELETE" in stack["StackStatus"]:
        return result
    group = group_of(autoscaling, stack)
    result.desired = int(group["DesiredCapacity"])
    result.min_size, result.max_size = int(group["MinSize"]), int(group["MaxSize"])
    ids = [i["InstanceId"] for i in group.get("Instances", [])]
    health: dict[str, tuple[str, str | None]] = {}
    tg = out.get(TARGET_GROUP_OUTPUT)
    if tg:
        for d in elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]:
            state = d["TargetHealth"]
            health[d["Target"]["Id"]] = (state["State"], state.get("Reason"))
    for iid in health:  # draining instances are no longer in the group
        if iid not in ids:
            ids.append(iid)
    if ids:
        reservations = ec2.describe_instances(InstanceIds=ids)["Reservations"]
        for instance in (i for r in reservations for i in r["Instances"]):
            iid = instance["InstanceId"]
            state, reason = health.get(iid, ("-", None))
            result.instances.append(
                InstanceRow(
                    iid,
                    instance["State"]["Name"],
                    instance.get("PrivateIpAddress"),
                    instance.get("Placement", {}).get("AvailabilityZone"),
                    state,
                    reason,
                )
            )
    result.instances.sort(key=lambda row: (row.state != "running", row.instance_id))
    return result


def local_url(endpoint: str | None, dns_name: str | None, timeout: float = 2.0) -> str | None:
    """Where the emulator serves the load balancer with this DNS name (``GET /_lab/elb``), or
    None (on AWS, or before its listener is served): then the DNS name is the URL."""
    if not endpoint or not dns_name:
        return None
    for listener in served_listeners(endpoint, timeout) or []:
        if listener.get("dns_name") == dns_name and listener.get("url"):
            return str(listener["url"])
    return None


def wait_healthy(
    elbv2: Any, autoscaling: Any, stack: dict[str, Any], timeout: float, echo: Echo | None = None
) -> dict[str, str]:
    """Wait until every instance of the group is healthy in the target group (and nothing else
    is registered but draining ones); returns instance id -> state."""
    tg = outputs(stack)[TARGET_GROUP_OUTPUT]
    deadline = time.monotonic() + timeout
    last: dict[str, str] = {}
    while True:
        group = group_of(autoscaling, stack)
        members = {i["InstanceId"] for i in group.get("Instances", [])}
        states = {
            d["Target"]["Id"]: d["TargetHealth"]["State"]
            for d in elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
        }
        if states != last and echo is not None:
            echo("  " + ", ".join(f"{k} {v}" for k, v in sorted(states.items())))
        last = states
        active = {k: v for k, v in states.items() if v != "draining"}
        if (
            len(members) == int(group["DesiredCapacity"])
            and set(active) == members
            and all(v == "healthy" for v in active.values())
        ):
            return states
        if time.monotonic() > deadline:
            raise StackError(f"instances not all healthy after {timeout:.0f} s: {states}")
        time.sleep(POLL_SECONDS)
