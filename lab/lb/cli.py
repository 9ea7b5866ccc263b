"""``lab lb``: the load balancer in front of the web servers, with two engines.

``alb`` is the emulator's Application Load Balancer (what `lab up` creates through the ELBv2
API); ``nginx`` is Debian's nginx configured from the same target group (``lab lb nginx``).
"""

from __future__ import annotations

from typing import Any

import click
from botocore.exceptions import BotoCoreError, ClientError

from lab import aws, runtime
from lab.config import LabConfig
from lab.lb import hits as lbhits
from lab.lb import nginx as lbnginx
from lab.lb import stack as lbstack
from lab.lb import up as lbup
from lab.targets.options import cloud_options


def _stack(config: LabConfig) -> lbstack.Stack:
    try:
        return lbstack.find_stack(aws.client("elbv2", config))
    except LookupError as exc:
        raise runtime.LabError(str(exc)) from None
    except (BotoCoreError, ClientError) as exc:
        raise runtime.LabError(f"the ELBv2 API did not answer: {exc} (is the lab up?)") from None


def engine_url(config: LabConfig, engine: str) -> str:
    if engine == "nginx":
        if not runtime.running_pid(config, lbnginx.PROCESS):
            raise runtime.LabError("nginx is not running: lab lb nginx start")
        return f"http://127.0.0.1:{_nginx_port(config)}/"
    return lbstack.listener_url(config.endpoint, _stack(config), config.local_port)


def _nginx_port(config: LabConfig) -> int:
    """The port the running nginx listens on, from its configuration (it may have been started
    with --port)."""
    try:
        for line in lbnginx.paths_for(config).conf.read_text().splitlines():
            words = line.split()
            if words[:1] == ["listen"]:
                return int(words[1].rsplit(":", 1)[1].rstrip(";"))
    except (OSError, ValueError, IndexError):
        pass
    return config.nginx_port


@click.group()
def lb() -> None:
    """The load balancer: the emulator's ALB (engine alb) or nginx (engine nginx)."""


@lb.command()
@cloud_options
@click.pass_obj
def up(config: LabConfig) -> None:
    """Start the web servers and create (or reuse) the ALB through the ELBv2 API."""
    runtime.start_emulator(config)
    lbup.bring_up(config, click.echo)


@lb.command()
@click.option("--engine", type=click.Choice(["alb", "nginx"]), default="alb", show_default=True)
@cloud_options
@click.pass_obj
def url(config: LabConfig, engine: str) -> None:
    """Print the load balancer's URL."""
    click.echo(engine_url(config, engine))


@lb.command()
@click.option("-n", "count", type=click.IntRange(1, 100_000), default=12, show_default=True)
@click.option("--url", "url_", help="any URL  [default: the engine's]")
@click.option("--engine", type=click.Choice(["alb", "nginx"]), default="alb", show_default=True)
@cloud_options
@click.pass_obj
def hit(config: LabConfig, count: int, url_: str | None, engine: str) -> None:
    """Send N requests; print which private IP answered each, and a count per IP."""
    target = url_ or engine_url(config, engine)
    click.echo(f"GET {target} x {count}")
    results = []
    for n in range(1, count + 1):
        result = lbhits.hit(target)
        results.append(result)
        click.echo(lbhits.format_hit(n, result))
    click.echo("answers per private IP:")
    for line in lbhits.format_counts(lbhits.count(results), len(results)):
        click.echo(line)


@lb.command()
@click.option("--target-group", help="name or ARN  [default: the one behind lab-web]")
@cloud_options
@click.pass_obj
def health(config: LabConfig, target_group: str | None) -> None:
    """Print DescribeTargetHealth: state, reason and description per target."""
    elbv2 = aws.client("elbv2", config)
    try:
        tg_arn = lbnginx.target_group_arn(elbv2, target_group, None)
        described = elbv2.describe_target_health(TargetGroupArn=tg_arn)
    except LookupError as exc:
        raise runtime.LabError(str(exc)) from None
    except (BotoCoreError, ClientError) as exc:
        raise runtime.LabError(f"DescribeTargetHealth failed: {exc}") from None
    for line in format_health(described["TargetHealthDescriptions"]):
        click.echo(line)


def format_health(descriptions: list[dict[str, Any]]) -> list[str]:
    """One line per target, the way the console's Targets tab reads."""
    lines = [f"{'TARGET':22} {'STATE':10} {'REASON':28} DESCRIPTION"]
    for item in descriptions:
        target = item["Target"]
        th = item.get("TargetHealth", {})
        where = f"{target['Id']}:{target.get('Port', '')}"
        lines.append(
            f"{where:22} {th.get('State', '?'):10} {th.get('Reason', '-'):28} "
            f"{th.get('Description', '')}".rstrip()
        )
    if not descriptions:
        lines.append("(no registered targets)")
    return lines


@lb.group()
def nginx() -> None:
    """nginx as the load balancer, configured from the ALB's target group (no active health
    checks: see docs/load-balancers.md)."""


_TG_OPTION = click.option("--target-group", help="name or ARN  [default: the one behind lab-web]")
_LB_OPTION = click.option("--load-balancer", help="take the target group behind this ALB")
_PORT_OPTION = click.option(
    "--port", type=int, default=None, help="port on 127.0.0.1  [default: LAB_NGINX_PORT, 8090]"
)


def _site(
    config: LabConfig, target_group: str | None, load_balancer: str | None, port: int | None
) -> lbnginx.Site:
    elbv2 = aws.client("elbv2", config)
    try:
        tg_arn = lbnginx.target_group_arn(elbv2, target_group, load_balancer)
        return lbnginx.site_from_elbv2(
            elbv2,
            aws.client("ec2", config),
            tg_arn,
            lbnginx.paths_for(config),
            port or config.nginx_port,
        )
    except LookupError as exc:
        raise runtime.LabError(str(exc)) from None
    except (BotoCoreError, ClientError) as exc:
        raise runtime.LabError(f"reading the target group failed: {exc}") from None


def _report(site: lbnginx.Site) -> None:
    servers = ", ".join(f"{s.host}:{s.port}" for s in site.servers) or "none"
    click.echo(
        f"upstream {site.upstream_name}: {servers} (max_fails={site.max_fails}, "
        f"fail_timeout={site.fail_timeout_s}s)"
    )
    for skipped in site.skipped:
        click.echo(f"  left out: {skipped}")


@nginx.command(name="start")
@_TG_OPTION
@_LB_OPTION
@_PORT_OPTION
@cloud_options
@click.pass_obj
def nginx_start(
    config: LabConfig, target_group: str | None, load_balancer: str | None, port: int | None
) -> None:
    """Render the configuration from the target group and start nginx (reload if running)."""
    site = _site(config, target_group, load_balancer, port)
    started = lbnginx.start(config, site)
    _report(site)
    state = "running" if started else "reloaded"
    click.echo(f"nginx {state}: http://{site.listen_host}:{site.listen_port}/")
    click.echo(f"configuration: {site.paths.conf}")


@nginx.command(name="reload")
@_TG_OPTION
@_LB_OPTION
@_PORT_OPTION
@cloud_options
@click.pass_obj
def nginx_reload(
    config: LabConfig, target_group: str | None, load_balancer: str | None, port: int | None
) -> None:
    """Render again (after registrations changed) and reload nginx without dropping requests."""
    site = _site(config, target_group, load_balancer, port or _nginx_port(config))
    lbnginx.reload(config, site)
    _report(site)
    click.echo("nginx reloaded")


@nginx.command(name="stop")
@cloud_options
@click.pass_obj
def nginx_stop(config: LabConfig) -> None:
    """Stop nginx."""
    click.echo("nginx stopped" if lbnginx.stop(config) else "nginx was not running")


@nginx.command(name="config")
@_TG_OPTION
@_LB_OPTION
@_PORT_OPTION
@cloud_options
@click.pass_obj
def nginx_config(
    config: LabConfig, target_group: str | None, load_balancer: str | None, port: int | None
) -> None:
    """Print the configuration nginx would get, without starting anything."""
    click.echo(lbnginx.render(_site(config, target_group, load_balancer, port)), nl=False)


@nginx.command(name="status")
@cloud_options
@click.pass_obj
def nginx_status(config: LabConfig) -> None:
    """Say whether nginx runs, and where."""
    pid = runtime.running_pid(config, lbnginx.PROCESS)
    if pid is None:
        click.echo("nginx: not running")
        raise SystemExit(3)
    click.echo(f"nginx: running (pid {pid}) at http://127.0.0.1:{_nginx_port(config)}/")
