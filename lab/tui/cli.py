"""``lab tui``: open the TUI on the configured lab, or on a recording."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import click

from lab.config import LabConfig
from lab.targets.options import cloud_options


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
@cloud_options
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
    from lab.tui.actions import stop_started_workers

    # a closed terminal (SIGHUP) ends the TUI as q does: the workers it started stop too
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(129))
    try:
        LabApp(LiveSource(config), config, tour=_first_time(config)).run()
    finally:
        stopped = stop_started_workers(config)
    if stopped:
        click.echo(
            f"asked the {len(stopped)} worker(s) started from the TUI to stop (each finishes "
            "the jobs it holds first)"
        )
    click.echo(f"the lab is still running at {config.endpoint} (lab down stops it)")


def _first_time(config: LabConfig) -> bool:
    """The first ``lab tui`` on this state folder opens on the chapter's steps (``t`` later)."""
    marker = config.state_dir / "tui-toured"
    if marker.exists():
        return False
    config.state_dir.mkdir(parents=True, exist_ok=True)
    marker.touch()
    return True
