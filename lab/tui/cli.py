"""``lab tui``: open the TUI on the configured lab, or on a recording."""

from __future__ import annotations

from pathlib import Path

import click

from lab.config import LabConfig


@click.command("tui")
@click.option(
    "--replay",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="play a recording (lab events --record FILE) instead; no lab needed",
)
@click.option(
    "--speed",
    type=click.FloatRange(0.01, 1000),
    default=1.0,
    show_default=True,
    help="with --replay: times faster than it happened",
)
@click.pass_obj
def tui(config: LabConfig, replay: Path | None, speed: float) -> None:
    """The lab on one screen: queues, messages in flight, duplicates and reordering, workers,
    the load balancer and the event log, live (q quits, ? shows every key).

    Quitting leaves the lab running; `lab down` stops it."""
    from lab.tui.app import LabApp
    from lab.tui.sources import LiveSource, ReplaySource

    if replay is not None:
        LabApp(ReplaySource(replay, speed)).run()
        return
    LabApp(LiveSource(config), config).run()
    click.echo(f"the lab is still running at {config.endpoint} (lab down stops it)")
