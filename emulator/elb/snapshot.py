"""A plain copy of moto's ELBv2 records, taken on moto's thread.

moto's backends are not thread-safe, and the data plane serves requests on the event loop, so
the sync copies what it needs (load balancers, listeners, rules, target groups, targets and
their addresses) into frozen values here, inside moto's ``run_sync``; nothing on the event loop
ever touches a moto object. Two snapshots compare equal when nothing changed, which is how the
sync knows there is nothing to apply.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulator.elb.health import HealthCheckConfig, TargetKey


@dataclass(frozen=True)
class TargetSpec:
    key: TargetKey
    address: str | None  # IP to send traffic to; None when it cannot be resolved
    invalid: bool = False  # instance not running (Target.InvalidState)


@dataclass(frozen=True)
class TargetGroupSpec:
    arn: str
    name: str
    protocol: str
    port: int
    target_type: str
    health: HealthCheckConfig
    attributes: dict[str, str] = field(default_factory=dict, compare=True)
    targets: tuple[TargetSpec, ...] = ()

    @property
    def algorithm(self) -> str:
        return str(self.attributes.get("load_balancing.algorithm.type") or "round_robin")

    @property
    def deregistration_delay(self) -> float:
        try:
            return float(self.attributes.get("deregistration_delay.timeout_seconds", 300))
        except ValueError:
            return 300.0


@dataclass(frozen=True)
class ListenerSpec:
    arn: str
    load_balancer_arn: str
    load_balancer_name: str
    dns_name: str
    protocol: str
    port: int
    idle_timeout: float
    xff_mode: str
    rules: tuple[dict[str, Any], ...]  # {Priority, IsDefault, Conditions, Actions}

    def target_group_arns(self) -> set[str]:
        arns = set()
        for rule in self.rules:
            for action in rule.get("Actions") or []:
                if action.get("Type") != "forward":
                    continue
                if action.get("TargetGroupArn"):
                    arns.add(action["TargetGroupArn"])
                for tg in (action.get("ForwardConfig") or {}).get("TargetGroups") or []:
                    arns.add(tg["TargetGroupArn"])
        return arns


@dataclass(frozen=True)
class Snapshot:
    listeners: tuple[ListenerSpec, ...] = ()
    target_groups: tuple[TargetGroupSpec, ...] = ()

    def target_groups_in_use(self) -> set[str]:
        return {arn for listener in self.listeners for arn in listener.target_group_arns()}


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _health_config(tg: Any) -> HealthCheckConfig:
    matcher = getattr(tg, "matcher", None) or {}
    return HealthCheckConfig(
        protocol=str(tg.health_check_protocol or "HTTP"),
        port=str(tg.health_check_port or "traffic-port"),
        path=str(tg.health_check_path or "/"),
        interval=float(_int(tg.health_check_interval_seconds, 30)),
        timeout=float(_int(tg.health_check_timeout_seconds, 5)),
        healthy_threshold=_int(tg.healthy_threshold_count, 5),
        unhealthy_threshold=_int(tg.unhealthy_threshold_count, 2),
        matcher=str(matcher.get("HttpCode") or "200"),
    )


# Where an instance target is reached: the emulator's instance runner (``emulator.ec2``) runs
# each instance on a loopback address of its own and tells it here. Called on moto's thread with
# an instance id; None means the instance's private IP from moto. Targets stay keyed by the
# instance id (DescribeTargetHealth shows the id, not the address).
InstanceResolver = Callable[[str], str | None]


def _instance_address(instance: Any, resolve_instance: InstanceResolver) -> str | None:
    return resolve_instance(instance.id) or getattr(instance, "private_ip", None)


def _targets(tg: Any, ec2: Any, resolve_instance: InstanceResolver) -> tuple[TargetSpec, ...]:
    specs = []
    for target in tg.targets.values():
        target_id = str(target["Id"])
        key = TargetKey(target_id, _int(target.get("Port"), _int(tg.port, 80)))
        if _is_ip(target_id):
            specs.append(TargetSpec(key, target_id))
            continue
        instance = None
        if ec2 is not None:
            try:
                instance = ec2.get_instance_by_id(target_id)
            except Exception:  # moto raises for unknown ids
                instance = None
        if instance is None:
            specs.append(TargetSpec(key, None, invalid=True))
            continue
        running = getattr(instance, "state", "running") == "running"
        address = _instance_address(instance, resolve_instance)
        specs.append(TargetSpec(key, address, invalid=not running))
    return tuple(specs)


def read_moto(account_id: str, resolve_instance: InstanceResolver) -> Snapshot:
    """Copy every region's ELBv2 records of ``account_id``. Run it on moto's thread (and so is
    ``resolve_instance``)."""
    from moto.ec2.models import ec2_backends
    from moto.elbv2.models import elbv2_backends

    listeners: list[ListenerSpec] = []
    groups: list[TargetGroupSpec] = []
    account = elbv2_backends[account_id]
    for region in list(account.keys()):
        backend = account[region]
        try:
            ec2 = ec2_backends[account_id][region]
        except Exception:
            ec2 = None
        for tg in list(backend.target_groups.values()):
            if tg.protocol not in ("HTTP", "HTTPS"):
                continue
            groups.append(
                TargetGroupSpec(
                    arn=tg.arn,
                    name=tg.name,
                    protocol=tg.protocol,
                    port=_int(tg.port, 80),
                    target_type=str(tg.target_type),
                    health=_health_config(tg),
                    attributes={k: str(v) for k, v in tg.attributes.items()},
                    targets=_targets(tg, ec2, resolve_instance),
                )
            )
        for lb in list(backend.load_balancers.values()):
            if getattr(lb, "type", "application") != "application":
                continue
            attrs = lb.attrs
            idle = float(_int(attrs.get("idle_timeout.timeout_seconds"), 60))
            xff = str(attrs.get("routing.http.xff_header_processing.mode") or "append")
            for listener in list(lb.listeners.values()):
                rules = tuple(
                    {
                        "Priority": rule.priority,
                        "IsDefault": bool(rule.is_default),
                        "Conditions": copy.deepcopy(rule.conditions or []),
                        "Actions": [copy.deepcopy(a.data) for a in rule.actions],
                    }
                    for rule in listener.rules.values()
                )
                listeners.append(
                    ListenerSpec(
                        arn=listener.arn,
                        load_balancer_arn=lb.arn,
                        load_balancer_name=lb.name,
                        dns_name=lb.dns_name,
                        protocol=str(listener.protocol or "HTTP").upper(),
                        port=_int(listener.port, 80),
                        idle_timeout=idle,
                        xff_mode=xff,
                        rules=rules,
                    )
                )
    return Snapshot(tuple(listeners), tuple(groups))
