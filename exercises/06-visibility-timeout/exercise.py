"""Exercise 6 (section 15.2.5): the visibility timeout. A page takes 3 seconds to render; a
worker that hides the message for only 2 seconds lets another worker receive it again while
the first still renders it. The checker runs two real workers with the student's settings
(``worker.json``) on 20 slow jobs and counts, from the event stream, the duplicates a
visibility timeout caused."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from lab.exercises import Grader
from lab.exercises.context import Lab, from_template, student_file
from lab.runtime import child_env, lab_command
from lab.trace.checker import TIMEOUT, TIMEOUT_WHILE_WORKING, check_queue
from lab.trace.history import fold
from lab.url2png.producer import producer
from lab.url2png.status import get as job_status

TITLE = "Visibility timeout: no duplicates from a timeout that runs out mid-render"
SECTION = "15.2.5"
RUNS_ON = ("lab",)
FOLDER = Path(__file__).resolve().parent
SETTINGS, START = "worker.json", "worker.start.json"
JOBS = 20
PAGE_MS = 3000  # a slow page: longer than the starting visibility timeout
WORKERS = 2
WITHIN = 120.0  # seconds for the 20 jobs

NOTEBOOK_CELLS = (
    (
        "markdown",
        "## The worker's settings\nThe checker runs two workers with what `worker.json` says.",
    ),
    (
        "code",
        """import json
from pathlib import Path

settings = Path("worker.json")
json.loads(settings.read_text())""",
    ),
    (
        "code",
        """# TODO: no duplicates caused by a visibility timeout that runs out while a page renders
# settings.write_text(json.dumps({"visibility_timeout": ..., "heartbeat": ...}))""",
    ),
)


def settings_file() -> Path:
    return student_file(FOLDER, SETTINGS)


def start(lab: Lab) -> None:
    from_template(lab, FOLDER, SETTINGS, START)
    lab.say(f"the checker renders {JOBS} pages of {PAGE_MS / 1000:g} s with {WORKERS} workers")


def _read(grade: Grader) -> dict[str, Any] | None:
    path = settings_file()
    try:
        found = json.loads(path.read_text())
        timeout, heartbeat = int(found["visibility_timeout"]), bool(found.get("heartbeat"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        grade.that(
            "worker.json can be read",
            False,
            f"{path}: {exc}",
            hint='it holds {"visibility_timeout": SECONDS, "heartbeat": true or false}',
        )
        return None
    grade.that(
        "worker.json can be read",
        0 <= timeout <= 43200,
        f"{path}: visibility timeout {timeout} s, heartbeat {'on' if heartbeat else 'off'}",
        hint="a visibility timeout is 0 to 43,200 seconds",
    )
    return {"visibility_timeout": timeout, "heartbeat": heartbeat}


def check(lab: Lab, grade: Grader) -> None:
    settings = _read(grade)
    if settings is None:
        for title, points in RUN:
            grade.that(
                title, False, "not tried: first a worker.json the checker can read", points=points
            )
        return
    argv = [
        *lab_command(), "worker", "--visibility-timeout", str(settings["visibility_timeout"]),
        "--wait-time", "1", "--parallel", "2", "--no-gallery",
    ]  # fmt: skip
    if settings["heartbeat"]:
        argv.append("--heartbeat")
    lab.say(f"running {WORKERS} workers on {JOBS} pages of {PAGE_MS / 1000:g} s each...")
    mark = lab.mark()
    workers = [
        subprocess.Popen(
            [*argv, "--name", f"exercise-6-{n}"],
            env=child_env(lab.config),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for n in range(1, WORKERS + 1)
    ]
    try:
        urls = [f"{lab.config.pages_url}/slow?ms={PAGE_MS}&job={n}" for n in range(JOBS)]
        jobs = producer(lab.config).submit(urls)
        done, took = lab.wait(
            lambda: all(job_status(j.id, lab.config)["state"] == "done" for j in jobs), WITHIN, 1.0
        )
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
    finished = sum(job_status(j.id, lab.config)["state"] == "done" for j in jobs)
    grade.that(
        RUN[0][0],
        bool(done),
        f"{finished} of {JOBS} jobs done"
        + (f" in {took:.0f} s" if done else f" within {WITHIN:g} s"),
        hint="a visibility timeout of 0 lets every worker take every message at once",
        expected=JOBS,
        actual=finished,
    )
    ids = {j.message_id for j in jobs}
    history = fold(lab.events("sqs.", "worker.", after=mark), lab.config.url2png_queue)
    report = check_queue(history, lab.config.url2png_queue)
    extra = [x for x in report.extra if x.message_id in ids]
    timeouts = [x for x in extra if x.cause in (TIMEOUT_WHILE_WORKING, TIMEOUT)]
    named = ", ".join(sorted({(x.job_id or x.message_id)[:8] for x in timeouts})[:5])
    grade.that(
        RUN[1][0],
        not timeouts,
        f"{len(extra)} extra deliveries, {len(timeouts)} of them because a visibility "
        "timeout ran out while a worker rendered" + (f" (jobs {named}...)" if timeouts else ""),
        hint=f"a page takes {PAGE_MS / 1000:g} s: hide the message longer than a render takes, "
        "or let the worker extend it while it works (heartbeat)",
        expected="0 duplicates caused by timeouts",
        actual=len(timeouts),
        points=3,
    )


# (title, points) of what the checker runs
RUN = (("20 slow jobs are done", 1), ("no duplicates caused by a visibility timeout", 3))
