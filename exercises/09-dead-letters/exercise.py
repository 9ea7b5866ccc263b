"""Exercise 9 (section 15.2): dead letters. A job whose page cannot be rendered keeps coming
back; with a dead-letter queue and maxReceiveCount 3 it is set aside after three attempts,
and after its cause is fixed it is moved back and rendered.

The poison job's cause is the web server 127.0.0.13 down: a process on this machine, which a
worker on this machine reaches whatever the cloud. On the lab's own cloud ``lab up`` starts it
and the exercise stops it; on LocalStack ``lab up`` starts no web servers, so it is down
already, and ``lab web start 127.0.0.13`` fixes the cause there too.

Whether the job went to the dead-letter queue is read from the lab's event stream where there
is one (the ``sqs.dead_letter`` of its message, exact, whoever received it); on LocalStack
from SQS and S3 alone: the job's status records in the bucket (how often a worker received
its message, and whether it came back under a new message id, which only a move back from the
dead-letter queue gives it) and, failing that, the dead-letter queue itself."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import EndpointConnectionError

from lab.exercises import Grader, Stop
from lab.exercises.context import Lab
from lab.url2png import records as rec
from lab.url2png import resources
from lab.url2png.dlq import peek
from lab.url2png.producer import producer
from lab.url2png.status import get as job_status
from lab.url2png.store import JobStore
from lab.web import fleet

TITLE = "Dead letters: set a poison job aside after 3 tries, then bring it back"
SECTION = "15.2"
# SQS, S3 and a web server on this machine where the lab's event stream is not there
# (LocalStack). Not "aws": untried there.
RUNS_ON = ("lab", "localstack")
MAX_RECEIVE = 3
BROKEN = 2  # the third web server (127.0.0.13) is stopped: the poison job's page
STATE = "exercise-09.json"  # the poison job start submitted

NOTEBOOK_CELLS = (
    ("markdown", "## The queue's dead-letter settings\nRead them, then set a RedrivePolicy."),
    (
        "code",
        """from lab import aws
from lab.config import LabConfig

config = LabConfig.from_env()
sqs = aws.client("sqs", config)
url = sqs.get_queue_url(QueueName=config.url2png_queue)["QueueUrl"]
dlq = sqs.get_queue_url(QueueName=config.url2png_dlq)["QueueUrl"]
sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])""",
    ),
    (
        "code",
        """# TODO: a RedrivePolicy with the dead-letter queue's ARN and maxReceiveCount 3
# found = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
# arn = found["Attributes"]["QueueArn"]
# import json
# sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps({...})})
# then: run a worker (lab worker), watch the job fail three times, fix its cause
# (lab web start 127.0.0.13) and move it back (lab url2png dlq --redrive)""",
    ),
)


def _queue_urls(lab: Lab) -> tuple[str, str]:
    sqs = lab.client("sqs")
    try:
        return (
            sqs.get_queue_url(QueueName=lab.config.url2png_queue)["QueueUrl"],
            sqs.get_queue_url(QueueName=lab.config.url2png_dlq)["QueueUrl"],
        )
    except sqs.exceptions.QueueDoesNotExist:
        there = "the URL2PNG queues are not there"
        raise Stop(f"{there}: start the lab with lab up{_on(lab)}") from None
    except EndpointConnectionError:
        raise Stop(
            f"the cloud does not answer at {lab.config.endpoint}: is it running? "
            f"(lab status{_on(lab)})"
        ) from None


def _on(lab: Lab) -> str:
    """`` --target NAME`` for a command in a sentence, where the target is not the lab."""
    target = lab.config.target
    return "" if target == "lab" else f" --target {target}"


def _poison(lab: Lab) -> dict[str, Any] | None:
    try:
        return json.loads((lab.config.state_dir / STATE).read_text())
    except (OSError, ValueError):
        return None


def start(lab: Lab) -> None:
    queue, _ = _queue_urls(lab)
    lab.client("sqs").set_queue_attributes(QueueUrl=queue, Attributes={"RedrivePolicy": ""})
    lab.say(f"{lab.config.url2png_queue} has no dead-letter queue now (no RedrivePolicy)")
    broken = fleet.ServerSpec(lab.config.web_ips[BROKEN], lab.config.web_port)
    was_running = fleet.stop(lab.config, broken)
    if _answers(lab, broken.url)[0]:
        raise Stop(
            f"{broken.url} still answers after stopping this lab's web server there: a "
            "process this lab did not start serves it; stop it, or give the lab another port "
            "(LAB_WEB_PORT)"
        )
    [job] = producer(lab.config).submit([broken.url])
    (lab.config.state_dir / STATE).write_text(
        json.dumps(
            {
                "id": job.id,
                "message_id": job.message_id,
                "url": broken.url,
                "was_running": was_running,
            }
        )
    )
    lab.say(f"submitted job {job.id}: {broken.url}, a web server that is down")
    lab.say("run a worker (lab worker) and watch the job fail, again and again")


def undo(lab: Lab) -> None:
    """The queue's own dead-letter queue again, and the web servers as ``lab up`` has them:
    all of them on the lab's own cloud; elsewhere the one this exercise stopped, if it ran."""
    resources.ensure(lab.config)
    if lab.config.target == "lab":
        specs = [fleet.ServerSpec(ip, lab.config.web_port) for ip in lab.config.web_ips]
        said = "every web server up"
    else:
        poison = _poison(lab) or {}
        broken = fleet.ServerSpec(lab.config.web_ips[BROKEN], lab.config.web_port)
        specs = [broken] if poison.get("was_running") else []
        said = f"web server {broken.ip} up again" if specs else "no web server changed"
    for spec in specs:
        fleet.start(lab.config, spec)
    lab.say(f"{lab.config.url2png_queue}: its dead-letter queue again; {said}")


def check(lab: Lab, grade: Grader) -> None:
    queue, dlq = _queue_urls(lab)
    sqs = lab.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["RedrivePolicy"])
    policy = json.loads(attrs.get("Attributes", {}).get("RedrivePolicy") or "{}")
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    count = int(policy.get("maxReceiveCount", 0) or 0)
    grade.that(
        "the queue has a dead-letter queue",
        policy.get("deadLetterTargetArn") == dlq_arn,
        f"{lab.config.url2png_queue}'s RedrivePolicy: {json.dumps(policy) if policy else 'none'}",
        hint=f'set RedrivePolicy to {{"deadLetterTargetArn": "{dlq_arn}", '
        f'"maxReceiveCount": "{MAX_RECEIVE}"}} (aws sqs set-queue-attributes ...)',
        expected=f"deadLetterTargetArn {dlq_arn}",
        actual=policy.get("deadLetterTargetArn") or "none",
    )
    grade.that(
        f"a job gets {MAX_RECEIVE} tries",
        count == MAX_RECEIVE,
        f"maxReceiveCount is {count or 'not set'}",
        hint="too low and a short outage loses jobs to the dead-letter queue; too high and a "
        "poison job keeps a worker busy",
        expected=MAX_RECEIVE,
        actual=count or "not set",
    )
    poison = _poison(lab)
    if poison is None:
        raise Stop("no poison job was submitted: lab exercise start 9")
    if lab.config.has_lab_endpoints:
        moved, receives = _dead_letter_in_stream(lab, poison)
    else:
        moved, receives = _dead_letter_in_cloud(lab, poison, dlq)
    grade.that(
        "the poison job went to the dead-letter queue",
        bool(moved),
        f"its message was received {receives} time(s) and "
        + ("moved to the dead-letter queue" if moved else "is not in the dead-letter queue"),
        hint="with the policy set, run a worker (lab worker --visibility-timeout 5 makes the "
        "retries quick) until the job has failed three times",
        points=2,
    )
    ip = lab.config.web_ips[BROKEN]
    status, _ = _answers(lab, poison["url"])
    grade.that(
        "its cause is fixed",
        status == 200,
        f"{poison['url']} " + ("answers" if status == 200 else "does not answer"),
        hint=f"the page's web server is down: lab web start {ip}",
    )
    state = job_status(poison["id"], lab.config)
    done = state.get("state") == "done"
    grade.that(
        "it was moved back and rendered",
        done,
        f"job {poison['id']} is {state.get('state')}"
        + (f": {state.get('reason')}" if state.get("reason") and not done else ""),
        hint="send the dead letters back (lab url2png dlq --redrive) after the fix, with a "
        "worker running",
        expected="done",
        actual=state.get("state"),
        points=2,
    )


def _answers(lab: Lab, url: str) -> tuple[int, str]:
    try:
        return lab.get(url, timeout=3)
    except Stop:
        return 0, ""


def _dead_letter_in_stream(lab: Lab, poison: dict[str, Any]) -> tuple[bool, int]:
    """Whether SQS moved the poison job's message to the dead-letter queue, and how often it
    was received, from the lab's event stream."""
    moved = [
        e
        for e in lab.events("sqs.dead_letter")
        if e.get("message_id") == poison["message_id"]
        and e.get("queue") == lab.config.url2png_queue
    ]
    receives = [e for e in lab.events("sqs.receive") if e.get("message_id") == poison["message_id"]]
    return bool(moved), len(receives)


def _dead_letter_in_cloud(lab: Lab, poison: dict[str, Any], dlq: str) -> tuple[bool, int]:
    """The same from SQS and S3 alone. How often: the highest receive count a worker recorded
    for the message. Moved: the job came back under another message id (a move back from the
    dead-letter queue sends it anew: ``lab url2png dlq --redrive`` records that as requeued,
    StartMessageMoveTask does not), or it is in the dead-letter queue now (SQS keeps the
    MessageId when it sets a message aside; a redrive before the fix puts the job there again
    under its new one)."""
    store = JobStore(lab.client("s3"), lab.config.url2png_bucket)
    records = [store.read_record(r.key) for r in store.records(poison["id"])]
    mine = [r for r in records if r is not None]
    original = poison["message_id"]
    receives = max((r.receive_count for r in mine if r.message_id == original), default=0)
    back = any(r.kind == rec.REQUEUED or r.message_id not in (None, original) for r in mine)
    if back:
        return True, receives
    letters = peek(lab.client("sqs"), store, dlq)
    return any(d.message_id == original or d.job_id == poison["id"] for d in letters), receives
