"""The event log's throughput: events per second published and read back by a follower over
HTTP, the way the TUI, notebooks and checkers read the stream.

    .venv/bin/python -m bench.events_throughput [--events 200000] [--json]

The follower is a process of its own (``--follow``), as ``lab events --follow`` is: it reads
``GET /_lab/events`` on one kept-alive connection, 10,000 events a read (the most one read
gives), long-polling when it has caught up, and parses every reply as JSON. It counts events
(and ``missed``: events the ring dropped before it read them) until it has all of them. The
figure is events over the time from the first publish to the follower holding the last one.

- **log alone**: an ``EventLog`` and the emulator's own HTTP adapter (``emulator.events.http``)
  on this process's event loop, published to as fast as the loop allows (yielding to the
  server every 1,000 events): ``sqs.send`` (JSON made at publish) and ``elb.request`` (JSON
  made at the first read). Also publishing alone, with no reader, per event.
- **the emulator**: a real emulator process, published to through the cheapest path from
  outside: ``POST /_lab/events`` with 1,000 ``worker.polling`` reports a request (the most one
  takes), from two client threads; the emulator checks each report against its type before
  publishing it.

The goal: at least 50,000 events per second read back.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from bench.common import ROOT, free_port, start_emulator
from emulator.clock import SystemClock
from emulator.events import Event, EventLog
from emulator.events import http as events_http
from emulator.events.elb import ElbRequest
from emulator.events.sqs import SqsSend

GOAL = 50_000
READ_LIMIT = events_http.MAX_LIMIT
POST_BATCH = 1000
POSTERS = 2


# ---------------------------------------------------------------- the follower (its own process)


def follow(endpoint: str, after: int, count: int) -> dict[str, float]:
    """Read events after ``after`` until ``count`` were read or reported missed."""
    url = urlsplit(endpoint)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port or 80, timeout=60)
    got = missed = reads = 0
    cursor = after
    first_at = 0.0
    while got + missed < count:
        conn.request("GET", f"/_lab/events?after={cursor}&limit={READ_LIMIT}&wait=10")
        page = json.loads(conn.getresponse().read())
        reads += 1
        if page["events"] and not first_at:
            first_at = time.time()
        got += len(page["events"])
        missed += page["missed"]
        cursor = page["next_after"]
    return {"events": got, "missed": missed, "reads": reads, "first_at": first_at,
            "done_at": time.time()}  # fmt: skip


def start_follower(endpoint: str, after: int, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.events_throughput", "--follow", endpoint,
         "--after", str(after), "--events", str(count)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def follower_result(proc: subprocess.Popen[str], started: float) -> dict[str, float]:
    out, _ = proc.communicate(timeout=600)
    result = json.loads(out)
    seconds = result["done_at"] - started
    return {
        "events": result["events"],
        "missed": result["missed"],
        "reads": result["reads"],
        "seconds": seconds,
        "events_per_s": (result["events"] + result["missed"]) / seconds,
    }


# ---------------------------------------------------------------- the log alone


def sqs_event(n: int) -> Event:
    return SqsSend(queue="bench", message_id=f"{n:08d}-4a4c-4c5e-9d1e-2f3a0b9f5f7e", seq=n, delay=0)


def elb_event(n: int) -> Event:
    return ElbRequest(
        load_balancer="bench-web",
        listener_port=80,
        method="GET",
        path="/",
        rule="default",
        target_group="bench-web",
        target_id="127.0.0.11",
        target_address="127.0.0.11",
        status=200,
        ms=0.412,
        answered_by="target",
    )


MAKERS = {"sqs.send": sqs_event, "elb.request": elb_event}


def publish_only(kind: str, count: int) -> float:
    """Events per second of building and publishing alone, with no reader."""
    make = MAKERS[kind]
    log = EventLog(SystemClock(), capacity=100_000)
    start = time.perf_counter()
    for n in range(count):
        log.publish(make(n))
    return count / (time.perf_counter() - start)


async def _log_alone(kind: str, count: int) -> dict[str, float]:
    log = EventLog(SystemClock(), capacity=100_000)
    app = web.Application()
    for path, handle in events_http.component(log).control_routes.items():
        app.router.add_route("*", path, handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        follower = start_follower(endpoint, 0, count)
        await asyncio.sleep(1.0)  # the follower is up and long-polling
        make = MAKERS[kind]
        started = time.time()
        for n in range(count):
            log.publish(make(n))
            if n % 1000 == 999:
                await asyncio.sleep(0)  # let the server answer the follower
        published = time.time() - started
        result = await asyncio.to_thread(follower_result, follower, started)
        result["publish_s"] = published
        return result
    finally:
        log.close()
        await runner.cleanup()


def log_alone(kind: str, count: int) -> dict[str, float]:
    return asyncio.run(_log_alone(kind, count))


# ---------------------------------------------------------------- the emulator


def _poster(endpoint: str, body: bytes, posts: int, errors: list[str]) -> None:
    url = urlsplit(endpoint)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port or 80, timeout=60)
    headers = {"Content-Type": "application/json"}
    for _ in range(posts):
        conn.request("POST", "/_lab/events", body=body, headers=headers)
        response = conn.getresponse()
        answer = response.read()
        if response.status != 200:
            errors.append(f"{response.status}: {answer[:200]!r}")
            return


def emulator_posts(count: int) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="events-bench-"))
    proc, port = start_emulator(tmp / "state")
    endpoint = f"http://127.0.0.1:{port}"
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/_lab/events?limit=1")
        after = json.loads(conn.getresponse().read())["last_id"]
        reports = [{"type": "worker.polling", "worker": f"bench:{os.getpid()}", "queue": "bench"}]
        body = json.dumps({"events": reports * POST_BATCH}).encode()
        posts = count // (POST_BATCH * POSTERS)
        total = posts * POST_BATCH * POSTERS
        follower = start_follower(endpoint, after, total)
        time.sleep(1.0)
        errors: list[str] = []
        threads = [
            threading.Thread(target=_poster, args=(endpoint, body, posts, errors))
            for _ in range(POSTERS)
        ]
        started = time.time()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        published = time.time() - started
        if errors:
            follower.kill()
            raise RuntimeError(f"POST /_lab/events refused: {errors[0]}")
        result = follower_result(follower, started)
        result["publish_s"] = published
        return result
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="events per measurement")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--follow", metavar="ENDPOINT", help=argparse.SUPPRESS)
    parser.add_argument("--after", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.follow:
        print(json.dumps(follow(args.follow, args.after, args.events)))
        return 0

    results: dict[str, dict[str, float]] = {}
    for kind in MAKERS:
        results[f"log alone, {kind}"] = log_alone(kind, args.events)
        results[f"log alone, {kind}"]["publish_only_per_s"] = publish_only(kind, args.events)
    results["emulator, POST /_lab/events"] = emulator_posts(args.events)
    floors = {
        f"{name}: at least {GOAL:,} events/s read back": r["events_per_s"] >= GOAL
        for name, r in results.items()
    }
    report = {
        "events": args.events,
        "load_average": os.getloadavg(),
        "results": results,
        "floors": floors,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{args.events:,} events per measurement; a follower process reads them over HTTP "
            f"({READ_LIMIT:,} a read); load average {os.getloadavg()[0]:.2f}"
        )
        print(f"{'path':36} {'read back/s':>12} {'publish/s':>12} {'alone/s':>10} {'missed':>7}")
        for name, r in results.items():
            published = (r["events"] + r["missed"]) / r["publish_s"]
            alone = (
                f"{r['publish_only_per_s']:>10,.0f}" if "publish_only_per_s" in r else " " * 9 + "-"
            )
            print(
                f"{name:36} {r['events_per_s']:>12,.0f} {published:>12,.0f} {alone} "
                f"{r['missed']:>7,.0f}"
            )
        for floor, ok in floors.items():
            print(f"  {'PASS' if ok else 'FAIL'}  {floor}")
    return 0 if all(floors.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
