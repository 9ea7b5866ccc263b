"""What the chapter's notebooks (``notebooks/``) share: a clean start, the lab's own processes
(workers, the sample-page server) started and stopped from a notebook, reading the event
stream after a mark, and the small sums the plots are made of.

Everything here talks to the running lab (the one ``lab up`` started) through its documented
interfaces: boto3, ``/_lab/chaos`` and ``/_lab/clock`` (``lab.chaos_cli``), the web servers'
control endpoint (``lab.web.fleet``) and the event stream (``lab.events``)::

    from lab.config import LabConfig
    from lab import notebooks as nb

    config = LabConfig.from_env()
    nb.clean(config)                          # queues empty, servers healthy, defaults
    since = nb.mark(config)
    site = nb.pages(config)                 # the sample pages lab up serves
    with nb.workers(config, 2) as names:
        ...
    sent = nb.events_after(config, since, "sqs.send")
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from lab import aws, events, runtime
from lab.chaos_cli import set_chaos, set_speed
from lab.config import LabConfig
from lab.pages import service
from lab.trace.checker import count_inversions
from lab.web import fleet

LAB = str(Path(sys.executable).parent / "lab")


# -- a clean state -------------------------------------------------------------------------


def purge(config: LabConfig) -> dict[str, int]:
    """Empty the URL2PNG queue and its dead-letter queue: PurgeQueue, or, within the 60
    seconds after an earlier purge (SQS allows one a minute), receive and delete what is
    visible. Returns how many messages each queue still said it held before."""
    sqs = aws.client("sqs", config)
    held = {}
    for name in (config.url2png_queue, config.url2png_dlq):
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attrs = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        held[name] = sum(int(v) for v in attrs.values())
        try:
            sqs.purge_queue(QueueUrl=url)
        except sqs.exceptions.PurgeQueueInProgress:
            while True:
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages")
                if not got:
                    break
                sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(got)
                    ],
                )
    return held


def heal_all(config: LabConfig) -> list[str]:
    """Undo ``fail`` and ``slow`` on every web server of the lab; their IPs."""
    healed = []
    for spec in fleet.lab_specs(config):
        fleet.control(spec, {"action": "heal"})
        healed.append(spec.ip)
    return healed


def defaults(config: LabConfig) -> None:
    """The delivery model off and the clock at real time: how ``lab up`` leaves a new lab."""
    set_chaos(config, enabled=False)
    set_speed(config, 1)


def clean(config: LabConfig) -> str:
    """What every notebook starts (and ends) with: queues empty, every web server healthy,
    delivery model off, clock at 1x. A sentence saying so."""
    defaults(config)
    held = purge(config)
    healed = heal_all(config)
    left = ", ".join(f"{name} {n}" for name, n in held.items())
    return (
        f"clean: queues purged (they held {left}), {len(healed)} web servers healed, "
        "delivery model off, clock 1x"
    )


# -- the event stream ----------------------------------------------------------------------


def mark(config: LabConfig) -> int:
    """The newest event id: read "after the mark" to see only what a cell did."""
    return events.fetch(config, limit=1).last_id


def events_after(
    config: LabConfig, since: int, type_prefix: str = "", until: int | None = None
) -> list[events.Event]:
    """Every event after id ``since`` (up to ``until``, or the newest now) whose type starts
    with ``type_prefix``, oldest first, in as many reads as it takes. Raises when the ring
    dropped some of them (LAB_EVENTS_CAPACITY): a count from a partial stream would lie."""
    found: list[events.Event] = []
    cursor = since
    while True:
        batch = events.fetch(config, cursor, type_prefix, events.MAX_LIMIT)
        if batch.missed:
            raise RuntimeError(
                f"the emulator dropped {batch.missed} events before they were read; "
                "raise LAB_EVENTS_CAPACITY or read sooner"
            )
        last = batch.last_id if until is None else until
        found += [e for e in batch.events if int(e["id"]) <= last]
        if not batch.events or batch.next_after >= last:
            return found
        cursor = batch.next_after


def wait_for_event(
    config: LabConfig,
    since: int,
    type_prefix: str,
    match: Callable[[events.Event], bool] = lambda _: True,
    timeout: float = 60.0,
) -> events.Event:
    """The first event after ``since`` of that type for which ``match`` is true, waiting for
    it up to ``timeout`` seconds (real time)."""
    deadline = time.monotonic() + timeout
    cursor = since
    while time.monotonic() < deadline:
        wait = max(0.1, min(5.0, deadline - time.monotonic()))
        batch = events.fetch(config, cursor, type_prefix, events.MAX_LIMIT, wait=wait)
        for event in batch.events:
            if match(event):
                return event
        cursor = batch.next_after
    raise TimeoutError(f"no {type_prefix} event came within {timeout:g} s")


# -- processes a notebook starts -----------------------------------------------------------


def _stop(process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGTERM (a worker finishes its jobs in flight), then SIGKILL if it takes too long."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def pages(config: LabConfig) -> str:
    """The base URL of the lab's sample pages (``/sample/N`` is a fast page, ``/slow?ms=N`` a
    slow one): the server ``lab up`` started, started again if it was stopped, so a notebook
    renders the same pages as ``lab url2png pages`` lists."""
    service.start(config)
    return config.pages_url


@contextlib.contextmanager
def workers(
    config: LabConfig,
    count: int,
    *options: str,
    prefix: str = "w",
    timeout: float = 60.0,
) -> Iterator[list[str]]:
    """``count`` real ``lab worker`` processes (Chromium and all) with ``options``
    (``"--parallel", "2"``, ``"--visibility-timeout", "30"``...) while the block runs: their
    names, once each has said ``worker.started`` on the event stream. Leaving the block stops
    them as Ctrl-C would (jobs in flight are finished first)."""
    since = mark(config)
    tag = f"{prefix}{os.getpid() % 1000}-{int(time.time() * 1000) % 100000}"
    names = [f"{tag}-{i + 1}" for i in range(count)]
    env = {**os.environ, **config.to_env()}
    logs = config.log_dir / "notebook-workers"
    logs.mkdir(parents=True, exist_ok=True)
    started = []
    try:
        for name in names:
            with (logs / f"{name}.log").open("wb") as log:
                # SIGTERM if the kernel dies: a worker finishes its job and goes, not orphaned
                started.append(
                    subprocess.Popen(
                        [*runtime.die_with_parent("TERM"), LAB, "worker", "--name", name, *options],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        waiting = set(names)
        deadline = time.monotonic() + timeout
        while waiting:
            left = deadline - time.monotonic()
            if left <= 0 or any(p.poll() is not None for p in started):
                raise RuntimeError(f"workers {sorted(waiting)} did not start (logs in {logs})")
            event = wait_for_event(config, since, "worker.started", timeout=left)
            since = int(event["id"])
            waiting.discard(str(event.get("worker")))
        yield names
    finally:
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in started:
            _stop(process)


def run_until(
    done: Callable[[], bool], timeout: float, interval: float = 0.25, what: str = "it"
) -> float:
    """Poll ``done`` until true; the seconds it took. Raises after ``timeout``."""
    start = time.monotonic()
    while not done():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{what} did not happen within {timeout:g} s")
        time.sleep(interval)
    return time.monotonic() - start


def finished(config: LabConfig, since: int, count: int) -> Callable[[], bool]:
    """A ``done`` for ``run_until``: ``count`` messages deleted after ``since``."""

    def check() -> bool:
        return len(events_after(config, since, "sqs.delete")) >= count

    return check


# -- sums for the plots --------------------------------------------------------------------


def step_series(times: Sequence[tuple[float, int]], start: float) -> tuple[list[float], list[int]]:
    """A running total of ``(time, +1/-1)`` changes, as x (seconds after ``start``) and y."""
    xs, ys, level = [0.0], [0], 0
    for at, change in sorted(times):
        level += change
        xs.append(at - start)
        ys.append(level)
    return xs, ys


def per_bucket(
    items: Iterable[tuple[float, str]], start: float, end: float, width: float = 1.0
) -> tuple[list[float], dict[str, list[int]]]:
    """Counts per key in buckets of ``width`` seconds from ``start`` to ``end``: where each
    bucket starts (seconds after ``start``) and, per key, a count per bucket."""
    n = max(1, int((end - start) / width + 0.999))
    counts: dict[str, list[int]] = {}
    for at, key in items:
        slot = int((at - start) / width)
        if 0 <= slot < n:
            counts.setdefault(key, [0] * n)[slot] += 1
    return [i * width for i in range(n)], counts


def inversions(order: Sequence[int]) -> int:
    """Pairs that come in the opposite order to their numbers (0: perfectly in order), as
    ``lab trace check`` counts them."""
    return count_inversions(list(order))
