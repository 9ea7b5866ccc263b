"""``lab exercise`` and ``lab check``: the graded exercises from a terminal."""

from __future__ import annotations

import json

import click

from lab.config import LabConfig
from lab.targets.options import cloud_options


@click.group("exercise")
def exercise() -> None:
    """The graded exercises of chapter 15, in the chapter's order (exercises/NN-name/)."""


@exercise.command("list")
def list_() -> None:
    """Every exercise: number, section, title, where it runs."""
    from lab.exercises.catalog import all_exercises

    for found in all_exercises():
        click.echo(
            f"{found.number:>2}  {found.section:<7} {found.title}  "
            f"[{', '.join(found.runs_on)}]  exercises/{found.folder.name}/"
        )


@exercise.command("start")
@click.argument("number", type=int)
@cloud_options
@click.pass_obj
def start(config: LabConfig, number: int) -> None:
    """Put the lab in exercise NUMBER's starting state (undoing the previous one)."""
    from lab.exercises.catalog import exercise as find
    from lab.exercises.runner import start as start_exercise

    found = find(number)
    start_exercise(number, config, say=click.echo)
    click.echo(f"exercise {number} started: read exercises/{found.folder.name}/README.md")
    click.echo(f"when you are done: lab check {number}")


@click.command("check")
@click.argument("number", type=int)
@click.option("--json", "as_json", is_flag=True, help="the report as JSON, with points")
@click.option("--verbose", is_flag=True, help="a checker's own error with its traceback")
@cloud_options
@click.pass_obj
def check(config: LabConfig, number: int, as_json: bool, verbose: bool) -> None:
    """Check exercise NUMBER: one line per check, exit status 0 only when all hold."""
    from lab.exercises.runner import check as run_check

    report = run_check(number, config, verbose, say=lambda line: click.echo(line, err=True))
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(str(report))
    raise SystemExit(0 if report.passed else 1)
