"""DeleteStack in dependency order.

moto deletes a stack's resources in no particular order, retrying while that makes progress,
and several of its CloudFormation types delete nothing at all (the internet gateway, its VPC
attachment, the route table, the target group). For the chapter's stack that ends in
``DependencyViolation`` on the VPC, an HTTP error for the DeleteStack call, a stack record that
vanished, and the VPC, gateway and route table left behind.

The emulator takes DeleteStack itself (``handle_delete_stack``) and deletes the stack's
resources the way CloudFormation does: dependents first (group, instances, listener, load
balancer, target group, launch template, security groups, route, associations, route table,
subnets, gateway attachment, gateway, VPC). Types it has no rule for are deleted the way moto
would, first. The stack then reads ``DELETE_COMPLETE`` (by its id; by name it no longer exists),
or ``DELETE_FAILED`` with the reason if something could not be deleted, as on AWS. Runs on
moto's thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("emulator.ec2.stacks")

# Resource types in the order they are deleted (dependents before what they depend on).
DELETE_ORDER = (
    "AWS::AutoScaling::AutoScalingGroup",
    "AWS::AutoScaling::LaunchConfiguration",
    "AWS::EC2::Instance",
    "AWS::ElasticLoadBalancingV2::ListenerRule",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::EC2::LaunchTemplate",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::Route",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::RouteTable",
    "AWS::EC2::Subnet",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::EC2::InternetGateway",
    "AWS::EC2::VPC",
)
PASSES = 3


def _gone(exc: Exception) -> bool:
    """Whether moto's error says the resource does not exist (already deleted)."""
    code = str(getattr(exc, "code", "") or getattr(exc, "error_type", "") or type(exc).__name__)
    return "NotFound" in code or "not found" in str(exc).lower()


class _Backends:
    def __init__(self, account_id: str, region: str) -> None:
        self.account_id, self.region = account_id, region

    @property
    def ec2(self) -> Any:
        from moto.ec2.models import ec2_backends

        return ec2_backends[self.account_id][self.region]

    @property
    def elbv2(self) -> Any:
        from moto.elbv2.models import elbv2_backends

        return elbv2_backends[self.account_id][self.region]

    @property
    def autoscaling(self) -> Any:
        from moto.autoscaling.models import autoscaling_backends

        return autoscaling_backends[self.account_id][self.region]


def _delete_group(b: _Backends, group: Any) -> None:
    if group.name in b.autoscaling.autoscaling_groups:
        b.autoscaling.delete_auto_scaling_group(group.name)


def _delete_launch_configuration(b: _Backends, config: Any) -> None:
    if config.name in b.autoscaling.launch_configurations:
        b.autoscaling.delete_launch_configuration(config.name)


def _terminate(b: _Backends, instance: Any) -> None:
    if str(instance.state) != "terminated":
        b.ec2.terminate_instances([instance.id])


def _delete_target_group(b: _Backends, group: Any) -> None:
    if group.arn in b.elbv2.target_groups:
        b.elbv2.delete_target_group(group.arn)


def _delete_association(b: _Backends, assoc: Any) -> None:
    table = b.ec2.get_route_table(assoc.route_table_id)
    for association_id, subnet_id in list(table._associations.items()):
        if subnet_id == assoc.subnet_id:
            b.ec2.disassociate_route_table(association_id)


def _detach(b: _Backends, attachment: Any) -> None:
    if str(attachment.gateway_id or "").startswith("igw-"):
        gateway = b.ec2.get_internet_gateway(attachment.gateway_id)
        if gateway.vpc is not None and gateway.vpc.id == attachment.vpc_id:
            b.ec2.detach_internet_gateway(attachment.gateway_id, attachment.vpc_id)
    elif attachment.gateway_id:
        b.ec2.detach_vpn_gateway(attachment.gateway_id, attachment.vpc_id)


DELETERS: dict[str, Callable[[_Backends, Any], None]] = {
    "AWS::AutoScaling::AutoScalingGroup": _delete_group,
    "AWS::AutoScaling::LaunchConfiguration": _delete_launch_configuration,
    "AWS::EC2::Instance": _terminate,
    "AWS::ElasticLoadBalancingV2::ListenerRule": lambda b, r: b.elbv2.delete_rule(r.arn),
    "AWS::ElasticLoadBalancingV2::Listener": lambda b, r: b.elbv2.delete_listener(r.arn),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": lambda b, r: b.elbv2.delete_load_balancer(r.arn),
    "AWS::ElasticLoadBalancingV2::TargetGroup": _delete_target_group,
    "AWS::EC2::LaunchTemplate": lambda b, r: b.ec2.delete_launch_template(None, r.id),
    "AWS::EC2::SecurityGroup": lambda b, r: b.ec2.delete_security_group(group_id=r.id),
    "AWS::EC2::Route": lambda b, r: b.ec2.delete_route(r.route_table.id, r.destination_cidr_block),
    "AWS::EC2::SubnetRouteTableAssociation": _delete_association,
    "AWS::EC2::RouteTable": lambda b, r: b.ec2.delete_route_table(r.id),
    "AWS::EC2::Subnet": lambda b, r: b.ec2.delete_subnet(r.id),
    "AWS::EC2::VPCGatewayAttachment": _detach,
    "AWS::EC2::InternetGateway": lambda b, r: b.ec2.delete_internet_gateway(r.id),
    "AWS::EC2::VPC": lambda b, r: b.ec2.delete_vpc(r.id),
}


def find_stack(account_id: str, region: str, name_or_id: str) -> Any | None:
    """The live (not yet deleted) stack called ``name_or_id``, or None."""
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends[account_id][region]
    stack = backend.stacks.get(name_or_id)
    if stack is None:
        stack = next((s for s in backend.stacks.values() if s.name == name_or_id), None)
    return stack


def delete_stack(account_id: str, region: str, name_or_id: str) -> str | None:
    """Delete the stack's resources in order and settle its record. Returns its final status,
    or None when there is no such stack (DeleteStack then succeeds doing nothing, as on AWS)."""
    from moto.cloudformation.models import cloudformation_backends
    from moto.cloudformation.parsing import parse_and_delete_resource

    backend = cloudformation_backends[account_id][region]
    stack = find_stack(account_id, region, name_or_id)
    if stack is None:
        return None
    # moto's resource map is lazy: reading a resource it no longer holds creates it again, and
    # so would evaluating the outputs afterwards (DescribeStacks). Evaluate them now, while
    # everything exists (OutputMap keeps them), and forget deleted resources' templates below.
    list(stack.output_map.values())
    export_names = [export.name for export in stack.exports]
    stack._add_stack_event("DELETE_IN_PROGRESS", resource_status_reason="User Initiated")
    stack.status = "DELETE_IN_PROGRESS"
    resource_map = stack.resource_map
    parsed = resource_map._parsed_resources
    b = _Backends(account_id, region)
    pending = []
    for logical_id, resource_json in resource_map._resource_json_map.items():
        if resource_json.get("DeletionPolicy") == "Retain":
            continue
        resource = parsed.get(logical_id)
        if resource is None or isinstance(resource, str):
            continue
        pending.append((logical_id, str(resource_json.get("Type", "")), resource))

    def rank(item: tuple[str, str, Any]) -> int:
        kind = item[1]
        return DELETE_ORDER.index(kind) + 1 if kind in DELETE_ORDER else 0

    pending.sort(key=rank)
    errors: dict[str, str] = {}
    for _ in range(PASSES):
        if not pending:
            break
        left = []
        for logical_id, kind, resource in pending:
            try:
                deleter = DELETERS.get(kind)
                if deleter is not None:
                    deleter(b, resource)
                else:
                    try:
                        resource.delete(account_id, region)
                    except (TypeError, AttributeError):
                        parse_and_delete_resource(
                            getattr(resource, "physical_resource_id", None),
                            resource_map._resource_json_map[logical_id],
                            account_id,
                            region,
                        )
            except Exception as exc:  # noqa: BLE001 - moto's errors have no common base
                log.debug("deleting %s (%s): %s", logical_id, kind, exc)
                if not _gone(exc):
                    errors[logical_id] = f"{type(exc).__name__}: {exc}"
                    left.append((logical_id, kind, resource))
                    continue
            errors.pop(logical_id, None)
            parsed.pop(logical_id, None)
        pending = left
    kept = {logical_id for logical_id, *_ in pending}
    resource_map._resource_json_map = {
        k: v for k, v in resource_map._resource_json_map.items() if k in kept or k in parsed
    }
    if pending:
        reason = "; ".join(f"{logical_id}: {errors.get(logical_id)}" for logical_id, *_ in pending)
        stack.status = "DELETE_FAILED"
        stack._add_stack_event("DELETE_FAILED", resource_status_reason=reason[:1000])
        log.warning("stack %s: DELETE_FAILED (%s)", stack.name, reason)
        return stack.status
    backend.stacks.pop(stack.stack_id, None)
    for name in export_names:
        backend.exports.pop(name, None)
    stack._add_stack_event("DELETE_COMPLETE")
    stack.status = "DELETE_COMPLETE"
    backend.deleted_stacks[stack.stack_id] = stack
    log.info("stack %s: DELETE_COMPLETE", stack.name)
    return stack.status


ATTRIBUTE_PROPERTIES = {
    "AWS::ElasticLoadBalancingV2::TargetGroup": "TargetGroupAttributes",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "LoadBalancerAttributes",
}


def after_deploy(account_id: str, region: str, name_or_id: str) -> int:
    """What CloudFormation does and moto's does not, after CreateStack and UpdateStack: apply
    the templates' ``TargetGroupAttributes`` and ``LoadBalancerAttributes`` (moto ignores them,
    so a template's deregistration delay would stay 300 s), and remember every parameter's
    value, defaults included (moto keeps only the ones passed, and an UpdateStack with
    ``UsePreviousValue`` for another one fails with an internal error). Returns how many
    records were changed."""
    stack = find_stack(account_id, region, name_or_id)
    if stack is None:
        return 0
    declared = (stack.template_dict or {}).get("Parameters") or {}
    defaults = {
        key: str(spec["Default"])
        for key, spec in declared.items()
        if isinstance(spec, dict) and "Default" in spec and key not in stack.parameters
    }
    stack.parameters.update(defaults)
    return apply_attributes(stack, account_id, region) + len(defaults)


def apply_attributes(stack: Any, account_id: str, region: str) -> int:
    from moto.cloudformation.parsing import clean_json

    b = _Backends(account_id, region)
    resource_map = stack.resource_map
    changed = 0
    for logical_id, resource_json in resource_map._resource_json_map.items():
        prop = ATTRIBUTE_PROPERTIES.get(str(resource_json.get("Type")))
        raw = (resource_json.get("Properties") or {}).get(prop) if prop else None
        resource = resource_map._parsed_resources.get(logical_id)
        if not raw or resource is None or isinstance(resource, str):
            continue
        try:
            attributes = {
                str(item["Key"]): str(item["Value"]) for item in clean_json(raw, resource_map)
            }
            if prop == "TargetGroupAttributes":
                b.elbv2.modify_target_group_attributes(resource.arn, attributes)
            else:
                b.elbv2.modify_load_balancer_attributes(resource.arn, attributes)
            changed += 1
        except Exception as exc:  # noqa: BLE001 - an attribute moto refuses stays as it was
            log.warning("stack %s: %s of %s not applied: %s", stack.name, prop, logical_id, exc)
    return changed
