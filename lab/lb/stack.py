"""The lab's load balancer, made through the EC2 and ELBv2 APIs as one would on AWS.

``ensure_stack`` creates what section 15.1's template creates (a VPC, two subnets in two
availability zones, a security group, an ALB, a target group with the chapter's health check,
a listener on port 80) or finds and reuses it, then registers the web servers as ``ip``
targets. It only calls the AWS APIs, so the same code runs against the emulator and AWS; the
emulator is told apart only to learn the listener's local URL (``GET /_lab/elb``).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

NAME = "lab-web"  # load balancer, target group, and the Name tag of the VPC and its parts


@dataclass(frozen=True)
class HealthCheck:
    """The chapter's target-group health check (interval shortened by tests)."""

    path: str = "/index.html"
    interval: int = 10
    timeout: int = 5
    healthy: int = 3
    unhealthy: int = 2
    matcher: str = "200-299"

    def api_args(self) -> dict[str, Any]:
        return {
            "HealthCheckProtocol": "HTTP",
            "HealthCheckPort": "traffic-port",
            "HealthCheckPath": self.path,
            "HealthCheckIntervalSeconds": self.interval,
            "HealthCheckTimeoutSeconds": self.timeout,
            "HealthyThresholdCount": self.healthy,
            "UnhealthyThresholdCount": self.unhealthy,
            "Matcher": {"HttpCode": self.matcher},
        }


def chapter_health_check(interval: int = 10) -> HealthCheck:
    """The chapter's check at another interval. ELBv2 wants the timeout below the interval, so
    at the API's minimum interval of 5 s the timeout becomes 4 s."""
    return HealthCheck(interval=interval, timeout=min(5, interval - 1))


@dataclass(frozen=True)
class StackSpec:
    targets: tuple[str, ...]
    target_port: int
    name: str = NAME
    listener_port: int = 80
    health: HealthCheck = HealthCheck()
    vpc_cidr: str = "10.0.0.0/16"
    subnet_cidrs: tuple[str, str] = ("10.0.1.0/24", "10.0.2.0/24")


@dataclass(frozen=True)
class Stack:
    load_balancer_arn: str
    dns_name: str
    target_group_arn: str
    listener_arn: str
    listener_port: int
    created: tuple[str, ...]  # what this call created (empty when everything was reused)


def _tagged(name: str) -> list[dict[str, Any]]:
    return [{"Key": "Name", "Value": name}]


def _by_name(items: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    for item in items:
        if {"Key": "Name", "Value": name} in item.get("Tags", []):
            return item
    return None


def _ensure_vpc(ec2: Any, spec: StackSpec, created: list[str]) -> tuple[str, list[str], str]:
    name_filter = [{"Name": "tag:Name", "Values": [spec.name]}]
    vpcs = ec2.describe_vpcs(Filters=name_filter)["Vpcs"]
    if vpcs:
        vpc_id = vpcs[0]["VpcId"]
    else:
        vpc_id = ec2.create_vpc(
            CidrBlock=spec.vpc_cidr,
            TagSpecifications=[{"ResourceType": "vpc", "Tags": _tagged(spec.name)}],
        )["Vpc"]["VpcId"]
        created.append(f"VPC {vpc_id}")
    zones = [
        z["ZoneName"]
        for z in ec2.describe_availability_zones()["AvailabilityZones"]
        if z.get("State", "available") == "available"
    ][:2]
    existing = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    subnets = []
    for index, (cidr, zone) in enumerate(zip(spec.subnet_cidrs, zones, strict=False)):
        name = f"{spec.name}-{'ab'[index]}"
        found = _by_name(existing, name)
        if found is None:
            found = ec2.create_subnet(
                VpcId=vpc_id,
                CidrBlock=cidr,
                AvailabilityZone=zone,
                TagSpecifications=[{"ResourceType": "subnet", "Tags": _tagged(name)}],
            )["Subnet"]
            created.append(f"subnet {found['SubnetId']} ({zone})")
        subnets.append(found["SubnetId"])
    groups = ec2.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "group-name", "Values": [spec.name]},
        ]
    )["SecurityGroups"]
    if groups:
        group_id = groups[0]["GroupId"]
    else:
        group_id = ec2.create_security_group(
            GroupName=spec.name, Description="lab load balancer: HTTP from anywhere", VpcId=vpc_id
        )["GroupId"]
        ec2.authorize_security_group_ingress(
            GroupId=group_id,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": spec.listener_port,
                    "ToPort": spec.listener_port,
                    "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                }
            ],
        )
        created.append(f"security group {group_id}")
    return vpc_id, subnets, group_id


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def ensure_stack(ec2: Any, elbv2: Any, spec: StackSpec) -> Stack:
    """Create or reuse the stack, make the target group's health check and registrations match
    ``spec`` (targets not in it are deregistered), and return what a caller needs."""
    created: list[str] = []
    vpc_id, subnets, group_id = _ensure_vpc(ec2, spec, created)
    try:
        lb = elbv2.describe_load_balancers(Names=[spec.name])["LoadBalancers"][0]
    except ClientError as exc:
        if _code(exc) != "LoadBalancerNotFound":
            raise
        lb = elbv2.create_load_balancer(
            Name=spec.name,
            Subnets=subnets,
            SecurityGroups=[group_id],
            Scheme="internet-facing",
            Type="application",
            IpAddressType="ipv4",
            Tags=_tagged(spec.name),
        )["LoadBalancers"][0]
        created.append(f"load balancer {spec.name}")
    try:
        tg = elbv2.describe_target_groups(Names=[spec.name])["TargetGroups"][0]
        if any(tg.get(k) != v for k, v in spec.health.api_args().items()):
            elbv2.modify_target_group(TargetGroupArn=tg["TargetGroupArn"], **spec.health.api_args())
    except ClientError as exc:
        if _code(exc) != "TargetGroupNotFound":
            raise
        tg = elbv2.create_target_group(
            Name=spec.name,
            Protocol="HTTP",
            Port=spec.target_port,
            VpcId=vpc_id,
            TargetType="ip",
            Tags=_tagged(spec.name),
            **spec.health.api_args(),
        )["TargetGroups"][0]
        created.append(f"target group {spec.name}")
    tg_arn = tg["TargetGroupArn"]
    forward = [{"Type": "forward", "TargetGroupArn": tg_arn}]
    listeners = elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    listener = next((item for item in listeners if item["Port"] == spec.listener_port), None)
    if listener is None:
        listener = elbv2.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"],
            Protocol="HTTP",
            Port=spec.listener_port,
            DefaultActions=forward,
        )["Listeners"][0]
        created.append(f"listener on port {spec.listener_port}")
    elif [a.get("TargetGroupArn") for a in listener.get("DefaultActions", [])] != [tg_arn]:
        elbv2.modify_listener(ListenerArn=listener["ListenerArn"], DefaultActions=forward)
    wanted = {(ip, spec.target_port) for ip in spec.targets}
    registered = {
        (d["Target"]["Id"], d["Target"].get("Port", spec.target_port))
        for d in elbv2.describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]
        if d.get("TargetHealth", {}).get("State") != "draining"
    }
    if wanted - registered:
        elbv2.register_targets(
            TargetGroupArn=tg_arn,
            Targets=[{"Id": ip, "Port": port} for ip, port in sorted(wanted - registered)],
        )
        created.append(f"{len(wanted - registered)} target registration(s)")
    if registered - wanted:
        elbv2.deregister_targets(
            TargetGroupArn=tg_arn,
            Targets=[{"Id": ip, "Port": port} for ip, port in sorted(registered - wanted)],
        )
    return Stack(
        lb["LoadBalancerArn"],
        lb["DNSName"],
        tg_arn,
        listener["ListenerArn"],
        spec.listener_port,
        tuple(created),
    )


def find_stack(elbv2: Any, name: str = NAME) -> Stack:
    """The stack `lab up` made, read back through the API (for `lab lb` commands)."""
    try:
        lb = elbv2.describe_load_balancers(Names=[name])["LoadBalancers"][0]
        listeners = elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    except ClientError as exc:
        if _code(exc) == "LoadBalancerNotFound":
            raise LookupError(f"no load balancer named {name}: run lab up") from None
        raise
    for listener in sorted(listeners, key=lambda item: item["Port"]):
        tg_arn = forward_target_group(listener.get("DefaultActions", []))
        if tg_arn:
            return Stack(
                lb["LoadBalancerArn"],
                lb["DNSName"],
                tg_arn,
                listener["ListenerArn"],
                listener["Port"],
                (),
            )
    raise LookupError(f"load balancer {name} has no listener forwarding to a target group")


def forward_target_group(actions: list[dict[str, Any]]) -> str | None:
    """The target group a listener's default actions forward to (the heaviest one, when
    weighted), or None for redirect and fixed-response listeners."""
    for action in sorted(actions, key=lambda a: a.get("Order", 0)):
        if action.get("Type") != "forward":
            continue
        if action.get("TargetGroupArn"):
            return str(action["TargetGroupArn"])
        groups = action.get("ForwardConfig", {}).get("TargetGroups", [])
        if groups:
            return str(max(groups, key=lambda g: g.get("Weight", 1))["TargetGroupArn"])
    return None


def served_listeners(endpoint: str, timeout: float = 2.0) -> list[dict[str, Any]] | None:
    """The listeners the emulator serves (``GET /_lab/elb``: local URL, DNS name, whether it is
    bound, the bind error if not), or None where there is no such endpoint (AWS)."""
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"{endpoint}/_lab/elb", timeout=timeout) as resp:
            described = json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return list(described.get("listeners", []))


def listener_status(endpoint: str, stack: Stack, timeout: float = 2.0) -> dict[str, Any] | None:
    """The emulator's view of the stack's listener, ``{}`` if it has none, None on AWS."""
    listeners = served_listeners(endpoint, timeout)
    if listeners is None:
        return None
    for listener in listeners:
        if listener.get("listener_arn") == stack.listener_arn:
            return dict(listener)
    return {}


def listener_url(
    endpoint: str, stack: Stack, local_port: Callable[[int], int], timeout: float = 2.0
) -> str:
    """Where a browser reaches the listener. The emulator says so at ``GET /_lab/elb``; without
    that endpoint (AWS) it is the load balancer's DNS name; the documented port mapping
    (``local_port``, ``LabConfig.local_port``) is the fallback while the emulator has not bound
    the listener yet."""
    status = listener_status(endpoint, stack, timeout)
    if status is None:
        return f"http://{stack.dns_name}:{stack.listener_port}/"
    if status.get("url"):
        return str(status["url"])
    return f"http://127.0.0.1:{local_port(stack.listener_port)}/"
