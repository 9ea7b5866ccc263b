"""Start-up times of the lab, beside LocalStack's core on the host, in one run:

    .venv/bin/python -m bench.lab_start [--runs 5] [--lab-only] [--json FILE]

- ``make lab`` a second time (set-up done, lab stopped) until the TUI is live: ``make lab`` runs
  in a real pseudo-terminal, whose screen is kept by the ``pyte`` terminal emulator
  (a dev dependency), and the time is taken at the first frame that shows the
  ``url2png`` queue row; then ``q`` quits the TUI and ``lab down`` stops the lab (not timed);
- ``lab up`` alone, from stopped to ready (the command returns), then ``lab down``;
- the emulator after ``kill -9``: started again on the same state folder as ``lab up`` starts it,
  until ``/_lab/health`` answers and SQS answers (``GetQueueUrl url2png``); when S3 (moto) then
  answers too is reported beside it;
- the peer: LocalStack's core (``localstack-core[base-runtime]`` in a Python 3.13 virtualenv of
  its own, see ``bench/localstack.py``), from start until ``/_localstack/health`` says ``sqs``
  and ``s3`` are available, and until its SQS answers the same ``GetQueueUrl``-style call.

The lab runs on a fresh state folder and ports of its own (``LAB_PORT``, ``LAB_WEB_PORT``,
``LAB_LISTENER_PORT_OFFSET``, ``LAB_NGINX_PORT``, ``LAB_INSTANCE_NETWORK``), so a lab someone
else runs on this machine is neither touched nor measured. Medians of ``--runs`` runs; every
process is stopped at the end."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench import localstack
from bench.common import ROOT, free_port

WEB_IPS = ("127.0.0.11", "127.0.0.12", "127.0.0.13")
COLUMNS, LINES = 160, 48
# A queue row of the TUI's queues panel: the name, then its numbers (not `url2png-dlq`, and not
# `lab up`'s "url2png: queue http://..." line, which stays on the screen until the TUI draws).
QUEUE_ROW = re.compile(r"(^|\s)url2png\s+\d+\s+\d+\s")
LAB = str(ROOT / ".venv" / "bin" / "lab")
# The checkout whose lab is measured (--checkout: another one, run with this one's venv).
CHECKOUT = ROOT


# ---------------------------------------------------------------- the lab's own settings


def lab_env(state: Path) -> dict[str, str]:
    """This process's environment without its ``LAB_*`` variables, plus a lab of its own."""
    listener = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAB_")}
    env.update(
        LAB_STATE_DIR=str(state),
        LAB_PORT=str(free_port()),
        LAB_WEB_PORT=str(free_port(WEB_IPS)),
        # the ALB's listener on port 80 is served on 80 + offset: a port free now
        LAB_LISTENER_PORT_OFFSET=str(listener - 80),
        LAB_NGINX_PORT=str(free_port()),
        LAB_INSTANCE_NETWORK=f"127.{listener >> 8}.{listener & 255}.0/24",
        PYTHONWARNINGS="ignore",
    )
    if CHECKOUT != ROOT:  # its packages before this checkout's (installed in the venv)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CHECKOUT), env.get("PYTHONPATH")]))
    return env


def make(*targets: str) -> list[str]:
    """``make TARGETS`` as a user types it in the checkout. Another checkout runs with this
    one's venv, whose set-up stamp is never remade (``-o``): the set-up would install that
    checkout into the venv in place of this one."""
    if CHECKOUT == ROOT:
        return ["make", "--no-print-directory", *targets]
    venv = ROOT / ".venv"
    stamp = venv / ".installed"
    return ["make", "--no-print-directory", "-C", str(CHECKOUT), f"VENV={venv}", "-o", str(stamp),
            *targets]  # fmt: skip


def endpoint(env: dict[str, str]) -> str:
    return f"http://127.0.0.1:{env['LAB_PORT']}"


def lab(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [LAB, *args], env=env, cwd=CHECKOUT, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"lab {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done


# ---------------------------------------------------------------- probes


def _get(url: str, timeout: float = 1.0) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.read()
    except OSError:
        return None


def sqs_answers(base: str, queue: str = "url2png") -> bool:
    """GetQueueUrl in the query protocol, as the AWS CLI v1 sends it: any SQS reply counts
    (LocalStack has no such queue and answers with an error document)."""
    request = urllib.request.Request(
        base + "/",
        data=f"Action=GetQueueUrl&QueueName={queue}&Version=2012-11-05".encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/"
            "aws4_request, SignedHeaders=host, Signature=0",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=1.0) as resp:
            return b"QueueUrl" in resp.read()
    except urllib.error.HTTPError as exc:
        return b"Queue" in exc.read()
    except OSError:
        return False


def s3_answers(base: str) -> bool:
    """ListBuckets answered (moto, on the lab)."""
    request = urllib.request.Request(
        base + "/",
        headers={
            "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/"
            "aws4_request, SignedHeaders=host, Signature=0"
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=2.0) as resp:
            return b"ListAllMyBucketsResult" in resp.read()
    except OSError:
        return False


def wait_until(check, timeout: float = 60, proc: subprocess.Popen | None = None) -> float:
    """Seconds (monotonic clock) at which ``check()`` first held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        time.sleep(0.01)
    raise RuntimeError(f"not ready within {timeout:g} s")


# ---------------------------------------------------------------- make lab, under a terminal


class Terminal:
    """A pseudo-terminal of COLUMNS x LINES whose screen ``pyte`` keeps."""

    def __init__(self) -> None:
        import pyte

        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
        self.screen = pyte.Screen(COLUMNS, LINES)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()

    def spawn(self, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        def controlling_terminal() -> None:  # after setsid (start_new_session)
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        proc = subprocess.Popen(
            argv,
            cwd=CHECKOUT,
            env={**env, "TERM": "xterm-256color", "COLUMNS": str(COLUMNS), "LINES": str(LINES)},
            stdin=self.slave,
            stdout=self.slave,
            stderr=self.slave,
            start_new_session=True,
            preexec_fn=controlling_terminal,
        )
        os.close(self.slave)
        return proc

    def read(self, timeout: float) -> bool:
        """Feed what arrives within ``timeout`` to the screen; False once the other side is
        closed."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.master, 1 << 16)
        except OSError:  # EIO: every process of the terminal closed it
            return False
        if not data:
            return False
        self.raw += data
        self.stream.feed(data)
        return True

    def shows(self, pattern: re.Pattern[str]) -> bool:
        return any(pattern.search(line) for line in self.screen.display)

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.master)


def make_lab_once(env: dict[str, str], timeout: float = 60) -> dict[str, float]:
    """One ``make lab`` from a stopped lab: seconds until ``lab up`` printed its last line and
    until the TUI's first frame with the url2png queue row; then quit and ``lab down``."""
    term = Terminal()
    start = time.monotonic()
    proc = term.spawn(make("lab"), env)
    figures: dict[str, float] = {}
    try:
        deadline = start + timeout
        while time.monotonic() < deadline:
            if not term.read(0.02):
                break
            if "up" not in figures and b"(try: lab lb hit" in term.raw:
                figures["up"] = time.monotonic() - start
            if term.shows(QUEUE_ROW):
                figures["tui"] = time.monotonic() - start
                break
        if "tui" not in figures:
            tail = "\n".join(line.rstrip() for line in term.screen.display if line.strip())
            raise RuntimeError(
                f"make lab showed no url2png queue row within {timeout:g} s:\n{tail}"
            )
        term.type(b"q")
        quit_deadline = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < quit_deadline:
            term.read(0.05)
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        term.close()
        lab(env, "down")
    return figures


# ---------------------------------------------------------------- lab up, kill -9


def lab_up_once(env: dict[str, str]) -> float:
    start = time.monotonic()
    lab(env, "up")
    took = time.monotonic() - start
    lab(env, "down")
    return took


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def restart_after_kill9(env: dict[str, str]) -> dict[str, float]:
    """With the lab up, ``kill -9`` the emulator, then start it again as ``lab up`` does (same
    command line, pid file and log) and time health, SQS and S3."""
    from lab import runtime
    from lab.config import LabConfig

    config = LabConfig.from_env(env)
    pid = runtime.running_pid(config, "emulator")
    if pid is None:
        raise RuntimeError("the emulator is not running")
    os.kill(pid, signal.SIGKILL)
    while _pid_alive(pid):
        time.sleep(0.01)
    base = endpoint(env)
    argv = [sys.executable, "-m", "emulator", *config.emulator_settings().to_argv()]
    child_env = {k: v for k, v in env.items() if not k.startswith("LAB_")}
    start = time.monotonic()
    runtime.spawn(config, "emulator", argv, child_env)
    health = wait_until(lambda: _get(base + "/_lab/health", 0.5) is not None)
    sqs = wait_until(lambda: sqs_answers(base))
    s3 = wait_until(lambda: s3_answers(base))
    return {"health": health - start, "sqs": sqs - start, "s3": s3 - start}


# ---------------------------------------------------------------- the peer


def localstack_once(venv_python: Path) -> dict[str, float]:
    port = free_port()
    root = Path(tempfile.mkdtemp(prefix="bench-localstack-"))
    base = f"http://127.0.0.1:{port}"
    start = time.monotonic()
    proc = localstack.start(venv_python, port, root)
    try:
        health = wait_until(lambda: localstack.services_available(base, ("sqs", "s3")), proc=proc)
        sqs = wait_until(lambda: sqs_answers(base), proc=proc)
        return {"health": health - start, "sqs": sqs - start}
    finally:
        localstack.stop(proc)
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------- the run


def median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="runs of each measurement")
    parser.add_argument("--lab-only", action="store_true", help="skip LocalStack")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--checkout",
        type=Path,
        default=ROOT,
        help="measure the lab of this folder instead, with this checkout's venv (an older "
        "version, say: mkdir old && git archive COMMIT | tar -x -C old)",
    )
    args = parser.parse_args()
    global CHECKOUT
    CHECKOUT = args.checkout.resolve()
    json_path = args.json.resolve() if args.json else None
    os.chdir(CHECKOUT)  # what the lab starts (python -m emulator) runs from there, as for a user
    try:
        import pyte  # noqa: F401
    except ImportError:
        sys.exit("bench.lab_start needs pyte: make setup installs it")

    peer_python: Path | None = None
    peer_note = "skipped (--lab-only)"
    if not args.lab_only:
        try:
            peer_python = localstack.ensure_venv(print)
        except localstack.Unavailable as exc:
            peer_note = f"not measured: {exc}"

    load_before = os.getloadavg()
    print("set-up check: make setup", flush=True)
    subprocess.run(make("-s", "setup"), cwd=CHECKOUT, check=True)
    state = Path(tempfile.mkdtemp(prefix="bench-lab-start-"))
    env = lab_env(state)
    print(
        f"lab of {CHECKOUT} on {endpoint(env)}, state in {state}; "
        "first lab up (creates the resources)",
        flush=True,
    )
    results: dict[str, object] = {"runs": args.runs, "checkout": str(CHECKOUT)}
    try:
        lab(env, "up")
        lab(env, "down")
        make_runs = []
        for n in range(args.runs):
            make_runs.append(make_lab_once(env))
            print(f"  make lab {n + 1}: {make_runs[-1]}", flush=True)
        up_runs = []
        for n in range(args.runs):
            up_runs.append({"up": lab_up_once(env)})
            print(f"  lab up {n + 1}: {up_runs[-1]['up']:.3f} s", flush=True)
        crash_runs = []
        lab(env, "up")
        for n in range(args.runs):
            crash_runs.append(restart_after_kill9(env))
            print(f"  after kill -9 {n + 1}: {crash_runs[-1]}", flush=True)
        lab(env, "down")
    finally:
        with contextlib.suppress(Exception):
            lab(env, "down")
        shutil.rmtree(state, ignore_errors=True)
    peer_runs = []
    if peer_python is not None:
        try:
            for n in range(args.runs):
                peer_runs.append(localstack_once(peer_python))
                print(f"  LocalStack {n + 1}: {peer_runs[-1]}", flush=True)
        except RuntimeError as exc:
            peer_note = f"not measured: LocalStack did not start ({exc})"
            peer_runs = []

    # (figure, lab's median, LocalStack's counterpart: "health" start to ready, "sqs" start to
    # its SQS answering, or None)
    rows = [
        ("make lab, second time, to a live TUI", median(make_runs, "tui"), "health"),
        ("  of which: lab up's output done", median(make_runs, "up"), None),
        ("lab up alone, stopped to ready", median(up_runs, "up"), "health"),
        ("emulator after kill -9: /_lab/health answers", median(crash_runs, "health"), "health"),
        ("emulator after kill -9: SQS answers", median(crash_runs, "sqs"), "sqs"),
        ("emulator after kill -9: S3 (moto) answers too", median(crash_runs, "s3"), "sqs"),
    ]
    peer = {key: median(peer_runs, key) for key in ("health", "sqs")} if peer_runs else None
    load = os.getloadavg()
    print(
        f"\nmedians of {args.runs} runs, seconds (load average {load_before[0]:.1f} before, "
        f"{load[0]:.1f} after, {os.cpu_count()} cores)"
    )
    if peer:
        print(
            f"LocalStack's core: start to /_localstack/health with sqs and s3 available "
            f"{peer['health']:.2f} s, to its SQS answering {peer['sqs']:.2f} s"
        )
    else:
        print(f"LocalStack: {peer_note}")
    print("\n| figure | lab s | LocalStack s | LocalStack / lab |\n|---|---:|---:|---:|")
    for name, value, counterpart in rows:
        theirs = peer[counterpart] if peer and counterpart else None
        cells = ("-", "-") if theirs is None else (f"{theirs:.2f}", f"{theirs / value:.2f}")
        print(f"| {name} | {value:.2f} | {cells[0]} | {cells[1]} |")
    results.update(
        make_lab=make_runs,
        lab_up=up_runs,
        after_kill9=crash_runs,
        localstack=peer_runs,
        localstack_note=peer_note,
        medians={name: value for name, value, _ in rows},
        localstack_medians=peer,
        load_average=[load_before, load],
    )
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
