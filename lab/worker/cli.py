"""``lab worker``: one URL2PNG worker in the foreground. Start as many as you like, in as many
shells (or machines); they share the queue, and any of them may be killed at any time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from dataclasses import MISSING, fields, replace

import click

from lab import aws
from lab.config import LabConfig
from lab.targets.options import cloud_options
from lab.url2png.resources import lookup
from lab.worker.loop import Worker, WorkerSettings
from lab.worker.renderer import RENDERERS, Renderer, make_renderer
from lab.worker.reporting import Reporter, queue_name
from lab.worker.url_policy import UrlPolicy

log = logging.getLogger("lab.worker")


# The worker's defaults live in WorkerSettings; the options below show and use them.
DEFAULTS = {f.name: f.default for f in fields(WorkerSettings) if f.default is not MISSING}


async def serve(
    config: LabConfig,
    options: WorkerSettings,
    stop: asyncio.Event,
    renderer_kind: str = "pyppeteer",
    *,
    renderer: Renderer | None = None,
) -> Worker:
    """Run one worker until ``stop`` is set; returns it (with its stats) after draining.
    ``options`` gives everything but the queue and bucket, which are looked up here.
    ``renderer``: one made elsewhere (a test's fake) instead of a ``renderer_kind``.

    Its steps are reported to the lab's event stream at ``config.endpoint`` (skipped where
    there is none), from ``worker.started`` to ``worker.stopped``."""
    parallel = options.parallel
    sqs = aws.client("sqs", config, max_pool_connections=max(10, 4 * parallel))
    s3 = aws.client("s3", config, max_pool_connections=max(10, 4 * parallel))
    resources = await asyncio.to_thread(lookup, config, sqs)
    policy = UrlPolicy.from_strings(config.url2png_allow.split(","))
    if renderer is None:
        renderer = make_renderer(
            renderer_kind, executable=config.chromium or None, parallel=parallel, policy=policy
        )
    else:
        renderer_kind = type(renderer).__name__
    name = options.name or f"{socket.gethostname()}:{os.getpid()}"
    settings = replace(
        options,
        queue_url=resources.queue_url,
        bucket=resources.bucket,
        max_receive=resources.max_receive,
        name=name,
    )
    # LocalStack answers 200 to any POST, so only the lab's own emulator gets reports.
    reporter = Reporter(config.endpoint if config.has_lab_endpoints else None, name)
    worker = Worker(sqs, s3, renderer, settings, reporter=reporter)
    try:
        await renderer.start()
        reporter.report(
            "started",
            queue=queue_name(resources.queue_url),
            visibility_timeout=settings.visibility_timeout,
            parallel=parallel,
            heartbeat=settings.heartbeat,
            renderer=renderer_kind,
            host=socket.gethostname(),
            pid=os.getpid(),
        )
        log.info(
            "ready: worker %s polling %s (max %d messages, visibility %d s, wait %d s, "
            "%d pages at once, heartbeat %s, renderer %s); PNGs to %s/",
            name, resources.queue_url, settings.max_messages, settings.visibility_timeout,
            settings.wait_time, parallel, "on" if settings.heartbeat else "off",
            renderer_kind, resources.website,
        )  # fmt: skip
        await worker.run(stop)
    finally:
        await renderer.close()
    counts = ", ".join(f"{k} {v}" for k, v in sorted(worker.stats.counts.items())) or "nothing"
    log.info("stopped: worker %s handled %s", name, counts)
    reporter.report("stopped", counts=dict(worker.stats.counts))
    await asyncio.to_thread(reporter.close)  # its last steps reach the stream
    return worker


def _install_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """First SIGINT/SIGTERM: stop receiving, finish the jobs in flight. Second: leave now;
    those messages come back after their visibility timeout, so nothing is lost."""

    def on_signal(signum: int) -> None:
        if stop.is_set():
            log.warning("second %s: leaving now", signal.Signals(signum).name)
            os._exit(128 + signum)
        log.info(
            "%s: finishing the jobs in flight (again to leave at once)",
            signal.Signals(signum).name,
        )
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, on_signal, signum)


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s [worker %(process)d] %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("botocore", "urllib3", "pyppeteer", "websockets", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@click.command("worker")
@click.option(
    "--max-messages",
    type=click.IntRange(1, 10),
    default=DEFAULTS["max_messages"],
    show_default=True,
    help="MaxNumberOfMessages per receive (the book's worker: 1)",
)
@click.option(
    "--visibility-timeout",
    type=click.IntRange(0, 43200),
    default=DEFAULTS["visibility_timeout"],
    show_default=True,
    help="seconds a received message stays hidden from other workers",
)
@click.option(
    "--wait-time",
    type=click.IntRange(0, 20),
    default=DEFAULTS["wait_time"],
    show_default=True,
    help="WaitTimeSeconds: long polling (0 = short polling, as the book's loop)",
)
@click.option(
    "--parallel",
    type=click.IntRange(1, 32),
    default=DEFAULTS["parallel"],
    show_default=True,
    help="pages rendered at once in this worker's one browser",
)
@click.option(
    "--heartbeat/--no-heartbeat",
    default=DEFAULTS["heartbeat"],
    show_default=True,
    help="extend the visibility timeout while a job runs (ChangeMessageVisibility)",
)
@click.option(
    "--renderer",
    type=click.Choice(RENDERERS),
    default="pyppeteer",
    show_default=True,
    help="playwright needs the extra: pip install 'decoupling-lab[playwright]'",
)
@click.option(
    "--render-timeout",
    type=click.FloatRange(0.5, 600),
    default=DEFAULTS["render_timeout"],
    show_default=True,
    help="seconds before a page counts as unrenderable",
)
@click.option(
    "--width", type=click.IntRange(16, 4096), default=DEFAULTS["width"], show_default=True
)
@click.option(
    "--height", type=click.IntRange(16, 4096), default=DEFAULTS["height"], show_default=True
)
@click.option("--name", default="", help="how this worker signs its events (default host:pid)")
@click.option(
    "--gallery/--no-gallery",
    default=DEFAULTS["gallery"],
    show_default=True,
    help="keep the bucket's index.html current",
)
@click.option("-v", "--verbose", is_flag=True, help="debug logging")
@cloud_options
@click.pass_obj
def worker(config: LabConfig, verbose: bool, **kwargs: object) -> None:
    """Render queued URLs to PNGs (section 15.2.5) until Ctrl-C.

    Receives from the url2png queue, renders with a warm headless Chromium, uploads ID.png
    (public-read) to the website bucket and only then deletes the message. Failures leave the
    message on the queue; after the queue's maxReceiveCount SQS moves it to the dead-letter
    queue (`lab url2png dlq`). Which addresses pages may reach: LAB_URL2PNG_ALLOW.

    Each step is reported to the lab's event stream (`lab events --type worker.`, and what
    `lab trace check` reads); against LocalStack or AWS, which have none, nothing is."""
    _setup_logging(verbose)
    renderer_kind = str(kwargs.pop("renderer"))
    options = WorkerSettings(queue_url="", bucket="", **kwargs)  # type: ignore[arg-type]
    if options.render_timeout >= options.visibility_timeout > 0 and not options.heartbeat:
        log.warning(
            "render timeout %.0f s >= visibility timeout %d s without --heartbeat: slow pages "
            "will be delivered twice",
            options.render_timeout,
            options.visibility_timeout,
        )

    async def main() -> None:
        stop = asyncio.Event()
        _install_signals(asyncio.get_running_loop(), stop)
        await serve(config, options, stop, renderer_kind)

    asyncio.run(main())
