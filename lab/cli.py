"""``lab``: the one command students and teachers type.

Commands of their own modules are imported when they run (``COMMANDS``), so ``lab up`` starts
the emulator before boto3 and the rest are even loaded, and ``lab tui`` loads no worker."""

from __future__ import annotations

import contextlib
import importlib
import shlex
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import click

from lab import runtime
from lab.config import ConfigError, LabConfig

# name -> "module:attribute" of the commands (and groups) kept in modules of their own
COMMANDS = {
    "web": "lab.web.cli:web",
    "lb": "lab.lb.cli:lb",
    "stack": "lab.stack.cli:stack",
    "url2png": "lab.url2png.cli:url2png",
    "worker": "lab.worker.cli:worker",
    "events": "lab.events_cli:events",
    "trace": "lab.trace.cli:trace",
    "chaos": "lab.chaos_cli:chaos",
    "clock": "lab.chaos_cli:clock",
    "tui": "lab.tui.cli:tui",
    "exercise": "lab.exercises.cli:exercise",
    "check": "lab.exercises.cli:check",
    "notebook": "lab.notebook_cli:notebook",
    "tour": "lab.tour:tour",
}


class LabGroup(click.Group):
    """Prints ``LabError`` as one line instead of a traceback; loads ``COMMANDS`` when asked
    for them."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attribute = COMMANDS[cmd_name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return self.commands.get(cmd_name)

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
@click.option(
    "--tui",
    "then_tui",
    is_flag=True,
    hidden=True,
    help="then, when stdin and stdout are a terminal, open `lab tui` (what `make lab` does; "
    "in one process, the TUI loads while the local cloud starts)",
)
@click.pass_context
def up(ctx: click.Context, then_tui: bool) -> None:
    """Start the local cloud (and everything the lab runs on it)."""
    tui = then_tui and sys.stdin.isatty() and sys.stdout.isatty()
    bring_up(ctx.obj, preload=_load_tui if tui else None)
    if tui:
        ctx.invoke(main.get_command(ctx, "tui"))  # type: ignore[arg-type]


def _load_tui() -> None:
    """Import what ``lab tui`` runs (Textual and the app), so that it opens at once; an import
    that fails here fails again, and is reported, when the TUI opens."""
    with contextlib.suppress(Exception):
        importlib.import_module("lab.tui.app")
        importlib.import_module("lab.tui.sources")


def _clients(config: LabConfig) -> dict[str, Any]:
    from lab import aws

    return {name: aws.client(name, config) for name in ("sqs", "s3", "ec2", "elbv2")}


def bring_up(config: LabConfig, preload: Callable[[], None] | None = None) -> None:
    """The local cloud, then the chapter's resources on it, created through AWS APIs.

    The emulator's start is the longest step, so it begins first; while it loads, the web
    servers start and boto3 loads (then ``preload`` runs), on threads. What is printed, and in
    which order, is as if each step waited for the one before."""
    launched = runtime.launch_emulator(config)
    from lab.lb import up as lbup
    from lab.pages import service as pages
    from lab.url2png import resources as url2png_resources

    with ThreadPoolExecutor(4, thread_name_prefix="lab-up") as pool:
        servers = pool.submit(lbup.start_web_servers, config)
        sample_pages = pool.submit(pages.start, config)
        clients = pool.submit(_clients, config)
        if preload is not None:
            pool.submit(preload)
        try:
            health = runtime.wait_for_emulator(config, launched)
            click.echo(f"local cloud running at {config.endpoint} (state in {config.state_dir})")
            click.echo("services: " + ", ".join(health["services"]))
            made = clients.result()
            resources = url2png_resources.ensure(config, made["sqs"], made["s3"])
            click.echo(url2png_resources.summary(resources))
            click.echo(
                f"sample pages at {config.pages_url}/ ({sample_pages.result()}; "
                "lab url2png pages lists them)"
            )
        except BaseException:
            _stop_started(config, servers)
            raise
        click.echo("point any AWS client at it with:  eval $(lab env)")
        lbup.bring_up(config, click.echo, servers.result(), (made["ec2"], made["elbv2"]))


def _stop_started(config: LabConfig, servers: Any) -> None:
    """A step before the web servers' line failed: stop the servers this call started early
    (beside the emulator), as if it had not come to them yet."""
    from lab.web import fleet

    try:
        outcomes = servers.result()
    except runtime.LabError:
        return
    for spec in fleet.lab_specs(config):
        if outcomes.get(spec.ip) == fleet.STARTED:
            fleet.stop(config, spec)


@main.command()
@click.pass_obj
def down(config: LabConfig) -> None:
    """Stop everything `lab up` started. State stays in the state folder."""
    stopped = _stop_all(config)
    click.echo("local cloud stopped" if stopped else "local cloud was not running")


def _stop_all(config: LabConfig) -> bool:
    """What ``lab up`` started, stopped (web servers, sample pages, the emulator); whether
    the emulator was running."""
    from lab.lb import up as lbup
    from lab.pages import service as pages

    lbup.bring_down(config, click.echo)
    if pages.stop(config):
        click.echo("sample pages stopped")
    return runtime.stop(config, "emulator")


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
    was_running = _stop_all(config)
    runtime.reset_state(config)
    click.echo(f"emptied {config.state_dir}")
    if was_running:
        click.echo("starting again, empty:")
        bring_up(config)
