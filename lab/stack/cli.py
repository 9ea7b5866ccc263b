"""``lab stack``: section 15.1.1's CloudFormation stack, on the lab's cloud or on AWS."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click
from botocore.exceptions import BotoCoreError, ClientError

from lab import aws, runtime
from lab.config import LabConfig
from lab.stack import chapter
from lab.targets.options import cloud_options


def _name_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--name",
        default=chapter.DEFAULT_NAME,
        show_default=True,
        envvar="LAB_STACK_NAME",
        help="stack name (env LAB_STACK_NAME)",
    )(fn)


def _aws_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except chapter.StackError as exc:
            raise runtime.LabError(str(exc)) from None
        except (BotoCoreError, ClientError) as exc:
            raise runtime.LabError(f"{exc} (is the lab up? lab up)") from None

    return wrapper


def _print_status(config: LabConfig, name: str) -> None:
    found = chapter.status(
        aws.client("cloudformation", config),
        aws.client("autoscaling", config),
        aws.client("ec2", config),
        aws.client("elbv2", config),
        name,
        config.endpoint,
    )
    if found is None:
        click.echo(f"no stack {name}: lab stack deploy")
        return
    click.echo(f"stack {found.name}: {found.status}")
    if found.url:
        click.echo(f"load balancer: {found.url}")
    if found.local_url:
        click.echo(
            f"  served here at {found.local_url}   (try: lab lb hit --url {found.local_url})"
        )
    if found.desired is not None:
        click.echo(
            f"auto-scaling group: {found.desired} desired ({found.min_size}..{found.max_size})"
        )
    if found.instances:
        click.echo(f"  {'INSTANCE':21} {'STATE':11} {'PRIVATE IP':13} {'ZONE':11} TARGET HEALTH")
        for row in found.instances:
            health = row.health + (f" ({row.reason})" if row.reason else "")
            click.echo(
                f"  {row.instance_id:21} {row.state:11} {row.private_ip or '-':13} "
                f"{row.zone or '-':11} {health}"
            )


@click.group()
def stack() -> None:
    """The chapter's CloudFormation stack: ALB + auto-scaling group (lab/templates)."""


@stack.command()
@click.option(
    "--instances",
    type=click.IntRange(2, 4),
    default=None,
    help="NumberOfVirtualMachines  [default: 2, or as deployed]",
)
@click.option(
    "--deregistration-delay",
    type=click.IntRange(0, 3600),
    default=None,
    help="seconds a removed instance drains  [default: 300, or as deployed]",
)
@click.option("--wait-healthy", is_flag=True, help="wait until every instance is healthy")
@click.option("--timeout", type=float, default=1800, show_default=True, help="seconds")
@_name_option
@cloud_options
@click.pass_obj
@_aws_errors
def deploy(
    config: LabConfig,
    instances: int | None,
    deregistration_delay: int | None,
    wait_healthy: bool,
    timeout: float,
    name: str,
) -> None:
    """Create the stack (or update its parameters) and wait for it.

    The health-check interval is LAB_HEALTH_CHECK_INTERVAL (the chapter's 10 s by default)."""
    cfn = aws.client("cloudformation", config)
    params = chapter.parameters(
        instances,
        config.health_check_interval,
        deregistration_delay=deregistration_delay,
        # The emulator runs the instances' web servers on LAB_INSTANCE_PORT (80 by default;
        # another port where binding 80 needs root): the target group must use the same.
        web_server_port=config.instance_port,
    )
    click.echo(f"deploying stack {name} from {chapter.LOADBALANCER.name}")
    action, deployed = chapter.deploy(cfn, name, params, timeout, click.echo)
    click.echo(f"stack {name} {action}")
    if wait_healthy:
        click.echo("waiting for the instances to pass their health checks")
        chapter.wait_healthy(
            aws.client("elbv2", config),
            aws.client("autoscaling", config),
            deployed,
            timeout,
            click.echo,
        )
    _print_status(config, name)


@stack.command()
@click.argument("instances", type=int)
@click.option("--wait-healthy", is_flag=True, help="wait until every instance is healthy")
@click.option("--timeout", type=float, default=600, show_default=True, help="seconds")
@_name_option
@cloud_options
@click.pass_obj
@_aws_errors
def scale(config: LabConfig, instances: int, wait_healthy: bool, timeout: float, name: str) -> None:
    """Set the auto-scaling group's desired capacity to INSTANCES (2-4).

    Uses SetDesiredCapacity, as `aws autoscaling set-desired-capacity` does; the stack's
    NumberOfVirtualMachines parameter stays as deployed."""
    found = chapter.find(aws.client("cloudformation", config), name)
    if found is None:
        raise runtime.LabError(f"no stack {name}: lab stack deploy")
    autoscaling = aws.client("autoscaling", config)
    before = chapter.scale(autoscaling, found, instances)
    click.echo(
        f"{before['AutoScalingGroupName']}: desired capacity "
        f"{before['DesiredCapacity']} -> {instances}"
    )
    if wait_healthy:
        chapter.wait_healthy(aws.client("elbv2", config), autoscaling, found, timeout, click.echo)
    _print_status(config, name)


@stack.command()
@click.option("--timeout", type=float, default=1800, show_default=True, help="seconds")
@_name_option
@cloud_options
@click.pass_obj
@_aws_errors
def delete(config: LabConfig, timeout: float, name: str) -> None:
    """Delete the stack and everything in it, and wait for it."""
    outcome = chapter.delete(aws.client("cloudformation", config), name, timeout, click.echo)
    click.echo(f"no stack {name}" if outcome is None else f"stack {name}: {outcome}")


@stack.command()
@_name_option
@cloud_options
@click.pass_obj
@_aws_errors
def status(config: LabConfig, name: str) -> None:
    """Show the stack, its load balancer URL, and its instances with their target health."""
    _print_status(config, name)
