"""A killed worker loses nothing (section 15.2): 200 jobs, 3 `lab worker` processes, one of them
killed with SIGKILL every few seconds and replaced. Every PNG arrives exactly once as an object,
every status ends done, duplicate deliveries are counted, the dead-letter queue stays empty, and
no killed worker leaves its Chromium behind."""

from __future__ import annotations

import random
import re
import time

import pytest

from lab.pages.server import generated_colours
from lab.url2png import gallery as gal
from lab.url2png import records as rec
from lab.url2png.producer import Producer
from lab.url2png.store import Gallery
from tests.support.png import close_to, decode
from tests.url2png.conftest import (
    LabCloud,
    WorkerProcess,
    chromium_children_of,
    make_cloud,
    needs_chromium,
)

pytestmark = [needs_chromium, pytest.mark.slow]

JOBS = 200
WORKERS = 3
KILL_EVERY = 4.0  # seconds
MAX_KILLS = 12
WIDTH, HEIGHT = 400, 250  # small pages: the test is about the queue, not the browser
ARGS = [
    "--visibility-timeout", "12", "--wait-time", "1", "--parallel", "2",
    "--render-timeout", "8", "--width", str(WIDTH), "--height", str(HEIGHT),
]  # fmt: skip


def test_workers_killed_every_few_seconds_lose_nothing(emulator, tmp_path, pages, workers):
    cloud: LabCloud = make_cloud(emulator, tmp_path)  # maxReceiveCount 3, as `lab up`
    started = time.monotonic()
    serial = iter(range(1000))

    def start_worker() -> WorkerProcess:
        worker = cloud.worker(*ARGS, name=f"w{next(serial)}")
        workers.append(worker)
        return worker

    live = [start_worker() for _ in range(WORKERS)]
    jobs = Producer(cloud.sqs, cloud.s3, cloud.resources).submit(
        [pages.url(f"/sample/{n}") for n in range(JOBS)]
    )
    ids = {job.id: n for n, job in enumerate(jobs)}
    rng = random.Random(15)
    killed: list[WorkerProcess] = []
    next_kill = time.monotonic() + KILL_EVERY
    deadline = time.monotonic() + 180
    while len(cloud.pngs()) < JOBS:
        assert time.monotonic() < deadline, f"{len(cloud.pngs())} of {JOBS} PNGs after 180 s"
        if time.monotonic() >= next_kill and len(killed) < MAX_KILLS:
            victim = rng.choice(live)
            victim.kill9()
            killed.append(victim)
            live.remove(victim)
            live.append(start_worker())
            next_kill = time.monotonic() + KILL_EVERY
        time.sleep(0.25)
    rendered_after = time.monotonic() - started

    # Jobs whose worker died between the upload and its "done" finish when their message comes
    # back (one visibility timeout later) and is acknowledged as a duplicate.
    deadline = time.monotonic() + 45
    while True:
        statuses = cloud.store.statuses(ids)
        pending = {i: s.state for i, s in statuses.items() if s.state != rec.STATE_DONE}
        if not pending:
            break
        assert time.monotonic() < deadline, f"not done: {pending}"
        time.sleep(1)

    assert cloud.pngs() == {f"{job_id}.png" for job_id in ids}
    for job_id, n in list(ids.items())[:: JOBS // 10]:  # real pixels, a sample of them
        body = cloud.s3.get_object(Bucket=cloud.resources.bucket, Key=f"{job_id}.png")["Body"]
        image = decode(body.read())
        assert (image.width, image.height) == (WIDTH, HEIGHT)
        assert close_to(image.pixel(WIDTH - 10, 10), generated_colours(n)[0])
    deadline = time.monotonic() + 20
    while cloud.queue_counts(cloud.resources.queue_url) != (0, 0):
        assert time.monotonic() < deadline, cloud.queue_counts(cloud.resources.queue_url)
        time.sleep(0.5)
    assert cloud.queue_counts(cloud.resources.dlq_url) == (0, 0)

    # duplicates: counted in the statuses and in the workers' logs (killed workers' too)
    in_status = sum(s.duplicates for s in statuses.values())
    logs = "".join(w.text() for w in workers)
    in_logs = len(re.findall(r"duplicate job=", logs))
    # a worker killed after recording a duplicate but before logging it: at most one per kill
    assert in_logs <= in_status <= in_logs + len(killed), (in_logs, in_status)

    # no killed worker left its browser running
    orphans = {w.pid: chromium_children_of(w.pid) for w in killed}
    assert not any(orphans.values()), orphans

    # the idle workers bring the gallery to all 200 pictures
    gallery = Gallery(cloud.s3, cloud.resources.bucket)
    deadline = time.monotonic() + 20
    while gallery.published_fingerprint() != gal.fingerprint(gallery.entries()):
        assert time.monotonic() < deadline, "gallery did not converge"
        time.sleep(0.5)
    assert len(gallery.entries()) == JOBS

    print(
        f"\n{JOBS} jobs, {len(killed)} workers killed, {in_status} duplicate deliveries, "
        f"all PNGs after {rendered_after:.1f} s, all done after {time.monotonic() - started:.1f} s"
    )
