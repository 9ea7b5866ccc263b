"""SQS throughput: the lab's emulator against moto_server, side by side, in one run, one boto3
client each, the same calls and the same fixed window per scenario.

    .venv/bin/python -m bench.sqs_throughput [--seconds 5] [--backlog 10000]

Scenarios: send single messages; send batches of 10; receive+delete single messages from a
backlog; receive 10 + delete batch from a backlog. The backlog is topped up before each receive
scenario, so every side is measured at the same depth. moto's first backlog is loaded into its
backend before it serves (see ``bench/moto_prefilled.py``): through its API that alone takes
most of an hour here."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config

from bench.common import free_port, start_emulator, wait_http

DRAIN_QUEUE = "bench-drain"


def start_lab(state: Path) -> tuple[subprocess.Popen, str]:
    proc, port = start_emulator(state)
    return proc, f"http://127.0.0.1:{port}"


def start_moto(backlog: int) -> tuple[subprocess.Popen, str]:
    """moto's own server, with the drain queue's backlog loaded before it serves."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.moto_prefilled", "--port", str(port),
         "--queue", f"{DRAIN_QUEUE}:{backlog}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_http(f"http://127.0.0.1:{port}/moto-api/", proc)
    return proc, f"http://127.0.0.1:{port}"


def client(endpoint: str):
    return boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 0}, read_timeout=120),
    )


def depth(sqs, url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def top_up(sqs, url: str, backlog: int) -> None:
    missing = backlog - depth(sqs, url)
    print(f"  filling the backlog: {missing} messages", flush=True)
    while missing > 0:
        n = min(10, missing)
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "x" * 100} for i in range(n)]
        )
        missing -= n


def measure(seconds: float, step) -> float:
    """Messages per second that ``step`` (returning a message count) sustains over the window,
    or until the queue runs dry: the lab drains a 10,000 backlog in less than 5 s, and time
    spent receiving from an empty queue would only dilute its rate."""
    done = 0
    start = time.perf_counter()
    end = start + seconds
    while (now := time.perf_counter()) < end:
        got = step()
        if got == 0:
            now = time.perf_counter()
            break
        done += got
    return done / (now - start)


def run_side(endpoint: str, seconds: float, backlog: int) -> dict[str, float]:
    sqs = client(endpoint)
    results = {}
    url = sqs.create_queue(QueueName="bench-send", Attributes={"VisibilityTimeout": "600"})[
        "QueueUrl"
    ]

    def send_one() -> int:
        sqs.send_message(QueueUrl=url, MessageBody="x" * 100)
        return 1

    def send_ten() -> int:
        entries = [{"Id": str(i), "MessageBody": "x" * 100} for i in range(10)]
        return len(sqs.send_message_batch(QueueUrl=url, Entries=entries)["Successful"])

    results["send, single"] = measure(seconds, send_one)
    results["send, batches of 10"] = measure(seconds, send_ten)

    url = sqs.create_queue(QueueName=DRAIN_QUEUE, Attributes={"VisibilityTimeout": "600"})[
        "QueueUrl"
    ]

    def drain_one() -> int:
        msgs = sqs.receive_message(QueueUrl=url).get("Messages", [])
        for m in msgs:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return len(msgs)

    def drain_ten() -> int:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if msgs:
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)
            ]
            sqs.delete_message_batch(QueueUrl=url, Entries=entries)
        return len(msgs)

    for label, step in (
        ("receive+delete, single", drain_one),
        ("receive+delete, batches of 10", drain_ten),
    ):
        top_up(sqs, url, backlog)
        results[f"{label} (backlog {backlog})"] = measure(seconds, step)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="window per scenario")
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--lab-only", action="store_true", help="skip moto (quick checks only)")
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="bench-sqs-"))
    lab_proc, lab_url = start_lab(state)
    moto_proc, moto_url = (None, None) if args.lab_only else start_moto(args.backlog)
    try:
        print(
            f"window {args.seconds:g} s per scenario, backlog {args.backlog}, one boto3 client",
            flush=True,
        )
        lab = run_side(lab_url, args.seconds, args.backlog)
        print(f"lab: {lab}", flush=True)
        moto = (
            run_side(moto_url, args.seconds, args.backlog) if moto_url else dict.fromkeys(lab, 0.0)
        )
    finally:
        for proc in (lab_proc, moto_proc):
            if proc is None:
                continue
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(state, ignore_errors=True)
    rows = [(name, lab[name], moto[name], lab[name] / max(moto[name], 1e-9)) for name in lab]
    print("\n| scenario | lab msg/s | moto msg/s | lab / moto |\n|---|---:|---:|---:|")
    for name, a, b, ratio in rows:
        print(f"| {name} | {a:,.0f} | {b:,.1f} | {ratio:,.0f}x |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {"lab": lab, "moto": moto, "seconds": args.seconds, "backlog": args.backlog},
                indent=2,
            )
        )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
