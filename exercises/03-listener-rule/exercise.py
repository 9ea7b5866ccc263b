"""Exercise 3 (section 15.1): a listener rule sends ``/images/*`` to a second target group of
its own web servers; every other path keeps going to the first."""

from __future__ import annotations

import contextlib
import fnmatch
from collections import Counter
from typing import Any

from lab.exercises import Grader, Stop
from lab.exercises.context import Lab
from lab.web import fleet

TITLE = "A listener rule: /images/* to a target group of its own"
SECTION = "15.1"
RUNS_ON = ("lab",)
BALANCER, FIRST = "lab-web", "lab-web"
IMAGE_SERVERS = ("127.0.0.21", "127.0.0.22")  # the second group's servers, started by start
PROBES = ("/images/cat.png", "/images/2024/dog.jpg", "/", "/index.html", "/imagesX", "/img/a.png")


def _listener(lab: Lab) -> dict[str, Any]:
    arn = lab.load_balancer(BALANCER)["LoadBalancerArn"]
    listeners = lab.client("elbv2").describe_listeners(LoadBalancerArn=arn)["Listeners"]
    found = [listener for listener in listeners if listener.get("Port") == 80]
    if not found:
        raise Stop(f"the load balancer {BALANCER} has no listener on port 80: lab up makes one")
    return found[0]


NOTEBOOK_CELLS = (
    ("markdown", "## The listener and its rules"),
    (
        "code",
        """from lab import aws
from lab.config import LabConfig

elb = aws.client("elbv2", LabConfig.from_env())
[balancer] = elb.describe_load_balancers(Names=["lab-web"])["LoadBalancers"]
[listener] = elb.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
[first] = elb.describe_target_groups(Names=["lab-web"])["TargetGroups"]
elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]""",
    ),
    (
        "code",
        """# TODO: a target group of 127.0.0.21 and 127.0.0.22 (VPC: first["VpcId"]), and a rule
# elb.create_target_group(
#     Name="lab-images", Protocol="HTTP", Port=first["Port"], VpcId=first["VpcId"], ...
# )
# elb.register_targets(...)
# elb.create_rule(
#     ListenerArn=listener["ListenerArn"], Priority=10, Conditions=[...], Actions=[...]
# )""",
    ),
)


def start(lab: Lab) -> None:
    for ip in IMAGE_SERVERS:
        spec = fleet.ServerSpec(ip, lab.config.web_port, name=f"images {ip.rsplit('.', 1)[1]}")
        lab.say(f"web server {spec.url}: {fleet.start(lab.config, spec)}")
    lab.say(
        "make a target group of these two, and a rule on the listener of port 80 that sends "
        "/images/* to it"
    )


def undo(lab: Lab) -> None:
    elb = lab.client("elbv2")
    with contextlib.suppress(Stop):
        for rule in elb.describe_rules(ListenerArn=_listener(lab)["ListenerArn"])["Rules"]:
            if not rule.get("IsDefault"):
                elb.delete_rule(RuleArn=rule["RuleArn"])
    for group in elb.describe_target_groups()["TargetGroups"]:
        if group["TargetGroupName"] != FIRST and not group.get("LoadBalancerArns"):
            elb.delete_target_group(TargetGroupArn=group["TargetGroupArn"])
    for ip in IMAGE_SERVERS:
        fleet.stop(lab.config, fleet.ServerSpec(ip, lab.config.web_port))
    lab.say("removed the listener rules, the second target group and its web servers")


def _forwards_to(rule: dict[str, Any]) -> set[str]:
    arns = set()
    for action in rule.get("Actions", []):
        if action.get("Type") == "forward":
            if action.get("TargetGroupArn"):
                arns.add(action["TargetGroupArn"])
            for group in (action.get("ForwardConfig") or {}).get("TargetGroups", []):
                arns.add(group["TargetGroupArn"])
    return arns


def _paths(rule: dict[str, Any]) -> list[str]:
    for condition in rule.get("Conditions", []):
        if condition.get("Field") == "path-pattern":
            config = condition.get("PathPatternConfig") or {}
            return list(config.get("Values") or condition.get("Values") or [])
    return []


def _matches(rule: dict[str, Any], path: str) -> bool:
    """Whether a rule's path patterns take ``path`` (ELB's ``*`` and ``?``, case-sensitive,
    the whole path)."""
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in _paths(rule))


def check(lab: Lab, grade: Grader) -> None:
    elb = lab.client("elbv2")
    first = lab.target_group(FIRST)
    names = {
        g["TargetGroupArn"]: g["TargetGroupName"]
        for g in elb.describe_target_groups()["TargetGroups"]
    }
    rules = elb.describe_rules(ListenerArn=_listener(lab)["ListenerArn"])["Rules"]
    images = [r for r in rules if not r.get("IsDefault") and _matches(r, PROBES[0])]
    others = [", ".join(_paths(r)) or "no path" for r in rules if not r.get("IsDefault")]
    grade.that(
        f"a rule on port 80 matches {PROBES[0]}",
        bool(images),
        f"the listener has {len(others)} rule(s) besides the default"
        + (f" (paths: {'; '.join(others)})" if others else ""),
        hint="aws elbv2 create-rule --listener-arn ARN --priority 10 --conditions "
        "Field=path-pattern,Values='/images/*' --actions Type=forward,TargetGroupArn=ARN2",
    )
    targets = {arn for rule in images for arn in _forwards_to(rule)}
    second = sorted(names.get(arn, arn) for arn in targets if arn != first["TargetGroupArn"])
    grade.that(
        "it forwards to a second target group",
        bool(second) and first["TargetGroupArn"] not in targets,
        f"the rule forwards to {', '.join(names.get(a, a) for a in targets) or 'no target group'}",
        hint="create a target group of its own (aws elbv2 create-target-group ...) and register "
        f"{' and '.join(IMAGE_SERVERS)} in it",
        expected=f"a target group other than {FIRST}",
        actual=", ".join(names.get(a, a) for a in targets) or "none",
    )
    if not second:
        for title, points in (("its targets are healthy", 1), *ROUTING):
            grade.that(
                title,
                False,
                "not tried: first a rule that forwards to a second group",
                points=points,
            )
        return
    health = lab.target_health(second[0])
    if "initial" in health.values():  # a rule just made: its first health checks are running
        lab.say(f"waiting for the first health checks of {second[0]}...")
        lab.wait(lambda: "initial" not in lab.target_health(second[0]).values(), 60)
        health = lab.target_health(second[0])
    own = sorted(t for t in health if t not in lab.target_health(FIRST))
    healthy = [t for t in own if health[t] == "healthy"]
    grade.that(
        "its targets are healthy",
        bool(healthy),
        f"{second[0]} has {len(health)} target(s), {len(healthy)} of its own healthy",
        hint=f"register {' and '.join(IMAGE_SERVERS)} (port {lab.config.web_port}); lab lb "
        f"health --target-group {second[0]} shows their state and why",
    )
    _probe(lab, grade, second[0])


# (title, points) of what the checker tries through the load balancer
ROUTING = (("/images/* reaches the second group", 2), ("every other path reaches the first", 2))


def _probe(lab: Lab, grade: Grader, second: str) -> None:
    mark = lab.mark()
    for path in PROBES:
        lab.get(lab.listener_url(path))
    went: dict[str, str] = {}
    for event in lab.events("elb.request", after=mark):
        if event.get("load_balancer") == BALANCER:
            went[str(event.get("path"))] = str(event.get("target_group"))
    images = {p: g for p, g in went.items() if p.startswith("/images/")}
    others = {p: g for p, g in went.items() if not p.startswith("/images/")}
    wrong_images = sorted(p for p, g in images.items() if g != second)
    grade.that(
        ROUTING[0][0],
        bool(images) and not wrong_images,
        "; ".join(f"{p} -> {g}" for p, g in sorted(images.items())) or "no request was answered",
        expected=f"every /images/ path to {second}",
        actual=f"{', '.join(wrong_images)} elsewhere" if wrong_images else "all there",
        hint="a path pattern matches the whole path: /images/* matches /images/cat.png, "
        "/images alone does not",
        points=ROUTING[0][1],
    )
    wrong_others = sorted(p for p, g in others.items() if g != FIRST)
    counted = Counter(others.values())
    grade.that(
        ROUTING[1][0],
        bool(others) and not wrong_others,
        ", ".join(f"{n} to {g}" for g, n in sorted(counted.items())) or "no request was answered",
        expected=f"{', '.join(sorted(others))} to {FIRST}",
        actual=f"{', '.join(wrong_others)} to {second}" if wrong_others else "all there",
        hint="a rule that matches more than /images/* (like /*) takes the other paths too",
        points=ROUTING[1][1],
    )
