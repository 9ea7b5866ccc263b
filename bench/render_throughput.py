"""Render throughput: the lab's warm workers against a browser started once per page.

The book's worker (node-webshot) started a headless browser for every message. The lab's
workers keep one Chromium warm and render several pages in it at once. This script measures
both in one run on the lab's local sample pages, so the ratio is fair on a loaded machine:

* lab: ``--workers`` real ``lab worker`` processes (one Chromium each, ``--parallel`` pages at
  a time) draining ``--pages`` jobs queued with the producer, through the emulator's SQS and S3
  (a private emulator on a free port, its own state folder): receive, render, upload
  ``ID.png``, status records, gallery, delete. Timed from the first send until the last PNG is
  in the bucket; the workers are started (browsers warm) before the clock starts, as workers
  that serve messages for hours would be.
* cli: ``chromium --headless --screenshot`` started once per page, ``--cli-parallel`` at a
  time (default: as many as there are workers, i.e. the book's design with the same number of
  workers). No queue, no upload: only the browser, which is where the book's design loses.

    .venv/bin/python bench/render_throughput.py            # 100 pages each
    .venv/bin/python bench/render_throughput.py --pages 20 # quick
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import start_emulator  # noqa: E402
from lab import aws  # noqa: E402
from lab.config import LabConfig  # noqa: E402
from lab.pages.server import BackgroundPageServer  # noqa: E402
from lab.url2png.producer import Producer  # noqa: E402
from lab.url2png.resources import ensure  # noqa: E402
from lab.worker.renderer import CHROMIUM_FLAGS, find_browser  # noqa: E402

WIDTH, HEIGHT = 1280, 800
LAB = Path(sys.executable).parent / "lab"


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


def list_pngs(s3: object, bucket: str) -> set[str]:
    keys: set[str] = set()
    kwargs = {"Bucket": bucket, "Delimiter": "/"}
    while True:
        page = s3.list_objects_v2(**kwargs)  # type: ignore[attr-defined]
        keys |= {o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(".png")}
        if not page.get("IsTruncated"):
            return keys
        kwargs["ContinuationToken"] = page["NextContinuationToken"]


def bench_lab(urls: list[str], workers: int, parallel: int, executable: str) -> Result:
    tmp = Path(tempfile.mkdtemp(prefix="lab-bench-"))
    emulator, port = start_emulator(tmp / "state")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAB_"))}
    env.update(LAB_PORT=str(port), LAB_STATE_DIR=str(tmp / "state"), LAB_CHROMIUM=executable)
    config = LabConfig.from_env(env)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        sqs, s3 = aws.client("sqs", config), aws.client("s3", config)
        resources = ensure(config, sqs, s3)
        logs = [tmp / f"worker-{i}.log" for i in range(workers)]
        for i, log in enumerate(logs):
            with open(log, "wb") as out:
                procs.append(
                    subprocess.Popen(
                        [
                            str(LAB),
                            "worker",
                            "--name",
                            f"bench{i}",
                            "--parallel",
                            str(parallel),
                            "--wait-time",
                            "1",
                            "--width",
                            str(WIDTH),
                            "--height",
                            str(HEIGHT),
                        ],
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )  # fmt: skip
                )
        deadline = time.monotonic() + 60
        while not all("ready: worker" in log.read_text(errors="replace") for log in logs):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError("workers did not start:\n" + logs[0].read_text()[-2000:])
            time.sleep(0.1)
        producer = Producer(sqs, s3, resources)
        start = time.perf_counter()
        jobs = producer.submit(urls)
        wanted = {f"{job.id}.png" for job in jobs}
        # A message is deleted only after its PNG is uploaded, so an empty queue with nothing in
        # flight means every job is done; asking the queue is cheap, while listing the bucket
        # every 100 ms would compete with the workers for the emulator's S3.
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            attrs = sqs.get_queue_attributes(
                QueueUrl=resources.queue_url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            if not any(int(v) for v in attrs.values()):
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        missing = len(wanted - list_pngs(s3, resources.bucket))
        for job in jobs[:: max(1, len(jobs) // 10)]:  # spot-check what was uploaded
            body = s3.get_object(Bucket=resources.bucket, Key=f"{job.id}.png")["Body"].read()
            if png_size(body) != (WIDTH, HEIGHT):
                missing += 1
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        emulator.terminate()
        emulator.wait(20)
        shutil.rmtree(tmp, ignore_errors=True)
    label = f"lab: {workers} lab worker x {parallel} pages, SQS+S3"
    return Result(label, len(urls), elapsed, missing)


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
        results = []
        if not args.skip_lab:
            results.append(
                await asyncio.to_thread(bench_lab, urls, args.workers, args.parallel, executable)
            )
        if not args.skip_cli:
            results.append(await bench_cli(urls, cli_parallel, executable))

    print()
    print(f"{'renderer':58} {'pages':>6} {'seconds':>8} {'pages/s':>8} {'failed':>6}")
    for r in results:
        print(f"{r.name:58} {r.pages:6d} {r.seconds:8.1f} {r.rate:8.2f} {r.failures:6d}")
    if len(results) == 2 and results[1].rate:
        ratio = results[0].rate / results[1].rate
        verdict = "meets" if ratio >= 5 else "misses"
        print(f"\nratio lab/cli: {ratio:.1f}x ({verdict} the issue's goal of at least 5x)")
    return 1 if any(r.failures for r in results) else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100, help="pages per side (default 100)")
    parser.add_argument("--workers", type=int, default=2, help="lab worker processes")
    parser.add_argument("--parallel", type=int, default=2, help="pages at once per worker")
    parser.add_argument(
        "--cli-parallel", type=int, default=0, help="CLI processes at once (default: --workers)"
    )
    parser.add_argument("--chromium", default=None, help="browser executable (default: Debian's)")
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--skip-lab", action="store_true")
    args = parser.parse_args()
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
