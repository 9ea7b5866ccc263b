"""Exercise 5 (section 15.2.1): from synchronous to asynchronous. The student completes a small
producer (``producer.py``): ``submit(url)`` queues a job the way the book's ``index.js`` does
and returns its id at once; ``status(id)`` looks the job up. The checker calls both, and runs
one real ``lab worker`` in between to do the job.

How the checker sees the message and the worker depends on the cloud. On the lab's own cloud
it reads the event stream: every send and every worker's step, exact, whichever worker took
the message, and with no side effect on the queue. LocalStack has no such stream, so there it
asks SQS and S3 alone: it looks at the queue (a receive that gives the messages straight back)
for what ``submit`` sent, and reads what the worker wrote in the bucket, the job's status
records and the failure record of a message it could not read. The checks and their wording
are the same on both."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from botocore.exceptions import ClientError

from lab.exercises import Grader, Stop
from lab.exercises.context import Lab, from_template, student_file
from lab.url2png import records as rec
from lab.url2png.store import JobStore
from lab.worker.job import ID_PATTERN

TITLE = "A producer: queue a job, return its id, look it up"
SECTION = "15.2.1"
# Where the lab's event stream is not there (LocalStack), the checker needs nothing but SQS and
# S3. Not "aws": untried there (PurgeQueue once a minute, SQS's sampled receives, clock skew).
RUNS_ON = ("lab", "localstack")
HERE = Path(__file__).resolve().parent
FILE, TEMPLATE = "producer.py", "producer.template.py"
PAGE = "/sunrise.html"  # a sample page: lab up serves them on every target, web servers not
RENDER_WITHIN = 90.0  # seconds for the checker's worker to finish the job
WORKER = "exercise-5-check"  # how the checker's worker signs its events
FINISHED = ("worker.deleted", "worker.duplicate", "worker.failed")
PEEK_HOLD = 10  # seconds a message looked at stays hidden, should giving it back fail
# The cloud's clock may be a little behind ours: a message whose SentTimestamp is at most this
# much before the moment submit was called counts as submit's.
CLOCK_SLACK_MS = 2000

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
    job = producer.submit(f"{producer.CONFIG.pages_url}/sunrise.html")
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


@contextlib.contextmanager
def _cloud_in_environment(lab: Lab) -> Iterator[None]:
    """The checker's cloud as ``LAB_*`` variables while the student's module loads: it reads
    ``LabConfig.from_env()`` at import, and ``lab check 5 --target localstack`` names the
    cloud on the command line only, so without this the producer would send to another one."""
    saved = dict(os.environ)
    os.environ.update(lab.config.to_env())
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _load(path: Path, lab: Lab) -> ModuleType:
    spec = importlib.util.spec_from_file_location("student_producer", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    with _cloud_in_environment(lab):
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


# -- what the checker sees: the event stream, or SQS and S3 ------------------------------------

# A worker's step about one message, as the lab's event stream has it: "type" (worker.received,
# worker.rendering, worker.failed, worker.deleted, worker.duplicate), "message_id", and
# "job_id", "url", "kind" and "reason" where the step has them. Read from the bucket on
# LocalStack, in the same shape, so one function judges both.
Step = dict[str, Any]


class View(Protocol):
    """Where the checker reads what ``submit`` sent and what the worker did with it."""

    def sent(self, job_id: str) -> dict[str, str | None]:
        """Message id -> the job id its body names (None where the body names none), of the
        messages on the url2png queue since the view was made."""
        ...

    def steps(self, sent: dict[str, str | None]) -> list[Step]:
        """The workers' steps about these messages so far."""
        ...

    def missing(self) -> str:
        """What to add to "submit sent 0 message(s)": why none may have been seen."""
        ...


class StreamView:
    """The lab's event stream: ``sqs.send`` of every message and ``worker.*`` of every worker,
    after the moment the view was made."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.mark = lab.mark()

    def sent(self, job_id: str) -> dict[str, str | None]:
        queue = self.lab.config.url2png_queue
        return {
            str(e.get("message_id")): None
            for e in self.lab.events("sqs.send", after=self.mark)
            if e.get("queue") == queue
        }

    def steps(self, sent: dict[str, str | None]) -> list[Step]:
        return [
            e for e in self.lab.events("worker.", after=self.mark) if e.get("message_id") in sent
        ]

    def missing(self) -> str:
        return ""


class CloudView:
    """SQS and S3 alone, for a cloud without the lab's event stream (LocalStack). SQS has no
    peek: ``sent`` receives what the queue holds and gives it straight back (visibility 0),
    which counts one receive on each message (harmless from a maxReceiveCount of 2 on). A
    worker of the student's may take the message first; then the job's status records in the
    bucket show it. ``steps`` reads what every lab worker writes in the bucket: the job's
    status records (received, with the URL; done; duplicate) and, for a message it could not
    read, the failure record named after the message id."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.sqs = lab.client("sqs")
        self.store = JobStore(lab.client("s3"), lab.config.url2png_bucket)
        queue = lab.config.url2png_queue
        try:
            self.queue_url = self.sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        except ClientError:
            raise Stop(f"there is no queue {queue}: lab up makes it") from None
        self.since_ms = int(time.time() * 1000) - CLOCK_SLACK_MS
        self._bodies: dict[str, rec.StatusRecord | None] = {}  # records never change

    def sent(self, job_id: str) -> dict[str, str | None]:
        found = {
            m["MessageId"]: _job_id_in(m.get("Body", ""))
            for m in _peek(self.sqs, self.queue_url)
            if int(m.get("Attributes", {}).get("SentTimestamp", 0)) >= self.since_ms
        }
        if found or not ID_PATTERN.fullmatch(job_id):
            return found
        # taken already: a worker wrote what it received under the id submit returned
        return {
            r.message_id: job_id
            for r in self._records(job_id)
            if r.message_id and r.at_ms >= self.since_ms
        }

    def missing(self) -> str:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        flying = int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))
        if not flying:
            return ""
        return (
            f" ({flying} in flight there: if a worker of yours runs, stop it while lab check 5 "
            "runs)"
        )

    def steps(self, sent: dict[str, str | None]) -> list[Step]:
        steps: list[Step] = []
        for message_id, named in sent.items():
            failure = self.store.failure(message_id)
            if failure is not None:
                about = {"message_id": message_id, "job_id": failure.job_id}
                steps.append({"type": "worker.received", **about})
                kind, reason = failure.kind, failure.reason
                steps.append({"type": "worker.failed", **about, "kind": kind, "reason": reason})
            for job_id in {named, failure.job_id if failure else None} - {None}:
                for record in self._records(str(job_id)):
                    if record.message_id == message_id:
                        steps += _steps_of(record)
        return steps

    def _records(self, job_id: str) -> list[rec.StatusRecord]:
        """The job's status records with their bodies (the message id and URL are there)."""
        if not ID_PATTERN.fullmatch(job_id):
            return []  # no worker writes records for an id that cannot be a key
        found = []
        for named in self.store.records(job_id):
            if named.key not in self._bodies:
                self._bodies[named.key] = self.store.read_record(named.key)
            body = self._bodies[named.key]
            if body is not None:
                found.append(body)
        return found


def _job_id_in(body: str) -> str | None:
    """The id a message's body names, as the worker reads it (None: none it could use)."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    job_id = data.get("id") if isinstance(data, dict) else None
    return job_id if isinstance(job_id, str) else None


def _steps_of(record: rec.StatusRecord) -> list[Step]:
    """The worker's steps a status record of one delivery stands for."""
    about = {"message_id": record.message_id, "job_id": record.job_id}
    if record.kind == rec.RECEIVED:
        return [
            {"type": "worker.received", **about},
            {"type": "worker.rendering", **about, "url": record.url},
        ]
    if record.kind == rec.DONE:
        return [{"type": "worker.deleted", **about}]
    if record.kind == rec.DUPLICATE:
        return [{"type": "worker.received", **about}, {"type": "worker.duplicate", **about}]
    return []  # error, failed: the failure record says why


def _peek(sqs: Any, queue_url: str, limit: int = 100) -> list[dict[str, Any]]:
    """The messages visible on the queue now (up to ``limit``), each given straight back."""
    seen: dict[str, dict[str, Any]] = {}
    try:
        while len(seen) < limit:
            reply = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=PEEK_HOLD,
                WaitTimeSeconds=0 if seen else 1,
                AttributeNames=["SentTimestamp"],
            )
            fresh = [m for m in reply.get("Messages", []) if m["MessageId"] not in seen]
            if not fresh:
                break
            seen.update((m["MessageId"], m) for m in fresh)
    finally:
        handles = [m["ReceiptHandle"] for m in seen.values()]
        for first in range(0, len(handles), 10):
            with contextlib.suppress(ClientError):  # else they come back after PEEK_HOLD
                sqs.change_message_visibility_batch(
                    QueueUrl=queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                        for i, handle in enumerate(handles[first : first + 10])
                    ],
                )
    return list(seen.values())


def view_of(lab: Lab) -> View:
    """The event stream where the cloud has it (exact, no side effect), else SQS and S3."""
    return StreamView(lab) if lab.config.has_lab_endpoints else CloudView(lab)


# -- the worker ------------------------------------------------------------------------------


def _run_worker(lab: Lab, about: Callable[[], list[Step]]) -> list[Step]:
    """One ``lab worker`` on the checker's cloud until ``about`` shows one of the messages
    finished (or RENDER_WITHIN); then ``about`` once more."""
    lab_command = Path(sys.executable).parent / "lab"
    command = [str(lab_command)] if lab_command.exists() else [sys.executable, "-m", "lab.cli"]
    lab.say(f"running a lab worker for your job (up to {RENDER_WITHIN:.0f} s)...")
    worker = subprocess.Popen(
        [*command, "worker", "--name", WORKER, "--parallel", "1", "--wait-time", "1"]
        + ["--no-gallery"],
        env={**os.environ, **lab.config.to_env()},  # the cloud lab check was given
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
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
        module, why = _load(path, lab), None
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


def _sample_page(lab: Lab) -> str:
    """The page the checker submits: a sample page, which must answer for the worker to
    render it (else every later check would fail for a reason not the student's)."""
    url = lab.config.pages_url + PAGE
    try:
        status, _ = lab.get(url, timeout=3)
    except Stop:
        status = 0
    if status != 200:
        raise Stop(
            f"the sample pages do not answer at {lab.config.pages_url}/, so no worker could "
            "render your job: lab up starts them (lab status says whether they run)"
        )
    return url


def _check_producer(lab: Lab, grade: Grader, module: ModuleType) -> None:
    sample = _sample_page(lab)
    view = view_of(lab)
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
    sent = view.sent(job_id)
    grade.that(
        CHECKS[1][0],
        bool(sent),
        f"submit sent {len(sent)} message(s) to the queue {queue}"
        + ("" if sent else view.missing()),
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
    _check_job(lab, grade, module, job_id, sample, _run_worker(lab, lambda: view.steps(sent)))


def _check_job(
    lab: Lab,
    grade: Grader,
    module: ModuleType,
    job_id: str,
    sample: str,
    steps: list[Step],
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
