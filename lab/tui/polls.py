"""What the TUI asks the AWS APIs, and their answers in the shapes the model takes: queue
depths (``GetQueueAttributes``), target health (``DescribeTargetHealth``, with instances'
private IPs from ``DescribeInstances``) and the listeners' rules in words (``DescribeRules``).
Only documented AWS calls, so the same reads work on the lab, LocalStack and AWS."""

from __future__ import annotations

from typing import Any

from lab.tui.model import ATTRIBUTES


def read_attributes(sqs: Any) -> dict[str, dict[str, str]]:
    """Every queue's depth, as ``GetQueueAttributes`` answers it, by queue name."""
    found: dict[str, dict[str, str]] = {}
    for url in sqs.list_queues().get("QueueUrls", []):
        reply = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(ATTRIBUTES))
        found[url.rstrip("/").rsplit("/", 1)[-1]] = reply.get("Attributes", {})
    return found


def read_balancer(elb: Any, ec2: Any = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Every target group's ``DescribeTargetHealth`` (with each instance target's private IP,
    from ``DescribeInstances``: what the chapter's pages show), and every listener's rules in
    words."""
    targets: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for group in elb.describe_target_groups().get("TargetGroups", []):
        names[group["TargetGroupArn"]] = group["TargetGroupName"]
        reply = elb.describe_target_health(TargetGroupArn=group["TargetGroupArn"])
        for found in reply.get("TargetHealthDescriptions", []):
            target, state = found["Target"], found.get("TargetHealth", {})
            targets.append(
                {
                    "target_group": group["TargetGroupName"],
                    "target_id": target["Id"],
                    "port": target.get("Port"),
                    "state": state.get("State", "unknown"),
                    "reason": state.get("Reason"),
                }
            )
    instances = sorted({t["target_id"] for t in targets if t["target_id"].startswith("i-")})
    if instances and ec2 is not None:
        ips = private_ips(ec2, instances)
        for target in targets:
            target["private_ip"] = ips.get(target["target_id"])
    rules: list[str] = []
    for balancer in elb.describe_load_balancers().get("LoadBalancers", []):
        arn = balancer["LoadBalancerArn"]
        for listener in elb.describe_listeners(LoadBalancerArn=arn).get("Listeners", []):
            found = elb.describe_rules(ListenerArn=listener["ListenerArn"]).get("Rules", [])
            ordered = sorted(found, key=lambda r: (r.get("IsDefault", False), _priority(r)))
            for rule in ordered:
                rules.append(f":{listener.get('Port')} {rule_words(rule, names)}")
    return targets, rules


def private_ips(ec2: Any, instance_ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for reservation in ec2.describe_instances(InstanceIds=instance_ids).get("Reservations", []):
        for instance in reservation.get("Instances", []):
            if instance.get("PrivateIpAddress"):
                found[instance["InstanceId"]] = instance["PrivateIpAddress"]
    return found


def _priority(rule: dict[str, Any]) -> int:
    try:
        return int(rule.get("Priority", 0))
    except ValueError:  # "default"
        return 1 << 30


def rule_words(rule: dict[str, Any], names: dict[str, str]) -> str:
    """A listener rule on one line: ``10 path /images/* -> forward images``."""
    when = []
    for condition in rule.get("Conditions", []):
        field = condition.get("Field", "?")
        values: list[str] = list(condition.get("Values") or [])
        for config in condition.values():
            if isinstance(config, dict) and isinstance(config.get("Values"), list):
                values = [str(v) for v in config["Values"]]
        when.append(f"{field.removesuffix('-pattern')} {','.join(values)}".strip())
    head = "default" if rule.get("IsDefault") else str(rule.get("Priority"))
    actions = []
    for action in sorted(rule.get("Actions", []), key=lambda a: a.get("Order", 0)):
        kind = action.get("Type", "?")
        if kind == "forward":
            arns = [action.get("TargetGroupArn")] + [
                g.get("TargetGroupArn")
                for g in (action.get("ForwardConfig") or {}).get("TargetGroups", [])
            ]
            groups = sorted({names.get(a or "", (a or "?").rsplit("/", 2)[-2]) for a in arns if a})
            actions.append(f"forward {','.join(groups)}")
        elif kind == "fixed-response":
            status = (action.get("FixedResponseConfig") or {}).get("StatusCode", "?")
            actions.append(f"fixed {status}")
        elif kind == "redirect":
            status = (action.get("RedirectConfig") or {}).get("StatusCode", "?")
            actions.append(f"redirect {status.removeprefix('HTTP_')}")
        else:
            actions.append(kind)
    return f"{head} {' and '.join(when)} -> {'; '.join(actions)}".replace("  ", " ")
