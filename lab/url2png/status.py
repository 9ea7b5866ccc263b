"""Looking up jobs by id (section 15.2.1), from the status records in the bucket: the same
answer from any shell, notebook or machine, and from real AWS."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from lab import aws
from lab.config import LabConfig
from lab.url2png import records as rec
from lab.url2png.store import JobStore


def get(job_id: str, config: LabConfig | None = None) -> dict[str, object]:
    """For notebooks: one job's status as a dict (state, receive_count, duplicates, reason,
    png_url...)."""
    config = config or LabConfig.from_env()
    store = JobStore(aws.client("s3", config), config.url2png_bucket)
    status = store.status(job_id)
    png = f"{config.website_endpoint(config.url2png_bucket)}/{job_id}.png"
    return rec.as_dict(status, png)


def wait_all(
    job_ids: Iterable[str], config: LabConfig | None = None, timeout: float = 300.0
) -> dict[str, dict[str, object]]:
    """For notebooks: block until the jobs are finished (or ``timeout``), then their statuses
    as ``get`` gives them."""
    config = config or LabConfig.from_env()
    store = JobStore(aws.client("s3", config), config.url2png_bucket)
    ids = list(job_ids)
    wait(store, ids, timeout=timeout)
    return {job_id: get(job_id, config) for job_id in ids}


def wait(
    store: JobStore,
    job_ids: Iterable[str],
    timeout: float = 300.0,
    interval: float = 0.5,
    on_progress: Callable[[int, int], Any] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Any] = time.sleep,
) -> dict[str, rec.JobStatus]:
    """Poll until every job is finished (done, or failed for good) or ``timeout`` passes.
    Finished jobs are not asked again, so the cost falls as the batch completes.
    ``on_progress(finished, total)`` is called after each round."""
    pending = list(dict.fromkeys(job_ids))
    total = len(pending)
    results: dict[str, rec.JobStatus] = {}
    deadline = clock() + timeout
    while True:
        for job_id, status in store.statuses(pending).items():
            results[job_id] = status
        pending = [i for i in pending if not results[i].finished]
        if on_progress is not None:
            on_progress(total - len(pending), total)
        if not pending or clock() >= deadline:
            return results
        sleep(interval)
