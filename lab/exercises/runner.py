"""Starting an exercise and checking it: what ``lab exercise start N``, ``lab check N`` and a
notebook's last cell call. A checker's own errors become one sentence in the report (the
traceback only with ``verbose``), so a student never sees a stack trace for a lab that is
down or a resource that is missing."""

from __future__ import annotations

import traceback
from collections.abc import Callable

from lab.config import LabConfig
from lab.exercises.catalog import Exercise, exercise
from lab.exercises.context import Lab, Started, load_started, newest_event, save_started
from lab.exercises.grading import Grader, Report, Stop
from lab.runtime import LabError


def start(number: int, config: LabConfig | None = None, say: Callable[[str], None] = print) -> None:
    """Put the lab in the exercise's starting state, undoing the one before, saying what it
    does as it goes."""
    config = config or LabConfig.from_env()
    chosen = exercise(number)
    _runs_here(chosen, config)
    previous = load_started(config)
    if previous is not None and previous.number != number:
        try:  # best effort: a failure is said, not raised
            undo = getattr(exercise(previous.number).module, "undo", None)
            if undo is not None:
                undo(Lab(config, previous, say))
        except (Stop, LabError) as exc:
            say(f"could not undo exercise {previous.number}: {exc}")
    try:
        chosen.module.start(Lab(config, say=say))
    except Stop as exc:
        raise LabError(str(exc)) from None
    stream_id, since = newest_event(config)
    save_started(config, Started(number, stream_id, since))


def check(
    number: int,
    config: LabConfig | None = None,
    verbose: bool = False,
    say: Callable[[str], None] = print,
) -> Report:
    """Run exercise ``number``'s checker on the lab: a report of every check (``say``: what
    the checker does meanwhile, when it acts on the lab itself)."""
    config = config or LabConfig.from_env()
    chosen = exercise(number)
    _runs_here(chosen, config)
    started = load_started(config)
    lab = Lab(config, started if started and started.number == number else None, say)
    grader = Grader()
    stopped = None
    try:
        chosen.module.check(lab, grader)
    except (Stop, LabError) as exc:
        stopped = str(exc)
    except Exception as exc:  # noqa: BLE001 (a checker's own bug: say so, in one sentence)
        stopped = f"the checker itself failed ({type(exc).__name__}: {exc})"
        if verbose:
            stopped += "\n" + traceback.format_exc()
        else:
            stopped += f"; lab check {number} --verbose shows where"
    return Report(number, _title(chosen), grader.outcomes, stopped)


def _runs_here(chosen: Exercise, config: LabConfig) -> None:
    """On a cloud the exercise's checker was not built for (its ``RUNS_ON``), the exercise is
    refused in one sentence, rather than failing check after check for want of what is not
    there."""
    if config.target == "lab" or config.target in chosen.runs_on:
        return
    where = " and ".join(chosen.runs_on)
    raise LabError(
        f"exercise {chosen.number} does not run on {config.target}: its checker needs what "
        f"only {where} has (the lab's load balancer, web servers, event stream or delivery "
        f"model), so do it there (lab up, then lab check {chosen.number})"
    )


def _title(found: Exercise) -> str:
    return f"{found.title} (section {found.section})"
