"""Exercise 9 (section 15.2): dead letters. A job whose page cannot be rendered keeps coming
back; with a dead-letter queue and maxReceiveCount 3 it is set aside after three attempts,
and after its cause is fixed it is moved back and rendered."""

from __future__ import annotations

import json
from typing import Any

from lab.exercises import Grader, Stop
from lab.exercises.context import Lab
from lab.url2png import resources
from lab.url2png.producer import producer
from lab.url2png.status import get as job_status
from lab.web import fleet

TITLE = "Dead letters: set a poison job aside after 3 tries, then bring it back"
SECTION = "15.2"
RUNS_ON = ("lab",)  # it stops one of the lab's web servers, the poison job's cause
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
        raise Stop("the URL2PNG queues are not there: start the lab with lab up") from None


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
    fleet.stop(lab.config, broken)
    [job] = producer(lab.config).submit([broken.url])
    (lab.config.state_dir / STATE).write_text(
        json.dumps({"id": job.id, "message_id": job.message_id, "url": broken.url})
    )
    lab.say(f"submitted job {job.id}: {broken.url}, a web server that is down")
    lab.say("run a worker (lab worker) and watch the job fail, again and again")


def undo(lab: Lab) -> None:
    resources.ensure(lab.config)  # the queue's own dead-letter queue again
    for ip in lab.config.web_ips:
        fleet.start(lab.config, fleet.ServerSpec(ip, lab.config.web_port))
    lab.say(f"{lab.config.url2png_queue}: its dead-letter queue again; every web server up")


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
    moved = [
        e
        for e in lab.events("sqs.dead_letter")
        if e.get("message_id") == poison["message_id"]
        and e.get("queue") == lab.config.url2png_queue
    ]
    receives = [e for e in lab.events("sqs.receive") if e.get("message_id") == poison["message_id"]]
    grade.that(
        "the poison job went to the dead-letter queue",
        bool(moved),
        f"its message was received {len(receives)} time(s) and "
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
