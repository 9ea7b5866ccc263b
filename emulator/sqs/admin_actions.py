"""The queue owner's actions beyond messages: AddPermission and RemovePermission (the console's
"Access policy") and the three message move task actions (its "Start DLQ redrive").

Like ``service``, this layer only translates: ``params`` reads the request, ``permissions`` and
``move_tasks`` decide, and the replies are shaped here under the API's member names. A policy
edit is stored through SetQueueAttributes' own path (``SqsEngine.set_attributes``), so it is
checked, saved with the queue and survives a restart as every queue attribute does."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from emulator.sqs import params as read
from emulator.sqs import permissions
from emulator.sqs.engine import SqsEngine
from emulator.sqs.move_tasks import LIST_RESULTS, RATE, RUNNING, MoveTask
from emulator.sqs.params import Params
from emulator.sqs.replies import Reply

Handler = Callable[[Params, str], Reply]


def actions(engine: SqsEngine) -> dict[str, Handler]:
    """The handlers, by action name, in the form ``SqsService.actions`` holds them."""
    return {
        "AddPermission": partial(add_permission, engine),
        "RemovePermission": partial(remove_permission, engine),
        "StartMessageMoveTask": partial(start_message_move_task, engine),
        "ListMessageMoveTasks": partial(list_message_move_tasks, engine),
        "CancelMessageMoveTask": partial(cancel_message_move_task, engine),
    }


# -- permissions ----------------------------------------------------------------------------


def add_permission(engine: SqsEngine, params: Params, base_url: str) -> Reply:
    name = read.queue_name(params)
    queue = engine.queue(name)
    policy = permissions.add_permission(
        queue.attributes.get("Policy"),
        queue.arn,
        read.string(params, "Label"),
        read.str_list(params, "AWSAccountIds"),
        read.str_list(params, "Actions"),
    )
    engine.set_attributes(name, {"Policy": policy})
    return {}


def remove_permission(engine: SqsEngine, params: Params, base_url: str) -> Reply:
    """Removing the last statement removes the Policy attribute, as AWS does."""
    name = read.queue_name(params)
    queue = engine.queue(name)
    policy = permissions.remove_permission(
        queue.attributes.get("Policy"), read.string(params, "Label")
    )
    engine.set_attributes(name, {"Policy": policy or ""})
    return {}


# -- message move tasks ---------------------------------------------------------------------


def task_entry(task: MoveTask) -> Reply:
    """One ListMessageMoveTasks result. Optional members appear only as the API reference
    says: the handle while RUNNING, the destination and rate only if the start named them, the
    reason only if FAILED (as recorded on AWS); the start time in epoch milliseconds."""
    entry: Reply = {}
    if task.status == RUNNING:
        entry["TaskHandle"] = task.handle
    entry["Status"] = task.status
    entry["SourceArn"] = task.source_arn
    if task.destination_arn is not None:
        entry["DestinationArn"] = task.destination_arn
    if task.rate is not None:
        entry["MaxNumberOfMessagesPerSecond"] = task.rate
    entry["ApproximateNumberOfMessagesMoved"] = task.moved
    entry["ApproximateNumberOfMessagesToMove"] = task.to_move
    if task.failure_reason:
        entry["FailureReason"] = task.failure_reason
    entry["StartedTimestamp"] = int(task.started_at * 1000)
    return entry


def start_message_move_task(engine: SqsEngine, params: Params, base_url: str) -> Reply:
    task = engine.move_tasks.start(
        read.required_string(params, "SourceArn"),
        read.string(params, "DestinationArn") or None,
        read.integer(params, "MaxNumberOfMessagesPerSecond", RATE),
    )
    return {"TaskHandle": task.handle}


def list_message_move_tasks(engine: SqsEngine, params: Params, base_url: str) -> Reply:
    limit = read.integer(params, "MaxResults", LIST_RESULTS) or LIST_RESULTS.lo
    tasks = engine.move_tasks.recent(read.required_string(params, "SourceArn"), limit)
    return {"Results": [task_entry(task) for task in tasks]}


def cancel_message_move_task(engine: SqsEngine, params: Params, base_url: str) -> Reply:
    task = engine.move_tasks.cancel(read.required_string(params, "TaskHandle"))
    return {"ApproximateNumberOfMessagesMoved": task.moved}
