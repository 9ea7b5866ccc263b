"""Exercise 5 (section 15.2.1): from synchronous to asynchronous. The student completes a small
producer (``producer.py``): ``submit(url)`` queues a job the way the book's ``index.js`` does
and returns its id at once; ``status(id)`` looks the job up. The checker calls both, and runs
one real ``lab worker`` in between to do the job."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from botocore.exceptions import ClientError

from lab.exercises import Grader, Stop
from lab.exercises.context import Lab, from_template, student_file

TITLE = "A producer: queue a job, return its id, look it up"
SECTION = "15.2.1"
RUNS_ON = ("lab",)  # the checker runs a lab worker and reads its steps in the event stream
HERE = Path(__file__).resolve().parent
FILE, TEMPLATE = "producer.py", "producer.template.py"
RENDER_WITHIN = 90.0  # seconds for the checker's worker to finish the job
WORKER = "exercise-5-check"  # how the checker's worker signs its events
FINISHED = ("worker.deleted", "worker.duplicate", "worker.failed")

NOTEBOOK_CELLS = (
    (
        "markdown",
        "## Your producer\n"
        "Fill in the TODOs of `producer.py` (in this folder), then try it here. Nothing renders "
        "the job until a worker runs: `lab worker` in a terminal (Ctrl-C stops it).",
    ),
    (
        "code",
        """import importlib

import producer  # producer.py, next to this notebook

importlib.reload(producer)  # after every edit of producer.py
try:
    job = producer.submit(f"http://127.0.0.11:{producer.CONFIG.web_port}/")
    print(job, producer.status(job))
except NotImplementedError:
    print("fill in the TODOs of producer.py first")""",
    ),
    (
        "code",
        """# after a worker has run: "done: " and the PNG's URL
# producer.status(job)""",
    ),
)


def producer_file() -> Path:
    return student_file(HERE, FILE)


def start(lab: Lab) -> None:
    """producer.py from the template, unless the student's is already there (it is kept); the
    url2png queue emptied, so the checker's worker gets to the student's job at once."""
    mine = from_template(lab, HERE, FILE, TEMPLATE)
    sqs = lab.client("sqs")
    try:
        queue = sqs.get_queue_url(QueueName=lab.config.url2png_queue)["QueueUrl"]
    except ClientError:
        raise Stop(f"there is no queue {lab.config.url2png_queue}: lab up makes it") from None
    sqs.purge_queue(QueueUrl=queue)
    lab.say(f"emptied the queue {lab.config.url2png_queue}")
    lab.say(f"fill in the TODOs of submit and status in {mine}")


# -- calling the student's code ----------------------------------------------------------------


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("student_producer", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _said(what: str, exc: BaseException) -> str:
    """A student's exception, in one sentence."""
    if isinstance(exc, NotImplementedError):
        return f"{what} raised NotImplementedError: fill in the TODO in {FILE}"
    text = str(exc).strip().splitlines()
    return f"{what} raised {type(exc).__name__}" + (f": {text[0]}" if text else "")


def _call(function: Any, *args: Any) -> tuple[Any, str | None]:
    """Its answer, or None and why it raised."""
    name = getattr(function, "__name__", "it")
    try:
        return function(*args), None
    except Exception as exc:  # noqa: BLE001 (the student's code: any exception is a verdict)
        return None, _said(name, exc)


# -- the worker ------------------------------------------------------------------------------


def _run_worker(lab: Lab, message_ids: set[str], after: int) -> list[dict[str, Any]]:
    """One ``lab worker`` until it has finished one of these messages (or RENDER_WITHIN); the
    worker events about them."""
    lab_command = Path(sys.executable).parent / "lab"
    command = [str(lab_command)] if lab_command.exists() else [sys.executable, "-m", "lab.cli"]
    lab.say(f"running a lab worker for your job (up to {RENDER_WITHIN:.0f} s)...")
    worker = subprocess.Popen(
        [*command, "worker", "--name", WORKER, "--parallel", "1", "--wait-time", "1"]
        + ["--no-gallery"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def about() -> list[dict[str, Any]]:
        return [
            event
            for event in lab.events("worker.", after=after)
            if event.get("message_id") in message_ids
        ]

    try:
        lab.wait(lambda: any(e.get("type") in FINISHED for e in about()), RENDER_WITHIN, 0.5)
    finally:
        worker.send_signal(signal.SIGTERM)  # it finishes the job in flight, then stops
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)
    return about()


# -- the checks ------------------------------------------------------------------------------

# (title, points) of what follows a loaded producer.py
CHECKS = (
    ("submit returns a job id", 1),
    ("a message went to the url2png queue", 1),
    ("status says not done while the job waits", 1),
    ("the worker reads your id and URL from the message", 2),
    ("the worker renders the PNG", 1),
    ("status then says done with the PNG's URL", 2),
)


def _not_tried(grade: Grader, checks: tuple[tuple[str, int], ...], first: str) -> None:
    for title, points in checks:
        grade.that(title, False, f"not tried: first {first}", points=points)


def check(lab: Lab, grade: Grader) -> None:
    path = producer_file()
    if not path.is_file():
        raise Stop(f"there is no {path}: lab exercise start 5 makes it from the template")
    try:
        module, why = _load(path), None
    except Exception as exc:  # noqa: BLE001 (the student's code: any exception is a verdict)
        module, why = None, _said(f"loading {FILE}", exc)
    missing = [f for f in ("submit", "status") if not callable(getattr(module, f, None))]
    grade.that(
        f"{FILE} loads",
        module is not None and not missing,
        why or (f"{path} has no function {' or '.join(missing)}" if missing else f"loaded {path}"),
        hint="python producer.py in its folder shows the full error; is the lab up (lab status)?",
    )
    if module is None or missing:
        _not_tried(grade, CHECKS, f"a {FILE} that loads")
        return
    _check_producer(lab, grade, module)


def _check_producer(lab: Lab, grade: Grader, module: ModuleType) -> None:
    sample = f"http://{lab.config.web_ips[0]}:{lab.config.web_port}/"
    mark = lab.mark()
    job_id, why = _call(module.submit, sample)
    grade.that(
        CHECKS[0][0],
        why is None and isinstance(job_id, str) and bool(job_id),
        why or f"submit({sample!r}) returned {job_id!r}",
        hint="return the id you put in the message, as a string (str(uuid.uuid4()))",
        points=CHECKS[0][1],
    )
    if why is not None or not isinstance(job_id, str) or not job_id:
        _not_tried(grade, CHECKS[1:], "a job id from submit")
        return
    queue = lab.config.url2png_queue
    sent = {
        str(e.get("message_id"))
        for e in lab.events("sqs.send", after=mark)
        if e.get("queue") == queue
    }
    grade.that(
        CHECKS[1][0],
        bool(sent),
        f"submit sent {len(sent)} message(s) to the queue {queue}",
        hint="sqs.send_message(QueueUrl=QUEUE_URL, MessageBody=...)",
        expected="one",
        actual=len(sent),
        points=CHECKS[1][1],
    )
    if not sent:
        _not_tried(grade, CHECKS[2:], f"a message on the queue {queue}")
        return
    answer, why = _call(module.status, job_id)
    grade.that(
        CHECKS[2][0],
        why is None and not str(answer).lower().startswith("done"),
        why or f"before any worker ran, status({job_id!r}) returned {answer!r}",
        hint="no PNG is there before a worker renders the page: say so (say, 'pending')",
        points=CHECKS[2][1],
    )
    _check_job(lab, grade, module, job_id, sample, _run_worker(lab, sent, mark))


def _check_job(
    lab: Lab,
    grade: Grader,
    module: ModuleType,
    job_id: str,
    sample: str,
    steps: list[dict[str, Any]],
) -> None:
    received = [e for e in steps if e.get("type") == "worker.received"]
    ids = sorted({str(e["job_id"]) for e in received if e.get("job_id")})
    urls = {str(e.get("url")) for e in steps if e.get("type") == "worker.rendering"}
    poison = [e for e in steps if e.get("type") == "worker.failed" and e.get("kind") == "poison"]
    ours = job_id in ids and sample in urls
    if not received:
        reason = f"the worker did not receive the message within {RENDER_WITHIN:.0f} s"
    elif poison and not ours:
        reason = f"the worker could not read the message: {poison[0].get('reason')}"
    elif job_id not in ids:
        reason = f"the message's id is {', '.join(ids)}, but submit returned {job_id}"
    else:
        reason = f"the worker read id {job_id} and rendered {', '.join(sorted(urls)) or '-'}"
    grade.that(
        CHECKS[3][0],
        ours,
        reason,
        hint='the body is one JSON object: json.dumps({"id": job_id, "url": url})',
        expected=f'{{"id": "{job_id}", "url": "{sample}"}}',
        actual=f"id {', '.join(ids) or '-'}, url {', '.join(sorted(urls)) or '-'}",
        points=CHECKS[3][1],
    )
    key = f"{job_id}.png"
    try:
        lab.client("s3").head_object(Bucket=lab.config.url2png_bucket, Key=key)
        there = True
    except ClientError:
        there = False
    grade.that(
        CHECKS[4][0],
        there,
        f"{key} is {'' if there else 'not '}in the bucket {lab.config.url2png_bucket}",
        hint="the worker names the PNG after the message's id: the same id submit returns",
        points=CHECKS[4][1],
    )
    png = f"{lab.config.website_endpoint(lab.config.url2png_bucket)}/{key}"
    answer, why = _call(module.status, job_id)
    said = str(answer)
    grade.that(
        CHECKS[5][0],
        why is None and said.lower().startswith("done") and png in said,
        why or f"status({job_id!r}) returned {answer!r}",
        hint="look for f'{job_id}.png' in the bucket (s3.head_object); png_url(job_id) is its URL",
        expected=f"done: {png}",
        actual=said if why is None else "an exception",
        points=CHECKS[5][1],
    )
