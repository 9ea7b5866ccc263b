"""Render throughput: the lab's warm workers against a browser started once per page.

The book's worker (node-webshot) started a headless browser for every message. The lab's
workers keep one Chromium warm and render several pages in it at once. This script measures
both in one run on the lab's local sample pages, so the ratio is fair on a loaded machine:

* warm: ``--workers`` renderer instances (one Chromium each, ``--parallel`` pages at a time),
  pulling URLs from one shared queue, as workers pull from SQS.
* cli: ``chromium --headless --screenshot`` started once per page, ``--cli-parallel`` at a
  time (default: as many as there are workers, i.e. the book's design with the same number of
  workers).

Until the SQS engine exists, the warm side runs the renderer instances in this one process
with an in-memory queue instead of ``lab worker`` processes polling SQS; the output says so.

    .venv/bin/python bench/render_throughput.py            # 100 pages each
    .venv/bin/python bench/render_throughput.py --pages 20 # quick
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import struct
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab.pages.server import BackgroundPageServer  # noqa: E402
from lab.worker.renderer import CHROMIUM_FLAGS, PyppeteerRenderer, find_browser  # noqa: E402

WIDTH, HEIGHT = 1280, 800


@dataclass
class Result:
    name: str
    pages: int
    seconds: float
    failures: int

    @property
    def rate(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


def png_size(data: bytes) -> tuple[int, int]:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return struct.unpack(">II", data[16:24])


async def bench_warm(urls: list[str], workers: int, parallel: int, executable: str) -> Result:
    renderers = [
        PyppeteerRenderer(executable=executable, parallel=parallel) for _ in range(workers)
    ]
    queue: asyncio.Queue[str] = asyncio.Queue()
    failures = 0

    async def slot(renderer: PyppeteerRenderer) -> None:
        nonlocal failures
        while True:
            try:
                url = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            try:
                data = await renderer.render(url, WIDTH, HEIGHT, timeout=30)
                if png_size(data) != (WIDTH, HEIGHT):
                    failures += 1
            except Exception as exc:  # a benchmark counts failures, it does not stop
                print(f"  warm render failed: {url}: {exc}", file=sys.stderr)
                failures += 1

    try:
        # Start every browser before timing: a worker starts its browser once, then serves
        # messages for hours; what matters per message is the warm render.
        await asyncio.gather(*(r.render(urls[0], WIDTH, HEIGHT) for r in renderers))
        for url in urls:
            queue.put_nowait(url)
        start = time.perf_counter()
        await asyncio.gather(*(slot(r) for r in renderers for _ in range(parallel)))
        elapsed = time.perf_counter() - start
    finally:
        await asyncio.gather(*(r.close() for r in renderers))
    label = f"warm: {workers} renderer(s) x {parallel} pages"
    return Result(label, len(urls), elapsed, failures)


async def bench_cli(urls: list[str], parallel: int, executable: str) -> Result:
    failures = 0
    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)

    async def one(url: str) -> None:
        nonlocal failures
        tmp = Path(tempfile.mkdtemp(prefix="lab-bench-cli-"))
        shot = tmp / "shot.png"
        argv = [
            executable,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp / 'profile'}",
            f"--window-size={WIDTH},{HEIGHT}",
            f"--screenshot={shot}",
            url,
        ]
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                await asyncio.wait_for(proc.wait(), 60)
            except TimeoutError:
                proc.kill()
                await proc.wait()
            if proc.returncode != 0 or png_size(shot.read_bytes()) != (WIDTH, HEIGHT):
                failures += 1
        except (OSError, ValueError) as exc:
            print(f"  cli render failed: {url}: {exc}", file=sys.stderr)
            failures += 1
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    async def slot() -> None:
        while True:
            try:
                url = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await one(url)

    start = time.perf_counter()
    await asyncio.gather(*(slot() for _ in range(parallel)))
    elapsed = time.perf_counter() - start
    return Result(
        f"cli: chromium --screenshot per page, {parallel} at a time", len(urls), elapsed, failures
    )


async def main_async(args: argparse.Namespace) -> int:
    executable = find_browser(args.chromium)
    cli_parallel = args.cli_parallel or args.workers
    with BackgroundPageServer() as pages:
        urls = [pages.url(f"/sample/{n}") for n in range(1, args.pages + 1)]
        print(f"Chromium: {executable}; {args.pages} local sample pages at {WIDTH}x{HEIGHT}")
        print(
            "note: warm side = renderer instances in this one process fed from an in-memory"
            " queue (the SQS worker loop is not wired in yet)"
        )
        results = []
        if not args.skip_warm:
            results.append(await bench_warm(urls, args.workers, args.parallel, executable))
        if not args.skip_cli:
            results.append(await bench_cli(urls, cli_parallel, executable))

    print()
    print(f"{'renderer':58} {'pages':>6} {'seconds':>8} {'pages/s':>8} {'failed':>6}")
    for r in results:
        print(f"{r.name:58} {r.pages:6d} {r.seconds:8.1f} {r.rate:8.2f} {r.failures:6d}")
    if len(results) == 2 and results[1].rate:
        ratio = results[0].rate / results[1].rate
        verdict = "meets" if ratio >= 5 else "misses"
        print(f"\nratio warm/cli: {ratio:.1f}x ({verdict} the issue's goal of at least 5x)")
    return 1 if any(r.failures for r in results) else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100, help="pages per side (default 100)")
    parser.add_argument("--workers", type=int, default=2, help="warm renderers, one browser each")
    parser.add_argument("--parallel", type=int, default=2, help="pages at once per renderer")
    parser.add_argument(
        "--cli-parallel", type=int, default=0, help="CLI processes at once (default: --workers)"
    )
    parser.add_argument("--chromium", default=None, help="browser executable (default: Debian's)")
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--skip-warm", action="store_true")
    args = parser.parse_args()
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
