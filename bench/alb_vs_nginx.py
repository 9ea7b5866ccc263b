"""The emulator's ALB data plane against nginx, in front of the same three web servers, in one run.

    .venv/bin/python -m bench.alb_vs_nginx [--seconds 5] [--rate 500] [--event-rounds 3] [--json]

Everything is built as the lab builds it: the emulator (own port and state folder), three
``lab.web.server`` processes on 127.0.0.11-13, an ALB created through the ELBv2 API (its
listener on a free port >= 1024, so it is served on that very port), and Debian's nginx
rendered from the same target group. Two measurements per path (direct to one backend, ALB,
nginx):

- throughput: requests per second at 64 concurrent keep-alive connections, by ``wrk`` (2
  threads) when installed, else by an aiohttp closed-loop generator;
- latency: an open-loop generator paced at ``--rate`` requests per second (each request has a
  scheduled start; latency is measured from that start, so a stall is not hidden by the
  generator waiting for it). "Direct" rotates over the three backends like the balancers do;
  the balancers' added latency is their percentile minus direct's.

Then the ALB's requests per second with its ``elb.request`` events (one per request) off, on,
and on with a follower reading every one of them over HTTP as it is published (what the TUI or
``lab events --follow`` costs the emulator; the follower parses only each reply's head, so its
own work takes little from the balancer). Each mode runs in an emulator of its own, restarted
on the same state (``--no-elb-request-events`` for off), so the load balancer stays the same;
``--event-rounds`` rounds, in alternating order, and the best of each mode counts.

The issue's floors: ALB >= 1/3 of nginx's requests per second, < 2 ms added p50 at 500 rps,
and with request events on, at least 90% of the requests per second with them off. Traffic goes
to 127.0.0.0/8 only; every process is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import aiohttp

from bench.common import free_port
from lab import aws, runtime
from lab.config import LabConfig
from lab.lb import nginx
from lab.lb.stack import StackSpec, chapter_health_check, ensure_stack
from lab.web import fleet

IPS = ("127.0.0.11", "127.0.0.12", "127.0.0.13")
CONNECTIONS = 64


# ---------------------------------------------------------------- load generators


def wrk_rps(url: str, seconds: float) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": rps,
        "non_2xx": float(bad.group(1)) if bad else 0.0,
        "socket_errors": 0.0
        if errors is None
        else float(sum(map(int, re.findall(r"\d+", errors.group(0))))),
    }


async def _closed_loop(url: str, seconds: float) -> dict[str, float]:
    done = bad = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal done, bad
            while time.perf_counter() < deadline:
                async with session.get(url) as resp:
                    await resp.read()
                    done += 1
                    bad += resp.status >= 400

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
        return {"rps": done / (time.perf_counter() - start), "non_2xx": bad, "socket_errors": 0}


def throughput(url: str, seconds: float) -> dict[str, float]:
    if shutil.which("wrk"):
        return wrk_rps(url, seconds)
    return asyncio.run(_closed_loop(url, seconds))


async def _open_loop(urls: list[str], rate: float, seconds: float) -> dict[str, float]:
    """Paced requests: request i is due at start + i/rate whatever happened before."""
    total = int(rate * seconds)
    latencies: list[float] = []
    failures = 0
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector) as session:
        for url in urls:  # warm the connections
            async with session.get(url) as resp:
                await resp.read()
        # perf_counter, not loop.time(): uvloop's clock ticks in whole milliseconds
        start = time.perf_counter() + 0.05

        async def one(i: int) -> None:
            nonlocal failures
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                async with session.get(urls[i % len(urls)]) as resp:
                    await resp.read()
                    if resp.status != 200:
                        failures += 1
            except aiohttp.ClientError:
                failures += 1
            latencies.append((time.perf_counter() - due) * 1000)

        await asyncio.gather(*(one(i) for i in range(total)))
    latencies.sort()
    return {
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "requests": float(total),
        "failures": float(failures),
    }


def latency(urls: list[str], rate: float, seconds: float) -> dict[str, float]:
    try:
        import uvloop

        return uvloop.run(_open_loop(urls, rate, seconds))
    except ImportError:
        return asyncio.run(_open_loop(urls, rate, seconds))


# ---------------------------------------------------------------- request events on and off

EVENT_MODES = ("off", "on", "on, followed")
_NEXT_AFTER = re.compile(rb'"next_after":(\d+)')
_MISSED = re.compile(rb'"missed":(\d+)')


class Follower:
    """Reads every event of the stream as it is published, in a thread, until stopped."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.bytes = self.reads = self.missed = 0
        self.after = 0
        self._stop = threading.Event()
        with urllib.request.urlopen(f"{endpoint}/_lab/events?limit=1", timeout=10) as r:
            self.after = json.loads(r.read())["last_id"]
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            url = f"{self.endpoint}/_lab/events?after={self.after}&limit=10000&wait=1"
            with urllib.request.urlopen(url, timeout=30) as response:
                body = response.read()
            head = body[:400]
            self.after = int(_NEXT_AFTER.search(head).group(1))  # type: ignore[union-attr]
            self.missed += int(_MISSED.search(head).group(1))  # type: ignore[union-attr]
            self.reads += 1
            self.bytes += len(body)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join(10)
        return {"reads": self.reads, "bytes": self.bytes, "missed": self.missed}


def restart(config: LabConfig, request_events: bool) -> LabConfig:
    """The emulator again, on the same state, with request events on or off."""
    runtime.stop(config, "emulator")
    config = replace(config, elb_request_events=request_events)
    runtime.start_emulator(config)
    return config


def request_events(
    config: LabConfig, url: str, tg_arn: str, seconds: float, rounds: int
) -> tuple[LabConfig, dict[str, object]]:
    """Requests per second of the ALB in each mode of ``EVENT_MODES``, best of ``rounds``."""
    samples: dict[str, list[float]] = {mode: [] for mode in EVENT_MODES}
    followed: dict[str, float] = {}
    for round_ in range(rounds):
        order = EVENT_MODES if round_ % 2 == 0 else tuple(reversed(EVENT_MODES))
        for mode in order:
            config = restart(config, request_events=mode != "off")
            wait_healthy(aws.client("elbv2", config), tg_arn)
            throughput(url, 1)
            follower = Follower(config.endpoint) if mode == "on, followed" else None
            samples[mode].append(throughput(url, seconds)["rps"])
            if follower is not None:
                followed = follower.stop()
            time.sleep(1)
    best = {mode: max(values) for mode, values in samples.items()}
    return config, {
        "rps": best,
        "samples": samples,
        "on_over_off": best["on"] / best["off"],
        "followed_over_off": best["on, followed"] / best["off"],
        "follower": followed,
    }


# ---------------------------------------------------------------- the setup


def wait_healthy(elbv2, tg_arn: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = [
            d["TargetHealth"]["State"]
            for d in elbv2.describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]
        ]
        if states and all(s == "healthy" for s in states):
            return
        time.sleep(0.3)
    raise RuntimeError(f"targets not healthy: {states}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--rate", type=float, default=500.0, help="open-loop requests/second")
    parser.add_argument(
        "--event-rounds", type=int, default=3, help="rounds of request events off/on (0: none)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="alb-vs-nginx-"))
    config = replace(
        LabConfig(),
        state_dir=tmp / "state",
        port=free_port(),
        web_port=free_port(IPS),
        nginx_port=free_port(),
        health_check_interval=5,
    )
    specs = [fleet.ServerSpec(ip, config.web_port) for ip in IPS]
    try:
        runtime.start_emulator(config)
        for spec in specs:
            fleet.start(config, spec)
        elbv2, ec2 = aws.client("elbv2", config), aws.client("ec2", config)
        listener_port = free_port()
        stack = ensure_stack(
            ec2,
            elbv2,
            StackSpec(
                IPS,
                config.web_port,
                name="bench-web",
                listener_port=listener_port,
                health=chapter_health_check(config.health_check_interval),
            ),
        )
        wait_healthy(elbv2, stack.target_group_arn)
        site = nginx.site_from_elbv2(
            elbv2, ec2, stack.target_group_arn, nginx.paths_for(config), config.nginx_port
        )
        nginx.start(config, site)

        paths = {
            "direct": [spec.url for spec in specs],
            "alb": [f"http://127.0.0.1:{listener_port}/"],
            "nginx": [f"http://127.0.0.1:{config.nginx_port}/"],
        }
        results: dict[str, dict[str, float]] = {}
        for name, urls in paths.items():
            # latency first, on a quiet machine; then throughput, after a warm-up
            latency(urls, args.rate, 1)
            results[name] = latency(urls, args.rate, args.seconds)
            throughput(urls[0], 1)
            results[name].update(throughput(urls[0], args.seconds))
            time.sleep(1)  # let the proxies finish what wrk left in flight
        events: dict[str, object] = {}
        if args.event_rounds > 0:
            config, events = request_events(
                config, paths["alb"][0], stack.target_group_arn, args.seconds, args.event_rounds
            )
    finally:
        nginx.stop(config)
        for spec in specs:
            fleet.stop(config, spec)
        runtime.stop(config, "emulator")
        shutil.rmtree(tmp, ignore_errors=True)

    for name in ("alb", "nginx"):
        results[name]["added_p50_ms"] = results[name]["p50_ms"] - results["direct"]["p50_ms"]
        results[name]["added_p99_ms"] = results[name]["p99_ms"] - results["direct"]["p99_ms"]
    ratio = results["alb"]["rps"] / results["nginx"]["rps"]
    floors = {
        "alb_rps_at_least_a_third_of_nginx": ratio >= 1 / 3,
        "alb_added_p50_under_2ms": results["alb"]["added_p50_ms"] < 2.0,
    }
    if events:
        floors["alb_rps_with_request_events_at_least_90_percent"] = (
            float(events["on_over_off"]) >= 0.9  # type: ignore[arg-type]
        )
    report = {
        "tool": "wrk" if shutil.which("wrk") else "aiohttp",
        "seconds": args.seconds,
        "rate": args.rate,
        "connections": CONNECTIONS,
        "results": results,
        "alb_over_nginx_rps": ratio,
        "request_events": events,
        "load_average": os.getloadavg(),
        "floors": floors,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{CONNECTIONS} connections ({report['tool']}, {args.seconds:g} s) and an open loop at "
            f"{args.rate:g} req/s ({args.seconds:g} s); backends: 3 lab web servers"
        )
        print(
            f"{'path':8} {'req/s @64':>10} {'non-2xx':>8} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'+p50 ms':>8} {'+p99 ms':>8}"
        )
        for name, r in results.items():
            added = (
                f"{r['added_p50_ms']:>8.2f} {r['added_p99_ms']:>8.2f}"
                if "added_p50_ms" in r
                else f"{'-':>8} {'-':>8}"
            )
            print(
                f"{name:8} {r['rps']:>10.0f} {r['non_2xx']:>8.0f} {r['p50_ms']:>8.2f} "
                f"{r['p99_ms']:>8.2f} {added}"
            )
        print(f"ALB / nginx requests per second: {ratio:.2f}")
        if events:
            rps: dict[str, float] = events["rps"]  # type: ignore[assignment]
            samples: dict[str, list[float]] = events["samples"]  # type: ignore[assignment]
            print(
                f"ALB with request events (best of {args.event_rounds}, wrk -c{CONNECTIONS}, "
                f"{args.seconds:g} s each):"
            )
            for mode in EVENT_MODES:
                runs = ", ".join(f"{v:,.0f}" for v in samples[mode])
                print(f"  {mode:14} {rps[mode]:>10,.0f} req/s  ({runs})")
            print(
                f"  on / off: {events['on_over_off']:.3f}; on, followed / off: "
                f"{events['followed_over_off']:.3f}"
            )
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for floor, ok in floors.items():
            print(f"  {'PASS' if ok else 'FAIL'}  {floor}")
    return 0 if all(floors.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
