"""What `lab up` and `lab down` do for section 15.1: three web servers and a load balancer in
front of them, made through the ELBv2 API. Kept out of ``lab.cli`` so `up` stays a list of
steps, one per part of the lab."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lab import aws, runtime
from lab.config import LabConfig
from lab.lb import stack as lbstack
from lab.web import fleet


def lab_stack_spec(config: LabConfig) -> lbstack.StackSpec:
    return lbstack.StackSpec(
        targets=config.web_ips,
        target_port=config.web_port,
        health=lbstack.chapter_health_check(config.health_check_interval),
    )


def start_web_servers(config: LabConfig) -> dict[str, str]:
    """Start the lab's web servers (reusing running ones), all at once: IP -> outcome."""
    return fleet.start_all(config, fleet.lab_specs(config))


def bring_up(
    config: LabConfig,
    echo: Callable[[str], object],
    outcomes: dict[str, str] | None = None,
    clients: tuple[Any, Any] | None = None,
) -> lbstack.Stack:
    """Start the web servers (reusing running ones), then create or reuse the load balancer.
    ``outcomes``: those of ``start_web_servers`` when the caller started them already;
    ``clients``: the EC2 and ELBv2 clients to use, when it made them already."""
    if outcomes is None:
        outcomes = start_web_servers(config)
    started = [ip for ip, outcome in outcomes.items() if outcome == fleet.STARTED]
    ips = ", ".join(config.web_ips) or "none"
    echo(
        f"web servers on {ips} port {config.web_port}"
        + (f" (started {len(started)})" if started else " (already running)")
    )
    shared = [ip for ip, outcome in outcomes.items() if outcome == fleet.SHARED]
    if shared:
        echo(
            f"  {', '.join(shared)} port {config.web_port}: served by another lab's web servers, "
            "used as they are (set LAB_WEB_PORT for servers of this lab's own)"
        )
    ec2, elbv2 = clients or (aws.client("ec2", config), aws.client("elbv2", config))
    try:
        result = lbstack.ensure_stack(ec2, elbv2, lab_stack_spec(config))
    except (BotoCoreError, ClientError) as exc:
        raise runtime.LabError(f"creating the load balancer failed: {exc}") from None
    url = lbstack.listener_url(config.endpoint, result, config.local_port)
    made = "created " + ", ".join(result.created) if result.created else "reused"
    echo(f"load balancer {lbstack.NAME} ({made})")
    echo(f"load balancer URL: {url}   (try: lab lb hit -n 12)")
    status = lbstack.listener_status(config.endpoint, result) or {}
    if status.get("error"):
        echo(f"  but the emulator cannot serve it: {status['error']} (LAB_LISTENER_PORT_OFFSET)")
    return result


def bring_down(config: LabConfig, echo: Callable[[str], object]) -> None:
    """Stop the web servers and nginx; the load balancer is a record in the emulator's state
    and comes back with it."""
    from lab.lb import nginx

    stopped = [spec.ip for spec in fleet.known_specs(config) if fleet.stop(config, spec)]
    if stopped:
        echo(f"web servers stopped: {', '.join(stopped)}")
    if nginx.stop(config):
        echo("nginx stopped")
