"""How fast a stream ``lab tui`` follows, and what it costs: the highest event rate at which
the TUI stays under 250 ms behind the stream, and the CPU it uses at 1,000 events per second;
side by side with the plain follower, ``lab events --follow --json``, in one run.

    .venv/bin/python -m bench.tui_follow [--rates 1000,2000,5000,8000,10000,1000] [--seconds 10]
                                         [--tui-only] [--json FILE]

Why: the TUI is where students watch the chapter happen. If it falls behind a busy lab, what
it shows (a message in flight, a worker's step) is already over; if it burns a core, it takes
that core from the workers and the emulator on a 2-core laptop. Issue 13's goals: it follows
5,000 events/s with its lag p99 under 250 ms, and uses under a quarter of one core at 1,000/s.

What runs, all real processes:

- a real emulator (own port and state folder), set up as ``lab up`` sets it up: the URL2PNG
  queue and its dead-letter queue, one ``lab.web.server`` behind an ALB made through ELBv2
  (health checks every 5 s);
- a producer process (``--produce``) that plays a URL2PNG run at a paced rate: per 10 jobs,
  ``SendMessageBatch``, ``ReceiveMessage`` (10), the workers' reports of their steps posted to
  ``/_lab/events`` as ``lab worker`` posts them (polling, received, rendering, uploaded,
  deleted, from four worker names), one GET through the ALB per page rendered, and
  ``DeleteMessageBatch`` two rounds later (so about 20 messages are in flight): 81 events,
  of which ``sqs.*`` 30, ``worker.*`` 41, ``elb.request`` 10. It paces itself on a budget of
  events (rate x elapsed time), checked every call (a call is 1 to 31 events), and sleeps up to
  10 ms when ahead. The rate achieved is taken from the stream's event ids: on this 2-core
  machine the producer and the emulator need most of a core at 10,000/s, so the top steps
  reach what the machine leaves them;
- the follower, in a real pseudo-terminal of 160x48 whose master side is read all the time:
  the TUI through ``bench.tui_driver`` (``LabApp`` and ``LiveSource`` unchanged, on Textual's
  Linux driver, plus a side channel of when each event reached the model); the peer, ``lab
  events --follow --json`` writing to that terminal, whose lines the bench reads off the master
  side as they arrive. The terminal answers Textual's query for synchronized output as most
  terminals of today do, so the TUI's frames per second are counted too.

Lag of an event = the wall time it reached the follower (the TUI: ``_take`` returned, the
batch is in the model and the event log; the peer: its line came out of the terminal) minus
its ``at`` (the emulator's clock, at speed 1 the wall clock of this machine: when it was
published). An event that never arrives (the ring dropped it, or not within ``--grace``
seconds after its step) counts as infinitely late; one that arrives twice is reported.

Each side sees the same run: after an idle window, the steps of ``--rates`` in their order,
``--seconds`` each; after each step the bench waits for the follower to catch up, then pauses.
Both sides start on a fresh stream (the emulator is restarted on the same state between them),
and the TUI keeps its model across steps, as a TUI left open does: the default ends with one
more step at 1,000/s, after some 270,000 events, which is where a long session is (the
anomalies panel re-checks up to 200,000 kept events every 2 s). CPU = utime + stime of the
follower's process (every thread) from ``/proc/PID/stat`` over each step but its first
``--warmup`` seconds, as a fraction of one core. The machine's busy fraction (``/proc/stat``,
both cores) is shown per step: other work on this machine competes for the same two cores,
and a busy machine shows up as longer stalls (the longest gap between the TUI's 0.1 s ticks).

A step passes when the lag p99 is under 250 ms, nothing is missed and nothing arrives twice.
A follower follows the highest achieved rate of the ascending steps before the first that
failed; the rate goal is met by a passing step asked at 5,000/s or more that achieved at least
95% of what was asked.
"""

from __future__ import annotations

import argparse
import fcntl
import http.client
import itertools
import json
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
import uuid
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.common import ROOT, free_port, stop_process

LAG_GOAL_MS = 250.0
RATE_GOAL = 5_000
CPU_GOAL = 0.25
CPU_RATE = 1_000
COLUMNS, ROWS = 160, 48
IP = "127.0.0.11"
JOBS = 10  # per round of the producer
HOLD = 2  # rounds a received batch stays in flight before it is deleted
WORKERS = 4
CLK_TCK = os.sysconf("SC_CLK_TCK")
SYNC_START = b"\x1b[?2026h"  # begin synchronized update (a frame, for a terminal)
SYNC_QUERY, SYNC_REPLY = b"\x1b[?2026$p", b"\x1b[?2026;2$y"  # DECRQM, DECRPM: "supported"


# ---------------------------------------------------------------- the producer (its own process)


class Producer:
    """A URL2PNG run's calls, as a generator of "this call published N events"."""

    def __init__(self, endpoint: str, queue_url: str, lb_url: str) -> None:
        import boto3
        from botocore.config import Config

        self.sqs = boto3.client(
            "sqs",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 0}),
        )
        self.queue_url = queue_url
        self.queue = queue_url.rstrip("/").rsplit("/", 1)[-1]
        url = urlsplit(endpoint)
        self.events = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
        lb = urlsplit(lb_url)
        self.lb = http.client.HTTPConnection(lb.hostname or "", lb.port, timeout=30)
        self.lb_url = lb_url
        self.producer_id = uuid.uuid4().hex[:8]
        self.seq = itertools.count(1)
        self.workers = itertools.cycle(f"bench-w{n}" for n in range(1, WORKERS + 1))
        self.held: deque[tuple[str, list[dict[str, Any]]]] = deque()
        self.pending: list[dict[str, Any]] = []  # reports for the next POST
        self.calls = 0

    def _post(self, reports: list[dict[str, Any]]) -> int:
        body = json.dumps({"events": reports}).encode()
        self.events.request(
            "POST", "/_lab/events", body=body, headers={"Content-Type": "application/json"}
        )
        response = self.events.getresponse()
        answer = response.read()
        if response.status != 200:
            raise RuntimeError(f"POST /_lab/events: {response.status} {answer[:200]!r}")
        self.calls += 1
        return len(reports)

    def _get(self, path: str) -> int:
        self.lb.request("GET", path)
        self.lb.getresponse().read()
        self.calls += 1
        return 1

    def _report(
        self, step: str, worker: str, message: dict[str, Any], body: dict[str, Any], **fields: Any
    ) -> None:
        from lab.trace.history import receipt_tag

        attributes = message.get("MessageAttributes", {})
        self.pending.append(
            {
                "type": f"worker.{step}",
                "worker": worker,
                "queue": self.queue,
                "message_id": message["MessageId"],
                "receipt": receipt_tag(message["ReceiptHandle"]),
                "receive_count": int(message["Attributes"]["ApproximateReceiveCount"]),
                "job_id": body["id"],
                "seq": int(attributes["seq"]["StringValue"]),
                "producer": attributes["producer"]["StringValue"],
                **fields,
            }
        )

    def rounds(self) -> Iterator[int]:
        while True:
            yield from self._round()

    def _round(self) -> Iterator[int]:
        worker = next(self.workers)
        entries = []
        for n in range(JOBS):
            job, seq = str(uuid.uuid4()), next(self.seq)
            body = json.dumps({"id": job, "url": f"{self.lb_url}?page={seq}", "seq": seq})
            entries.append(
                {
                    "Id": str(n),
                    "MessageBody": body,
                    "MessageAttributes": {
                        "seq": {"DataType": "Number", "StringValue": str(seq)},
                        "producer": {"DataType": "String", "StringValue": self.producer_id},
                    },
                }
            )
        self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
        self.calls += 1
        yield JOBS
        self.pending.append({"type": "worker.polling", "worker": worker, "queue": self.queue})
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=JOBS,
            VisibilityTimeout=120,
            AttributeNames=["ApproximateReceiveCount"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        self.calls += 1
        yield len(messages)
        bodies = [json.loads(message["Body"]) for message in messages]
        for message, body in zip(messages, bodies, strict=True):
            self._report("received", worker, message, body)
            self._report("rendering", worker, message, body, url=body["url"])
        yield self._post(self.pending)
        self.pending = []
        for message, body in zip(messages, bodies, strict=True):
            yield self._get(urlsplit(body["url"]).path + "?" + urlsplit(body["url"]).query)
            self._report("uploaded", worker, message, body, key=f"{body['id']}.png", bytes=48_213)
        if self.pending:
            yield self._post(self.pending)
            self.pending = []
        self.held.append((worker, messages))
        if len(self.held) > HOLD:
            yield from self._delete(*self.held.popleft())

    def _delete(self, worker: str, messages: list[dict[str, Any]]) -> Iterator[int]:
        if not messages:
            return
        entries = [
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)
        ]
        self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        self.calls += 1
        yield len(entries)
        for message in messages:  # posted with the next round's first POST
            self._report("deleted", worker, message, json.loads(message["Body"]))

    def drain(self) -> None:
        """Delete what is still held, so the next step starts with nothing in flight."""
        while self.held:
            for _ in self._delete(*self.held.popleft()):
                pass
        if self.pending:
            self._post(self.pending)
            self.pending = []


def last_id(endpoint: str) -> int:
    url = urlsplit(endpoint)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    conn.request("GET", "/_lab/events?limit=1")
    last = int(json.loads(conn.getresponse().read())["last_id"])
    conn.close()
    return last


def produce(endpoint: str, queue_url: str, lb_url: str) -> None:
    """Commands on stdin, one a line: ``RATE SECONDS`` (play the run at RATE events/s for
    SECONDS, then answer one JSON line) or ``quit``."""
    producer = Producer(endpoint, queue_url, lb_url)
    rounds = producer.rounds()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip() == "quit":
            break
        rate, seconds = (float(x) for x in line.split())
        before, calls = last_id(endpoint), producer.calls
        started = time.time()
        start = time.perf_counter()
        end = start + seconds
        budget = 0.0  # events published so far (as the calls said)
        while (now := time.perf_counter()) < end:
            ahead = budget - rate * (now - start)
            if ahead > 0:
                time.sleep(min(0.01, ahead / rate))
                continue
            budget += next(rounds)
        ended = time.time()
        after = last_id(endpoint)
        producer.drain()
        print(
            json.dumps(
                {
                    "started": started,
                    "ended": ended,
                    "before": before,
                    "after": after,
                    "calls": producer.calls - calls,
                    "budget": budget,
                }
            ),
            flush=True,
        )


# ---------------------------------------------------------------- a terminal for the follower


class Terminal:
    """A process on the slave side of a pseudo-terminal of COLUMNS x ROWS; a thread reads the
    master side all the time (what a terminal emulator does) and hands each read to
    ``on_output`` with the time it arrived. Like most terminals of today (kitty, WezTerm,
    iTerm2, Windows Terminal, GNOME's VTE) it says it has synchronized output when asked, so
    Textual marks where each frame begins and the frames can be counted."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        on_output: Callable[[bytes, float], None] | None = None,
    ) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        self.proc = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        os.close(slave)
        self.bytes = 0
        self.frames = 0  # synchronized updates begun: Textual wraps each screen update in one
        self.on_output = on_output
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 1 << 16)
            except OSError:  # EIO: the slave side closed
                return
            if not data:
                return
            self.bytes += len(data)
            self.frames += data.count(SYNC_START)
            if SYNC_QUERY in data:  # as a terminal that has synchronized output answers
                os.write(self.master, SYNC_REPLY)
            if self.on_output is not None:
                self.on_output(data, time.time())

    def close(self) -> None:
        stop_process(self.proc)
        self._thread.join(5)
        os.close(self.master)


# ---------------------------------------------------------------- the followers


class Follower:
    """A follower in a terminal, and when each event reached it: ``ids``, ``ats`` (its time
    by the emulator's clock) and ``times`` (when it arrived), in arrival order."""

    name = ""

    def __init__(self) -> None:
        self.ids = array("q")
        self.ats = array("d")
        self.times = array("d")
        self.terminal: Terminal | None = None

    @property
    def pid(self) -> int:
        assert self.terminal is not None
        return self.terminal.proc.pid

    def collect(self) -> None:
        """Bring ``ids``, ``ats``, ``times`` up to date."""

    def newest(self) -> int:
        self.collect()
        return self.ids[-1] if self.ids else 0

    def stalls(self, start: float, end: float) -> float:
        """The longest the follower's loop went without a sign of life in [start, end] (NaN
        when it has no such signal)."""
        return float("nan")

    def close(self) -> None:
        if self.terminal is not None:
            self.terminal.close()


class TuiFollower(Follower):
    name = "lab tui"

    def __init__(self, env: dict[str, str], stats: Path, profile: Path | None = None) -> None:
        super().__init__()
        self.stats = stats
        argv = [sys.executable, "-m", "bench.tui_driver", "--stats", str(stats)]
        if profile is not None:
            argv += ["--profile", str(profile)]
        self.ticks = array("d")
        self._offset = 0  # bytes of batches.jsonl read
        self._partial = b""
        self._events = 0  # events whose ids and ats were read
        self.terminal = Terminal(argv, env)

    def collect(self) -> None:
        try:
            with open(self.stats / "batches.jsonl", "rb") as lines:
                lines.seek(self._offset)
                data = lines.read()
        except FileNotFoundError:
            return
        self._offset += len(data)
        data = self._partial + data
        complete, _, self._partial = data.rpartition(b"\n")
        if not complete:
            return
        count = 0
        for line in complete.split(b"\n"):
            record = json.loads(line)
            self.ticks.append(record["t"])
            for done, events in record["batches"]:
                self.times.extend([done] * events)
                count += events
        with open(self.stats / "ids.bin", "rb") as ids, open(self.stats / "ats.bin", "rb") as ats:
            ids.seek(self._events * 8)
            ats.seek(self._events * 8)
            self.ids.fromfile(ids, count)
            self.ats.fromfile(ats, count)
        self._events += count

    def stalls(self, start: float, end: float) -> float:
        self.collect()
        ticks = [t for t in self.ticks if start <= t <= end]
        return max((b - a for a, b in itertools.pairwise(ticks)), default=0.0)


_LINE = re.compile(rb'"id": (\d+), "type": "[^"]*", "at": ([0-9.e+-]+)')


class PeerFollower(Follower):
    name = "lab events --follow --json"

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._partial = b""
        lab = str(Path(sys.executable).with_name("lab"))
        self.terminal = Terminal([lab, "events", "--follow", "--json"], env, self._output)

    def _output(self, data: bytes, arrived: float) -> None:
        data = self._partial + data
        complete, _, self._partial = data.rpartition(b"\n")
        found = _LINE.findall(complete)
        with self._lock:
            for event_id, at in found:
                self.ids.append(int(event_id))
                self.ats.append(float(at))
                self.times.append(arrived)


# ---------------------------------------------------------------- measuring


def cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of every core so far."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


@dataclass
class Window:
    """CPU of some processes, and the machine's, between ``start`` and ``stop``."""

    pids: dict[str, int]
    wall: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    machine: tuple[float, float] = (0.0, 0.0)

    def start(self) -> None:
        self.wall = time.monotonic()
        self.cpu = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self.machine = machine_busy()

    def stop(self) -> dict[str, float]:
        wall = time.monotonic() - self.wall
        busy, total = machine_busy()
        result = {
            name: (cpu_seconds(pid) - self.cpu[name]) / wall for name, pid in self.pids.items()
        }
        result["machine"] = (busy - self.machine[0]) / max(1, total - self.machine[1])
        return result


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def lags(follower: Follower, before: int, after: int) -> dict[str, float]:
    """Lag (ms) of the events with ids in (before, after] at the follower."""
    follower.collect()
    seen: dict[int, float] = {}
    twice = 0  # events that reached the follower more than once (a bug of the follower's)
    for event_id, at, arrived in zip(follower.ids, follower.ats, follower.times, strict=False):
        if before < event_id <= after:
            if event_id in seen:
                twice += 1
            else:
                seen[event_id] = (arrived - at) * 1000
    values = sorted(seen.values())
    missed = (after - before) - len(values)
    values += [float("inf")] * missed
    return {
        "events": float(after - before),
        "missed": float(missed),
        "twice": float(twice),
        "p50_ms": percentile(values, 0.50),
        "p99_ms": percentile(values, 0.99),
        "max_ms": values[-1] if values else float("nan"),
    }


# ---------------------------------------------------------------- one side


@dataclass
class Lab:
    config: Any
    queue_url: str
    lb_url: str
    web: Any


def set_up(tmp: Path) -> Lab:
    """An emulator with URL2PNG's queues and an ALB in front of one web server."""
    from lab import aws, runtime
    from lab.config import LabConfig
    from lab.lb.stack import StackSpec, chapter_health_check, ensure_stack
    from lab.url2png import resources
    from lab.web import fleet

    config = replace(
        LabConfig(),
        state_dir=tmp / "state",
        port=free_port(),
        web_port=free_port((IP,)),
        health_check_interval=5,
        web_servers=1,
    )
    runtime.start_emulator(config)
    web = fleet.ServerSpec(IP, config.web_port)
    fleet.start(config, web)
    listener = free_port()
    ensure_stack(
        aws.client("ec2", config),
        aws.client("elbv2", config),
        StackSpec(
            (IP,),
            config.web_port,
            name="bench-tui",
            listener_port=listener,
            health=chapter_health_check(config.health_check_interval),
        ),
    )
    url2png = resources.ensure(config)
    return Lab(config, url2png.queue_url, f"http://127.0.0.1:{listener}/", web)


def restart(lab: Lab) -> None:
    """The emulator again, on the same state: a new stream, ids from 1, an empty ring."""
    from lab import runtime

    runtime.stop(lab.config, "emulator")
    runtime.start_emulator(lab.config)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the listener is served again (ELB sync)
        try:
            lb = urlsplit(lab.lb_url)
            conn = http.client.HTTPConnection(lb.hostname or "", lb.port, timeout=2)
            conn.request("GET", "/")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the load balancer's listener did not come back")


def follower_env(lab: Lab) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAB_")}
    env.update(
        LAB_HOST=lab.config.host,
        LAB_PORT=str(lab.config.port),
        LAB_STATE_DIR=str(lab.config.state_dir),
        TERM="xterm-256color",
        COLORTERM="truecolor",
        COLUMNS=str(COLUMNS),
        LINES=str(ROWS),
    )
    return env


def wait_caught_up(follower: Follower, target: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if follower.newest() >= target:
            return True
        if follower.terminal is not None and follower.terminal.proc.poll() is not None:
            raise RuntimeError(f"{follower.name} exited with {follower.terminal.proc.returncode}")
        time.sleep(0.1)
    return False


def run_side(
    lab: Lab, follower: Follower, rates: list[int], args: argparse.Namespace
) -> dict[str, Any]:
    endpoint = lab.config.endpoint
    producer = subprocess.Popen(
        [sys.executable, "-m", "bench.tui_follow", "--produce", endpoint,
         "--queue-url", lab.queue_url, "--lb-url", lab.lb_url],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert producer.stdin is not None and producer.stdout is not None
    try:
        json.loads(producer.stdout.readline())  # ready
        if not wait_caught_up(follower, last_id(endpoint), 60):
            raise RuntimeError(f"{follower.name} did not read the stream within 60 s")
        time.sleep(args.settle)
        pids = {"follower": follower.pid, "emulator": emulator_pid(lab), "producer": producer.pid}
        window = Window(pids)
        window.start()
        time.sleep(args.idle)
        idle = window.stop()
        steps = []
        for rate in rates:
            producer.stdin.write(f"{rate} {args.seconds}\n")
            producer.stdin.flush()
            time.sleep(args.warmup)
            window.start()
            written, frames = follower_bytes(follower), follower_frames(follower)
            reply = producer.stdout.readline()
            cpu = window.stop()
            took = time.monotonic() - window.wall
            written = (follower_bytes(follower) - written) / took
            frames = (follower_frames(follower) - frames) / took
            ran = json.loads(reply)
            caught_up = wait_caught_up(follower, ran["after"], args.grace)
            lag = lags(follower, ran["before"], ran["after"])
            step = {
                "rate": rate,
                "achieved": (ran["after"] - ran["before"]) / (ran["ended"] - ran["started"]),
                "cpu": cpu,
                "caught_up": caught_up,
                "stall_s": follower.stalls(ran["started"], ran["ended"]),
                "terminal_bytes_per_s": written,
                "frames_per_s": frames,
                **lag,
            }
            steps.append(step)
            print(f"  {follower.name}: {format_step(step)}", flush=True)
            if not caught_up:
                print(f"  {follower.name} is still behind: the higher rates are not run")
                break
            time.sleep(args.pause)
        return {"idle_cpu": idle, "steps": steps, "terminal_bytes": follower_bytes(follower)}
    finally:
        if producer.poll() is None:
            producer.stdin.write("quit\n")
            producer.stdin.flush()
            try:
                producer.wait(10)
            except subprocess.TimeoutExpired:
                producer.kill()
        follower.close()


def follower_bytes(follower: Follower) -> int:
    return follower.terminal.bytes if follower.terminal is not None else 0


def follower_frames(follower: Follower) -> int:
    return follower.terminal.frames if follower.terminal is not None else 0


def emulator_pid(lab: Lab) -> int:
    from lab import runtime

    pid = runtime.running_pid(lab.config, "emulator")
    assert pid is not None
    return pid


def format_step(step: dict[str, Any]) -> str:
    twice = f", applied twice {step['twice']:,.0f}" if step["twice"] else ""
    stall = step["stall_s"]
    ticks = "" if stall != stall else f"; longest stall {stall:.2f} s"  # NaN: no ticks
    frames = f" ({step['frames_per_s']:.0f} frames/s)" if step["frames_per_s"] else ""
    return (
        f"{step['rate']:>6,} asked, {step['achieved']:>7,.0f} ev/s; lag p50 "
        f"{step['p50_ms']:>7.1f} p99 {step['p99_ms']:>8.1f} max {step['max_ms']:>8.1f} ms, "
        f"missed {step['missed']:.0f}{twice}; CPU {step['cpu']['follower']:.2f} "
        f"(emulator {step['cpu']['emulator']:.2f}, producer {step['cpu']['producer']:.2f}, "
        f"machine {step['cpu']['machine']:.0%}){ticks}; to the terminal "
        f"{step['terminal_bytes_per_s'] / 1000:,.0f} kB/s{frames}"
    )


# ---------------------------------------------------------------- report


def ramp(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps of the ascending run (not the repeat at 1,000/s that ends it)."""
    found: list[dict[str, Any]] = []
    for step in steps:
        if found and step["rate"] <= found[-1]["rate"]:
            break
        found.append(step)
    return found


def passed(step: dict[str, Any]) -> bool:
    return not step["missed"] and not step["twice"] and step["p99_ms"] < LAG_GOAL_MS


def followed(steps: list[dict[str, Any]]) -> float:
    """The highest achieved rate of a passing step of the ramp below which no step failed (0:
    none passed)."""
    best = 0.0
    for step in ramp(steps):
        if not passed(step):
            break
        best = max(best, step["achieved"])
    return best


def cpu_at(steps: list[dict[str, Any]], rate: int, last: bool) -> float:
    found = [s["cpu"]["follower"] for s in steps if s["rate"] == rate]
    if not found:
        return float("nan")
    return found[-1] if last else found[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rates", default="1000,2000,5000,8000,10000,1000", help="events/s, one step each"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="per step")
    parser.add_argument("--warmup", type=float, default=2.0, help="of each step, not in its CPU")
    parser.add_argument("--idle", type=float, default=3.0, help="idle window before the steps")
    parser.add_argument("--settle", type=float, default=2.0, help="after the follower caught up")
    parser.add_argument("--pause", type=float, default=2.0, help="between steps")
    parser.add_argument("--grace", type=float, default=10.0, help="to catch up after a step")
    parser.add_argument("--tui-only", action="store_true", help="skip the peer")
    parser.add_argument("--profile", type=Path, help="cProfile the TUI into FILE")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--produce", metavar="ENDPOINT", help=argparse.SUPPRESS)
    parser.add_argument("--queue-url", help=argparse.SUPPRESS)
    parser.add_argument("--lb-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.produce:
        produce(args.produce, args.queue_url, args.lb_url)
        return 0

    rates = [int(r) for r in args.rates.split(",")]
    began = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="bench-tui-"))
    lab = None
    results: dict[str, dict[str, Any]] = {}
    try:
        lab = set_up(tmp)
        print(
            f"emulator {lab.config.endpoint}; steps {', '.join(f'{r:,}' for r in rates)} "
            f"events/s, {args.seconds:g} s each; terminal {COLUMNS}x{ROWS}",
            flush=True,
        )
        env = follower_env(lab)
        tui = TuiFollower(env, tmp / "tui-stats", args.profile)
        results["tui"] = run_side(lab, tui, rates, args)
        if not args.tui_only:
            restart(lab)
            results["peer"] = run_side(lab, PeerFollower(env), rates, args)
    finally:
        if lab is not None:
            from lab import runtime
            from lab.web import fleet

            fleet.stop(lab.config, lab.web)
            runtime.stop(lab.config, "emulator")
        shutil.rmtree(tmp, ignore_errors=True)

    return report(results, rates, args, time.monotonic() - began)


def report(
    results: dict[str, dict[str, Any]], rates: list[int], args: argparse.Namespace, took: float
) -> int:
    names = {"tui": TuiFollower.name, "peer": PeerFollower.name}
    summary = {}
    for side, result in results.items():
        steps = result["steps"]
        summary[side] = {
            "followed": followed(steps),
            "all_passed": len(ramp(steps)) == len(ramp([{"rate": r} for r in rates]))
            and all(passed(s) for s in ramp(steps)),
            "cpu_at_1000": cpu_at(steps, CPU_RATE, last=False),
            "cpu_at_1000_after": cpu_at(steps, CPU_RATE, last=True),
            "idle_cpu": result["idle_cpu"]["follower"],
        }
    print(
        f"\n{args.seconds:g} s per step; lag = reached the follower - published; CPU of one "
        f"core; load average {os.getloadavg()[0]:.2f}; took {took:.0f} s\n"
    )
    print("| rate asked | achieved ev/s | follower | lag p50 ms | p99 ms | max ms | missed "
          "| CPU | machine busy |")  # fmt: skip
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for index in range(len(rates)):
        for side, result in results.items():
            if index >= len(result["steps"]):
                continue
            s = result["steps"][index]
            print(
                f"| {s['rate']:,} | {s['achieved']:,.0f} | {names[side]} | {s['p50_ms']:.1f} | "
                f"{s['p99_ms']:.1f} | {s['max_ms']:.1f} | {s['missed']:,.0f} | "
                f"{s['cpu']['follower']:.3f} | {s['cpu']['machine']:.0%} |"
            )
    print(
        "\n| follower | follows (lag p99 < 250 ms) | CPU at 1,000/s | at 1,000/s after the run "
        "| idle CPU |\n|---|---:|---:|---:|---:|"
    )

    def rate_text(side: str) -> str:
        value = summary[side]["followed"]
        return f"{'>= ' if summary[side]['all_passed'] else ''}{value:,.0f} ev/s"

    for side in results:
        s = summary[side]
        print(
            f"| {names[side]} | {rate_text(side)} | {s['cpu_at_1000']:.3f} | "
            f"{s['cpu_at_1000_after']:.3f} | {s['idle_cpu']:.3f} |"
        )
    if "peer" in summary:
        t, p = summary["tui"], summary["peer"]
        print(
            f"| TUI / peer | {t['followed'] / max(p['followed'], 1e-9):.2f} | "
            f"{t['cpu_at_1000'] / max(p['cpu_at_1000'], 1e-9):.1f}x | "
            f"{t['cpu_at_1000_after'] / max(p['cpu_at_1000_after'], 1e-9):.1f}x | |"
        )
    tui = summary["tui"]
    floors = {
        f"the TUI follows at least {RATE_GOAL:,} events/s with lag p99 under "
        f"{LAG_GOAL_MS:.0f} ms": tui["followed"] >= RATE_GOAL * 0.95,
        f"the TUI uses under {CPU_GOAL} of one core at {CPU_RATE:,} events/s": max(
            tui["cpu_at_1000"], tui["cpu_at_1000_after"]
        )
        < CPU_GOAL,
    }
    print()
    for floor, ok in floors.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {floor}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {"results": results, "summary": summary, "floors": floors, "took_s": took},
                indent=2,
            )
        )
    return 0 if all(floors.values()) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
