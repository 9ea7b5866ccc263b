"""The chapter, step by step, as a student meets it in the lab: what to type (or press in the
TUI), and what to look at. One list for ``lab tour`` in a plain terminal and for the TUI's
start screen (``t``), so both say the same."""

from __future__ import annotations

from dataclasses import dataclass

import click

from lab.config import LabConfig


@dataclass(frozen=True)
class Step:
    section: str
    title: str
    do: str  # the command (or TUI key)
    look: str  # what it shows


STEPS = (
    Step("15.1", "A load balancer in front of web servers", "lab lb hit -n 12",
         "each request answered by one of three web servers, in turn: their private IPs"),
    Step("15.1", "Every private IP, graded", "lab exercise start 1; lab check 1",
         "✓ or ✗ per check, with a hint; exercises 2 to 4: health checks, rules, the stack"),
    Step("15.1", "Health checks", "TUI: f (fail a web server), h (heal it)",
         "the load balancer panel: the target turns unhealthy, no request reaches it"),
    Step("15.2", "URL2PNG: a producer and workers", "TUI: w (start a worker), s (submit URLs)",
         "the queues panel: depth grows and drains; the workers panel: each worker's step"),
    Step("15.2.5", "The visibility timeout", "TUI: k (kill a busy worker with SIGKILL)",
         "the in-flight panel: the message's countdown, then it is delivered again"),
    Step("15.2.6", "Duplicates and order", "TUI: c (the classroom preset), then s",
         "the anomalies panel: duplicates by cause, messages that overtook older ones; enter "
         "shows a message's history"),
    Step("15.2", "Dead letters", "lab exercise start 9",
         "a poison job set aside after 3 tries (lab url2png dlq), fixed, sent back"),
    Step("all", "Notebooks", "lab notebook",
         "the exercises and the chapter's notebooks in Jupyter, with plots"),
)  # fmt: skip


def lines() -> list[str]:
    out = []
    for number, step in enumerate(STEPS, 1):
        out += [
            f"{number}. {step.title} (section {step.section})",
            f"   do:   {step.do}",
            f"   see:  {step.look}",
        ]
    return out


def markdown() -> str:
    rows = "\n".join(f"| {s.section} | {s.title} | `{s.do}` | {s.look} |" for s in STEPS)
    return (
        "# Chapter 15, step by step\n\n| section | step | do | look at |\n|---|---|---|---|\n"
        f"{rows}\n\n`t` shows this again, `?` every key; `escape` closes it."
    )


@click.command("tour")
@click.pass_obj
def tour(config: LabConfig) -> None:
    """The chapter step by step: what to type, and what to look at (the TUI's `t`)."""
    for line in lines():
        click.echo(line)
    click.echo(f"the lab: {config.endpoint} (lab status says what runs)")
