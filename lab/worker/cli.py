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
from dataclasses import dataclass

import click

from lab import aws
from lab.config import LabConfig
from lab.runtime import LabError
from lab.url2png.resources import lookup
from lab.worker.loop import Worker, WorkerSettings
from lab.worker.renderer import RENDERERS, make_renderer
from lab.worker.url_policy import UrlPolicy

log = logging.getLogger("lab.worker")


@dataclass(frozen=True)
class WorkerOptions:
    max_messages: int = 1
    visibility_timeout: int = 120
    wait_time: int = 20
    parallel: int = 2
    heartbeat: bool = False
    renderer: str = "pyppeteer"
    render_timeout: float = 30.0
    width: int = 1280
    height: int = 800
    name: str = ""
    gallery: bool = True


async def serve(config: LabConfig, options: WorkerOptions, stop: asyncio.Event) -> Worker:
    """Run one worker until ``stop`` is set; returns it (with its stats) after draining."""
    sqs = aws.client("sqs", config, max_pool_connections=max(10, 4 * options.parallel))
    s3 = aws.client("s3", config, max_pool_connections=max(10, 4 * options.parallel))
    resources = await asyncio.to_thread(lookup, config, sqs)
    try:
        policy = UrlPolicy.from_strings(config.url2png_allow.split(","))
    except ValueError as exc:
        raise LabError(f"LAB_URL2PNG_ALLOW={config.url2png_allow!r}: {exc}") from None
    renderer = make_renderer(options.renderer, parallel=options.parallel, policy=policy)
    name = options.name or f"{socket.gethostname()}:{os.getpid()}"
    settings = WorkerSettings(
        queue_url=resources.queue_url,
        bucket=resources.bucket,
        max_messages=options.max_messages,
        visibility_timeout=options.visibility_timeout,
        wait_time=options.wait_time,
        parallel=options.parallel,
        render_timeout=options.render_timeout,
        heartbeat=options.heartbeat,
        width=options.width,
        height=options.height,
        max_receive=resources.max_receive,
        name=name,
        gallery=options.gallery,
    )
    worker = Worker(sqs, s3, renderer, settings)
    try:
        await renderer.start()
        log.info(
            "ready: worker %s polling %s (max %d messages, visibility %d s, wait %d s, "
            "%d pages at once, heartbeat %s, renderer %s); PNGs to %s/",
            name, resources.queue_url, options.max_messages, options.visibility_timeout,
            options.wait_time, options.parallel, "on" if options.heartbeat else "off",
            options.renderer, resources.website,
        )  # fmt: skip
        await worker.run(stop)
    finally:
        await renderer.close()
    counts = ", ".join(f"{k} {v}" for k, v in sorted(worker.stats.counts.items())) or "nothing"
    log.info("stopped: worker %s handled %s", name, counts)
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
    default=1,
    show_default=True,
    help="MaxNumberOfMessages per receive (the book's worker: 1)",
)
@click.option(
    "--visibility-timeout",
    type=click.IntRange(0, 43200),
    default=120,
    show_default=True,
    help="seconds a received message stays hidden from other workers",
)
@click.option(
    "--wait-time",
    type=click.IntRange(0, 20),
    default=20,
    show_default=True,
    help="WaitTimeSeconds: long polling (0 = short polling, as the book's loop)",
)
@click.option(
    "--parallel",
    type=click.IntRange(1, 32),
    default=2,
    show_default=True,
    help="pages rendered at once in this worker's one browser",
)
@click.option(
    "--heartbeat/--no-heartbeat",
    default=False,
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
    default=30.0,
    show_default=True,
    help="seconds before a page counts as unrenderable",
)
@click.option("--width", type=click.IntRange(16, 4096), default=1280, show_default=True)
@click.option("--height", type=click.IntRange(16, 4096), default=800, show_default=True)
@click.option("--name", default="", help="how this worker signs its events (default host:pid)")
@click.option(
    "--gallery/--no-gallery",
    default=True,
    show_default=True,
    help="keep the bucket's index.html current",
)
@click.option("-v", "--verbose", is_flag=True, help="debug logging")
@click.pass_obj
def worker(config: LabConfig, verbose: bool, **kwargs: object) -> None:
    """Render queued URLs to PNGs (section 15.2.5) until Ctrl-C.

    Receives from the url2png queue, renders with a warm headless Chromium, uploads ID.png
    (public-read) to the website bucket and only then deletes the message. Failures leave the
    message on the queue; after the queue's maxReceiveCount SQS moves it to the dead-letter
    queue (`lab url2png dlq`). Which addresses pages may reach: LAB_URL2PNG_ALLOW."""
    _setup_logging(verbose)
    options = WorkerOptions(**kwargs)  # type: ignore[arg-type]
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
        await serve(config, options, stop)

    asyncio.run(main())
