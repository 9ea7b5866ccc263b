"""``lab``: the one command students and teachers type."""

from __future__ import annotations

import shlex
import sys

import click

from lab import runtime
from lab.chaos_cli import chaos, clock
from lab.config import ConfigError, LabConfig
from lab.events_cli import events
from lab.lb import up as lbup
from lab.lb.cli import lb
from lab.stack.cli import stack
from lab.trace.cli import trace
from lab.tui.cli import tui
from lab.url2png import resources as url2png_resources
from lab.url2png.cli import url2png
from lab.web.cli import web
from lab.worker.cli import worker


class LabGroup(click.Group):
    """Prints ``LabError`` as one line instead of a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except runtime.LabError as exc:
            click.secho(f"lab: {exc}", fg="red", err=True)
            sys.exit(1)


@click.group(cls=LabGroup)
@click.pass_context
def main(ctx: click.Context) -> None:
    """Decoupling Lab: load balancers and queues from chapter 15, on this machine."""
    try:
        ctx.obj = LabConfig.from_env()
    except ConfigError as exc:
        raise runtime.LabError(str(exc)) from None


@main.command()
@click.pass_obj
def up(config: LabConfig) -> None:
    """Start the local cloud (and everything the lab runs on it)."""
    bring_up(config)


def bring_up(config: LabConfig) -> None:
    """The local cloud, then the chapter's resources on it, created through AWS APIs."""
    health = runtime.start_emulator(config)
    click.echo(f"local cloud running at {config.endpoint} (state in {config.state_dir})")
    click.echo("services: " + ", ".join(health["services"]))
    click.echo(url2png_resources.summary(url2png_resources.ensure(config)))
    click.echo("point any AWS client at it with:  eval $(lab env)")
    lbup.bring_up(config, click.echo)


@main.command()
@click.pass_obj
def down(config: LabConfig) -> None:
    """Stop everything `lab up` started. State stays in the state folder."""
    lbup.bring_down(config, click.echo)
    stopped = runtime.stop(config, "emulator")
    click.echo("local cloud stopped" if stopped else "local cloud was not running")


@main.command()
@click.pass_obj
def status(config: LabConfig) -> None:
    """Say what is running."""
    health = runtime.emulator_health(config)
    if not health:
        click.echo(f"local cloud: not running (expected at {config.endpoint})")
        sys.exit(3)
    click.echo(f"local cloud: running at {config.endpoint}")
    for name, state in health["services"].items():
        click.echo(f"  {name:22} {state}")
    speed = (health.get("clock") or {}).get("speed", 1)
    click.echo(f"clock: {'real time' if speed == 1 else f'{speed:g}x faster (lab clock)'}")
    on = (health.get("chaos") or {}).get("enabled")
    click.echo(f"delivery model: {'on (lab chaos status)' if on else 'off'}")


@main.command()
@click.pass_obj
def env(config: LabConfig) -> None:
    """Print the exports a shell needs: eval $(lab env)."""
    for name, value in config.aws_env().items():
        click.echo(f"export {name}={shlex.quote(value)}")


@main.command()
@click.option("--yes", is_flag=True, help="do not ask")
@click.pass_obj
def reset(config: LabConfig, yes: bool) -> None:
    """Empty the state folder: queues, messages, buckets, stacks. Restarts what was running."""
    if not yes:
        click.confirm(f"Delete everything in {config.state_dir}?", abort=True)
    lbup.bring_down(config, click.echo)
    was_running = runtime.stop(config, "emulator")
    runtime.reset_state(config)
    click.echo(f"emptied {config.state_dir}")
    if was_running:
        click.echo("starting again, empty:")
        bring_up(config)


main.add_command(web)
main.add_command(lb)
main.add_command(stack)


main.add_command(url2png)
main.add_command(worker)
main.add_command(events)
main.add_command(trace)
main.add_command(chaos)
main.add_command(clock)
main.add_command(tui)
