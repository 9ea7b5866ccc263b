"""``lab web``: the web servers behind the load balancer, and the controls lessons use on them."""

from __future__ import annotations

import click

from lab import runtime
from lab.config import LabConfig
from lab.web import fleet, server


def _spec(config: LabConfig, ip: str) -> fleet.ServerSpec:
    spec = fleet.load_spec(config, ip)
    if spec is None:
        if ip in config.web_ips:
            return fleet.ServerSpec(ip, config.web_port)
        raise runtime.LabError(f"no web server {ip} is known; start it with: lab web start {ip}")
    return spec


@click.group()
def web() -> None:
    """Web servers that report their private IP (section 15.1), and their controls."""


@web.command()
@click.option("--ip", default="127.0.0.11", show_default=True, help="loopback address to bind")
@click.option("--port", type=int, default=None, help="port  [default: LAB_WEB_PORT, 8001]")
@click.option("--private-ip", help="address to report, e.g. an instance's 10.0.1.23")
@click.option("--instance-id", help="instance id to show")
@click.option("--name", help="name to show")
@click.option("--health-path", default="/index.html", show_default=True)
@click.pass_obj
def serve(
    config: LabConfig,
    ip: str,
    port: int | None,
    private_ip: str | None,
    instance_id: str | None,
    name: str | None,
    health_path: str,
) -> None:
    """Run one web server in the foreground (Ctrl-C stops it)."""
    try:
        server.run(ip, port or config.web_port, private_ip, instance_id, name, health_path)
    except (ValueError, OSError) as exc:
        raise runtime.LabError(str(exc)) from None


@web.command()
@click.argument("ip")
@click.option("--port", type=int, default=None, help="port  [default: as before, or LAB_WEB_PORT]")
@click.option("--private-ip", help="address to report, e.g. an instance's 10.0.1.23")
@click.option("--instance-id", help="instance id to show")
@click.option("--name", help="name to show")
@click.pass_obj
def start(
    config: LabConfig,
    ip: str,
    port: int | None,
    private_ip: str | None,
    instance_id: str | None,
    name: str | None,
) -> None:
    """Start the web server on IP in the background (again, after `lab web stop`)."""
    known = fleet.load_spec(config, ip)
    spec = fleet.ServerSpec(
        ip,
        port or (known.port if known else config.web_port),
        private_ip or (known.private_ip if known else None),
        instance_id or (known.instance_id if known else None),
        name or (known.name if known else None),
    )
    try:
        outcome = fleet.start(config, spec)
    except ValueError as exc:
        raise runtime.LabError(str(exc)) from None
    click.echo(f"{spec.url} {outcome}")


@web.command()
@click.argument("ip", required=False)
@click.option("--all", "all_", is_flag=True, help="stop every web server")
@click.pass_obj
def stop(config: LabConfig, ip: str | None, all_: bool) -> None:
    """Stop the web server on IP: the process exits, connections are refused."""
    if not ip and not all_:
        raise click.UsageError("name a server (lab web stop 127.0.0.12) or use --all")
    specs = fleet.known_specs(config) if all_ else [_spec(config, ip or "")]
    for spec in specs:
        stopped = fleet.stop(config, spec)
        click.echo(f"{spec.ip}:{spec.port} {'stopped' if stopped else 'was not running'}")


@web.command()
@click.argument("ip")
@click.option("--all-pages", is_flag=True, help="fail every page, not only the health check")
@click.pass_obj
def fail(config: LabConfig, ip: str, all_pages: bool) -> None:
    """Make the server on IP fail its health check (503 on /index.html and /health)."""
    state = fleet.control(_spec(config, ip), {"action": "fail", "all": all_pages})
    click.echo(f"{ip}: {state['state']}")


@web.command()
@click.argument("ip")
@click.pass_obj
def heal(config: LabConfig, ip: str) -> None:
    """Undo `fail` and `slow` on the server on IP."""
    state = fleet.control(_spec(config, ip), {"action": "heal"})
    click.echo(f"{ip}: {state['state']}")


@web.command()
@click.argument("ip")
@click.option("--ms", type=click.IntRange(0, 600_000), required=True, help="delay, 0 ends it")
@click.pass_obj
def slow(config: LabConfig, ip: str, ms: int) -> None:
    """Delay every answer of the server on IP, health checks included, by MS milliseconds."""
    state = fleet.control(_spec(config, ip), {"action": "slow", "ms": ms})
    click.echo(f"{ip}: {state['state']}")


@web.command(name="list")
@click.pass_obj
def list_(config: LabConfig) -> None:
    """Show every web server, what it reports and how it behaves."""
    specs = fleet.known_specs(config)
    if not specs:
        click.echo("no web servers yet: lab up (or lab web start 127.0.0.11)")
        return
    click.echo(f"{'URL':28} {'PRIVATE IP':16} {'SERVED':>7}  STATE")
    for spec in specs:
        state = fleet.status(config, spec)
        served = state.get("served")
        click.echo(
            f"{spec.url:28} {str(state.get('private_ip')):16} "
            f"{'-' if served is None else served:>7}  {state['state']}"
        )
