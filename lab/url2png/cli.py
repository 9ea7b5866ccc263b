"""``lab url2png ...``: the producer side of section 15.2 and the tools to follow jobs."""

from __future__ import annotations

import json
import sys

import click

from lab import aws
from lab.config import LabConfig
from lab.runtime import LabError
from lab.targets.options import cloud_options
from lab.url2png import dlq as dead_letters
from lab.url2png import records as rec
from lab.url2png.producer import Producer
from lab.url2png.resources import lookup
from lab.url2png.status import wait as wait_for
from lab.url2png.store import Gallery, JobStore


@click.group("url2png")
def url2png() -> None:
    """URL2PNG (section 15.2): queue URLs, follow the jobs, inspect the dead-letter queue."""


@url2png.command()
@click.argument("urls", nargs=-1, required=True)
@click.option("--wait", is_flag=True, help="show progress until every job is done or failed")
@click.option(
    "--timeout", type=float, default=300.0, show_default=True, help="seconds --wait waits"
)
@click.option(
    "--no-check",
    is_flag=True,
    help="send even URLs no worker will render (to watch poison messages reach the DLQ)",
)
@cloud_options
@click.pass_obj
def submit(config: LabConfig, urls: tuple[str, ...], wait: bool, timeout: float, no_check: bool):
    """Queue URLS for rendering; print where each PNG will appear (section 15.2.4)."""
    sqs, s3 = aws.client("sqs", config), aws.client("s3", config)
    resources = lookup(config, sqs)
    jobs = Producer(sqs, s3, resources).submit(list(urls), check=not no_check)
    for job in jobs:
        click.echo(f"PNG will be soon available at {job.png_url}")
        click.echo(f"  id {job.id}  seq {job.seq}  url {job.url}", err=True)
    if not wait:
        click.echo(f"follow a job with: lab url2png status {jobs[0].id}", err=True)
        return
    store = JobStore(s3, resources.bucket)
    with click.progressbar(length=len(jobs), label="rendering", file=sys.stderr) as bar:
        seen = 0

        def progress(finished: int, total: int) -> None:
            nonlocal seen
            bar.update(finished - seen)
            seen = finished

        results = wait_for(store, [j.id for j in jobs], timeout=timeout, on_progress=progress)
    unfinished = sum(1 for status in results.values() if not status.finished)
    if unfinished:
        click.echo(f"{unfinished} job(s) not finished after {timeout:g} s", err=True)
    failed = 0
    for job in jobs:
        status = results[job.id]
        if status.state == rec.STATE_FAILED or not status.finished:
            status = store.status(job.id)
        if status.state != rec.STATE_DONE:
            failed += 1
        click.echo(f"{job.id}  {rec.describe(status, resources.png_url(job.id))}")
    if failed:
        sys.exit(1)


@url2png.command()
@click.argument("job_ids", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="one JSON object per job")
@cloud_options
@click.pass_obj
def status(config: LabConfig, job_ids: tuple[str, ...], as_json: bool) -> None:
    """Say whether jobs are queued, in flight, done (with the PNG's URL) or failed (why).

    Read from the job's status records in the bucket (status/ID/), so it works from anywhere."""
    store = JobStore(aws.client("s3", config), config.url2png_bucket)
    website = config.website_endpoint(config.url2png_bucket)
    dlq_name = f"the dead-letter queue {config.url2png_dlq}"
    unknown = 0
    for job_id in job_ids:
        state = store.status(job_id)
        unknown += state.state == rec.STATE_UNKNOWN
        png = f"{website}/{job_id}.png"
        if as_json:
            click.echo(json.dumps(rec.as_dict(state, png)))
        else:
            prefix = f"{job_id}  " if len(job_ids) > 1 else ""
            click.echo(prefix + rec.describe(state, png, dlq_name))
    if unknown:
        sys.exit(2)


@url2png.command()
@click.option("--redrive", is_flag=True, help="send the messages back to the url2png queue")
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@cloud_options
@click.pass_obj
def dlq(config: LabConfig, redrive: bool, limit: int) -> None:
    """List the dead-letter queue with the reason for each message; --redrive sends them back."""
    sqs, s3 = aws.client("sqs", config), aws.client("s3", config)
    resources = lookup(config, sqs)
    store = JobStore(s3, resources.bucket)
    if redrive:
        moved = dead_letters.redrive(sqs, store, resources.dlq_url, resources.queue_url, limit)
        for letter in moved:
            click.echo(f"sent back {letter.message_id}  {letter.job_id or '-'}  {letter.reason}")
        click.echo(f"{len(moved)} message(s) sent back to {config.url2png_queue}")
        return
    letters = dead_letters.peek(sqs, store, resources.dlq_url, limit)
    if not letters:
        click.echo(f"{config.url2png_dlq} is empty")
        return
    for letter in letters:
        attempts = f" after {letter.attempts} receives" if letter.attempts else ""
        click.echo(f"{letter.message_id}  job {letter.job_id or '-'}")
        click.echo(f"  body    {_excerpt(letter.body)}")
        click.echo(f"  reason  {letter.kind}{attempts}: {letter.reason}")
    click.echo(f"{len(letters)} message(s); send them back with: lab url2png dlq --redrive")


@url2png.command()
@cloud_options
@click.pass_obj
def gallery(config: LabConfig) -> None:
    """Rebuild the bucket's index.html (workers do it themselves after uploads)."""
    count = Gallery(aws.client("s3", config), config.url2png_bucket).publish()
    click.echo(f"{count} picture(s) at {config.website_endpoint(config.url2png_bucket)}/")


@url2png.command()
@cloud_options
@click.pass_obj
def pages(config: LabConfig) -> None:
    """List the sample pages `lab up` serves (nothing to render needs the internet)."""
    from lab.pages import service

    if not service.answers(config):
        raise LabError(f"the sample pages do not answer at {config.pages_url}/: lab up starts them")
    for url in service.urls(config):
        click.echo(url)
    click.echo(f"submit them with: lab url2png submit {service.urls(config)[0]}")


def _excerpt(body: str, width: int = 100) -> str:
    text = body.replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 3] + "..."
