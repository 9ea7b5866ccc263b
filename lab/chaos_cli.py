"""``lab chaos`` and ``lab clock``: make SQS's rare behaviour happen on purpose, and time run
faster, through the emulator's documented endpoints (``/_lab/chaos``, ``/_lab/clock``).

Section 15.2.6 of the chapter: "a single message will be available for consumption twice";
"SQS doesn't guarantee the order of messages"; a dead worker's message "will become available
for consumption after 2 minutes". ``lab chaos on`` makes the first two frequent; ``lab clock
--speed 20`` turns the two minutes into six seconds."""

from __future__ import annotations

from typing import Any

import click

from lab import endpoints
from lab.config import LabConfig
from lab.targets.options import cloud_options

CHAOS = "/_lab/chaos"
CLOCK = "/_lab/clock"
WHAT_CHAOS = "delivery model (lab chaos)"
WHAT_CLOCK = "clock control (lab clock)"


def chaos_state(config: LabConfig) -> dict[str, Any]:
    return endpoints.call_json(config, CHAOS, what=WHAT_CHAOS)


def set_chaos(config: LabConfig, **settings: Any) -> dict[str, Any]:
    """For notebooks too: ``set_chaos(config, enabled=True, preset="classroom", seed=7)``."""
    body = {k: v for k, v in settings.items() if v is not None}
    return endpoints.call_json(config, CHAOS, what=WHAT_CHAOS, body=body)


def clock_state(config: LabConfig) -> dict[str, Any]:
    return endpoints.call_json(config, CLOCK, what=WHAT_CLOCK)


def set_speed(config: LabConfig, speed: float) -> dict[str, Any]:
    return endpoints.call_json(config, CLOCK, what=WHAT_CLOCK, body={"speed": speed})


def _effects(settings: dict[str, Any]) -> str:
    parts = []
    if settings.get("duplicate"):
        low, high = settings["duplicate_after"]
        parts.append(f"duplicates {settings['duplicate']:.0%} (after {low:g}-{high:g} s)")
    if settings.get("reorder"):
        parts.append(f"reordering {settings['reorder']:.0%} (window {settings['reorder_window']})")
    low, high = settings.get("delay") or (0, 0)
    if high:
        parts.append(f"extra delay {low:g}-{high:g} s")
    if settings.get("sampling"):
        parts.append("short polls sampled")
    return ", ".join(parts) or "nothing"


def describe(state: dict[str, Any]) -> list[str]:
    """What ``lab chaos status`` prints."""
    lines = [
        f"delivery model: {'on' if state['enabled'] else 'off'} (seed {state['seed']})",
    ]
    if state.get("default"):
        lines.append(f"  every standard queue: {_effects(state['default'])}")
    for name, settings in sorted((state.get("queues") or {}).items()):
        lines.append(f"  {name}: {_effects(settings)}")
    for name, settings in sorted((state.get("in_force") or {}).items()):
        if name.endswith(".fifo"):
            lines.append(f"  {name}: nothing (FIFO)")
        elif state["enabled"]:
            lines.append(f"  now on {name}: {_effects(settings) if settings else 'nothing'}")
    lines.append("  " + state.get("fifo", ""))
    return lines


@click.group("chaos")
def chaos() -> None:
    """The delivery model: duplicates, reordering, delays and sampling on standard queues."""


@chaos.command("on")
@click.option("--queue", default=None, help="only this queue (default: every standard queue)")
@click.option(
    "--preset",
    default=None,
    help="start from a named setting: classroom, realistic, duplicates, reordering "
    "[default: classroom when no effect is given]",
)
@click.option("--seed", type=int, default=None, help="the same seed and calls: the same effects")
@click.option(
    "--duplicate", type=float, default=None, help="probability a delivery is delivered again"
)
@click.option("--reorder", type=float, default=None, help="probability a receive skips ahead")
@click.option("--delay", default=None, help="extra delay of each send, MIN-MAX seconds")
@click.option("--sampling/--no-sampling", default=None, help="short polls return a sample")
@cloud_options
@click.pass_obj
def chaos_on(config: LabConfig, queue: str | None, **effects: Any) -> None:
    """Switch the delivery model on (settings survive lab down / lab up)."""
    state = set_chaos(config, enabled=True, queue=queue, **effects)
    for line in describe(state):
        click.echo(line)


@chaos.command("off")
@click.option("--queue", default=None, help="only this queue's own settings")
@cloud_options
@click.pass_obj
def chaos_off(config: LabConfig, queue: str | None) -> None:
    """Switch the delivery model off: each message once, oldest first."""
    state = set_chaos(config, enabled=False, queue=queue)
    for line in describe(state):
        click.echo(line)


@chaos.command("status")
@cloud_options
@click.pass_obj
def chaos_status(config: LabConfig) -> None:
    """What the delivery model injects, on which queues."""
    for line in describe(chaos_state(config)):
        click.echo(line)


@click.command("clock")
@click.option(
    "--speed",
    type=click.FloatRange(1, 100),
    default=None,
    help="how many times faster than real time the emulator's clock runs (1 to 100)",
)
@cloud_options
@click.pass_obj
def clock(config: LabConfig, speed: float | None) -> None:
    """Show or set the emulator's clock speed: at 20x the book's 120-second visibility
    timeout runs out in 6 seconds, while workers and clients keep real time."""
    state = set_speed(config, speed) if speed is not None else clock_state(config)
    click.echo(_speed_line(state["speed"]))


def _speed_line(speed: float) -> str:
    if speed == 1:
        return "clock: real time (1x)"
    return f"clock: {speed:g}x (120 s of visibility timeout last {120 / speed:g} s)"
