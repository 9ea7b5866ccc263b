"""What the instance runner reads from (and fixes in) moto. Every function here runs on moto's
thread (``runner.run_sync``): moto's objects are not safe to touch from anywhere else."""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

from emulator.ec2.core import InstanceView

log = logging.getLogger("emulator.ec2")


def _user_data(value: Any) -> bytes | None:
    encoded = getattr(value, "_encoded_string", value)  # moto's Base64EncodedString
    if isinstance(encoded, list):  # older moto: a list of one string
        encoded = encoded[0] if encoded else None
    if isinstance(encoded, bytes):
        encoded = encoded.decode("ascii", "replace")
    if not isinstance(encoded, str) or not encoded:
        return None
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return encoded.encode()


def _view(instance: Any, region: str, tags: dict[str, str]) -> InstanceView:
    options = getattr(instance, "metadata_options", None)
    groups = tuple(
        str(getattr(g, "name", g)) for g in (getattr(instance, "security_groups", None) or [])
    )
    try:
        dns = instance.private_dns_name if instance.private_ip else None
    except Exception:  # noqa: BLE001 - moto builds it from the IP; no IP, no name
        dns = None
    return InstanceView(
        instance_id=instance.id,
        state=str(instance.state),
        region=region,
        private_ip=instance.private_ip,
        private_dns=dns,
        public_ip=getattr(instance, "public_ip", None),
        availability_zone=getattr(instance.placement, "zone", None),
        image_id=getattr(instance, "image_id", None),
        instance_type=getattr(instance, "instance_type", None),
        name=tags.get("Name"),
        http_tokens=str(getattr(options, "http_tokens", "optional") or "optional"),
        http_endpoint=str(getattr(options, "http_endpoint", "enabled") or "enabled"),
        user_data=_user_data(getattr(instance, "user_data", None)),
        security_groups=groups,
        tags=tuple(sorted(tags.items())),
    )


def read_instances(account_id: str) -> list[InstanceView]:
    """Every EC2 instance of the account, in every region moto has created."""
    from moto.ec2.models import ec2_backends

    views = []
    for region, backend in list(dict.items(ec2_backends[account_id])):
        tag_index = getattr(backend, "tags", {})
        for instance in backend.all_instances():
            tags = dict(tag_index.get(instance.id) or {})
            views.append(_view(instance, region, tags))
    return views


def deregister_terminated(account_id: str) -> int:
    """Deregister terminated (or vanished) instances from every target group, as Elastic Load
    Balancing does on AWS; moto leaves them registered after an Auto Scaling group scales in.
    Returns how many registrations were removed."""
    from moto.ec2.models import ec2_backends
    from moto.elbv2.models import elbv2_backends

    removed = 0
    for region, elbv2 in list(dict.items(elbv2_backends[account_id])):
        ec2 = dict.get(ec2_backends[account_id], region)
        states = {}
        if ec2 is not None:
            states = {i.id: str(i.state) for i in ec2.all_instances()}
        for group in list(elbv2.target_groups.values()):
            if getattr(group, "target_type", "instance") != "instance":
                continue
            gone = [
                str(target_id)
                for target_id in list(group.targets)
                if str(target_id).startswith("i-")
                and states.get(str(target_id), "terminated") == "terminated"
            ]
            if gone:
                # What moto itself does after a TerminateInstances call.
                group.deregister_terminated_instances(gone)
                removed += len(gone)
                log.info(
                    "deregistered terminated instance(s) %s from %s", ", ".join(gone), group.name
                )
    return removed
