"""``lab``: the one command students and teachers type.

Commands of their own modules are imported when they run (``COMMANDS``), so ``lab up`` starts
the emulator before boto3 and the rest are even loaded, and ``lab tui`` loads no worker."""

from __future__ import annotations

import contextlib
import importlib
import shlex
import sys

import click

from lab import runtime, targets
from lab.config import ConfigError, LabConfig
from lab.targets import embedded
from lab.targets.options import CONFIG_KEY, cloud_options

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
        except Exception as exc:
            sentence = _unreachable_cloud(exc, ctx)
            if sentence is None:
                raise
            click.secho(f"lab: {sentence}", fg="red", err=True)
            sys.exit(1)


def _unreachable_cloud(exc: Exception, ctx: click.Context) -> str | None:
    """A cloud that does not answer, or AWS without credentials, in any command: one sentence
    instead of boto3's traceback (botocore is only looked at if a command loaded it)."""
    errors = sys.modules.get("botocore.exceptions")
    if errors is None:
        return None
    config = ctx.meta.get(CONFIG_KEY) or ctx.find_object(LabConfig) or LabConfig()
    if isinstance(exc, errors.NoCredentialsError):
        return (
            "no AWS credentials found: --target aws uses your own (aws configure, or "
            "AWS_PROFILE / AWS_ACCESS_KEY_ID)"
        )
    if isinstance(exc, (errors.EndpointConnectionError, errors.ConnectTimeoutError)):
        then = {
            "lab": "start it with `lab up`",
            "compose": "start it with `lab up --target compose`",
            "localstack": "is LocalStack running? (lab status --target localstack)",
            "aws": "is this machine online?",
        }[config.target]
        return f"the cloud does not answer at {config.endpoint}: {then}"
    return None


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
@click.option("--yes", is_flag=True, help="--target aws: create without asking first")
@click.option(
    "--dry-run", is_flag=True, help="--target aws: list what it would create, and create nothing"
)
@cloud_options
@click.pass_context
def up(ctx: click.Context, then_tui: bool, yes: bool, dry_run: bool) -> None:
    """Start the lab's cloud and create what the chapter runs on it (the local cloud unless
    --target says otherwise).

    With --target aws it says what it creates and what that costs, and asks first."""
    tui = then_tui and sys.stdin.isatty() and sys.stdout.isatty()
    costly = _costly_options(ctx.obj, dry_run, yes=yes)
    targets.of(ctx.obj).up(ctx.obj, click.echo, _load_tui if tui else None, **costly)
    if tui:
        ctx.invoke(main.get_command(ctx, "tui"))  # type: ignore[arg-type]


def _load_tui() -> None:
    """Import what ``lab tui`` runs (Textual and the app), so that it opens at once; an import
    that fails here fails again, and is reported, when the TUI opens."""
    with contextlib.suppress(Exception):
        importlib.import_module("lab.tui.app")
        importlib.import_module("lab.tui.sources")


def _costly_options(config: LabConfig, dry_run: bool, **more: bool) -> dict[str, bool]:
    """``--dry-run`` (and ``--yes``) are for real AWS, the one target that costs money."""
    if config.target == "aws":
        return {"dry_run": dry_run, **more}
    if dry_run:
        raise runtime.LabError(
            f"--dry-run is for --target aws, where resources cost money; on {config.target} "
            "nothing is billed, so just run it"
        )
    return {}


@main.command()
@click.option(
    "--dry-run", is_flag=True, help="--target aws: list what it would delete, and delete nothing"
)
@cloud_options
@click.pass_obj
def down(config: LabConfig, dry_run: bool) -> None:
    """Stop everything `lab up` started (the local cloud's state stays in the state folder).

    With --target aws: delete what `lab up --target aws` made, and nothing else."""
    targets.of(config).down(config, click.echo, **_costly_options(config, dry_run))


@main.command()
@cloud_options
@click.pass_obj
def status(config: LabConfig) -> None:
    """Say what is running (exit status 3 when the cloud is not)."""
    if not targets.of(config).status(config, click.echo):
        sys.exit(3)


@main.command()
@cloud_options
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
    was_running = embedded.down(config, click.echo)
    runtime.reset_state(config)
    click.echo(f"emptied {config.state_dir}")
    if was_running:
        click.echo("starting again, empty:")
        embedded.up(config, click.echo)
