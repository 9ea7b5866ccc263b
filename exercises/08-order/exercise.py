"""Exercise 8 (section 15.2.6): order. A standard queue does not keep the order of sends; the
lab's delivery model makes that happen every time (seed 8). The student's ``Orderer`` gets the
events as they come and must apply them in order; or the student makes a FIFO queue, whose
message group keeps the order. The checker measures both orders from the event stream."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import time
from pathlib import Path

from lab.exercises import Grader, Stop
from lab.exercises.context import Lab, delivery_model, from_template, student_file
from lab.trace.checker import check_queue, count_inversions
from lab.trace.history import fold

TITLE = "Order: events applied in the order they were sent"
SECTION = "15.2.6"
RUNS_ON = ("lab",)  # the reordering comes from the lab's delivery model
FOLDER = Path(__file__).resolve().parent
ORDERER, TEMPLATE = "orderer.py", "orderer.template.py"
QUEUE, FIFO = "exercise-8", "exercise-8.fifo"
EVENTS, SEED, IDLE = 20, 8, 3.0
REORDER = {"reorder": 0.8, "reorder_window": 20}

NOTEBOOK_CELLS = (
    ("markdown", "## Your orderer\nEdit `orderer.py` (in this folder), then run the checker."),
    ("code", 'from pathlib import Path\n\nprint(Path("orderer.py").read_text())'),
)


def orderer_file() -> Path:
    return student_file(FOLDER, ORDERER)


def start(lab: Lab) -> None:
    lab.client("sqs").create_queue(QueueName=QUEUE)
    from_template(lab, FOLDER, ORDERER, TEMPLATE)
    lab.say(f"or make a FIFO queue {FIFO}: then the checker sends there, with one message group")


def _load(grade: Grader) -> type | None:
    path = orderer_file()
    try:
        spec = importlib.util.spec_from_file_location("student_orderer", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found = module.Orderer
    except Exception as exc:  # noqa: BLE001 (the student's file: say what is wrong)
        grade.that("orderer.py loads", False, f"{path}: {type(exc).__name__}: {exc}")
        return None
    grade.that("orderer.py loads", True, f"{path}")
    return found


def _queue(lab: Lab) -> tuple[str, bool]:
    sqs = lab.client("sqs")
    for name, fifo in ((FIFO, True), (QUEUE, False)):
        try:
            return sqs.get_queue_url(QueueName=name)["QueueUrl"], fifo
        except sqs.exceptions.QueueDoesNotExist:
            continue
    raise Stop(f"there is no queue {QUEUE} or {FIFO}: lab exercise start 8")


def check(lab: Lab, grade: Grader) -> None:
    orderer_class = _load(grade)
    url, fifo = _queue(lab)
    name = FIFO if fifo else QUEUE
    sqs = lab.client("sqs")
    while found := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in found:  # a run before left some: start from nothing
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    mark = lab.mark()
    applied: list[int] = []
    error = None
    reordering = (
        delivery_model(lab, QUEUE, SEED, **REORDER) if not fifo else contextlib.nullcontext()
    )
    with reordering:  # a FIFO queue gets none: the model leaves FIFO queues alone
        for seq in range(EVENTS):
            extra = {"MessageGroupId": "account-1", "MessageDeduplicationId": f"{mark}-{seq}"}
            body = json.dumps({"account": "account-1", "seq": seq, "amount": 10})
            sqs.send_message(QueueUrl=url, MessageBody=body, **(extra if fifo else {}))
        orderer = (
            orderer_class(lambda event: applied.append(int(event["seq"])))
            if orderer_class
            else None
        )
        last = time.monotonic()
        while time.monotonic() - last < IDLE:
            reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in reply.get("Messages", []):
                last = time.monotonic()
                if orderer is not None and error is None:
                    try:
                        orderer.receive(json.loads(message["Body"]))
                    except Exception as exc:  # noqa: BLE001
                        error = f"receive raised {type(exc).__name__}: {exc}"
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    report = check_queue(fold(lab.events("sqs.", after=mark), name), name)
    grade.that(
        "a FIFO queue kept the order" if fifo else "the queue delivered them out of order",
        report.inversions == 0 if fifo else report.inversions > 0,
        f"{name} delivered {report.inversions} pair(s) of events in the opposite order to their "
        "sends" + (" (a FIFO queue keeps a message group's order)" if fifo else ""),
    )
    inversions = count_inversions(applied)
    missing = sorted(set(range(EVENTS)) - set(applied))
    twice = len(applied) - len(set(applied))
    grade.that(
        "apply saw every event once, in order",
        error is None and applied == list(range(EVENTS)),
        error or f"apply got {len(applied)} event(s): {_short(applied)}",
        hint="an event may arrive before the ones sent earlier, even in another receive: keep it "
        "until its turn (a dict by seq, and the next seq expected), or use a FIFO queue",
        expected=f"0 to {EVENTS - 1} in order",
        actual=f"{inversions} pair(s) out of order, {len(missing)} missing, {twice} twice",
        points=3,
    )


def _short(values: list[int], shown: int = 12) -> str:
    return str(values[:shown]) + (" ..." if len(values) > shown else "")
