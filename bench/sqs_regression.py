"""SQS throughput now against the same emulator at an earlier commit, side by side in one run:
has a change made the hot path slower?

    .venv/bin/python -m bench.sqs_regression --ref COMMIT [--rounds 3] [--seconds 3]

The earlier commit is unpacked with ``git archive`` (the repository is not touched) and run
from there with the same Python; both emulators serve at once. Each round measures both sides,
in turns that alternate (ref first in odd rounds), and the figure per scenario is the median of
the rounds, so a noisy moment on a shared machine hits both sides alike. Scenarios as in
``bench.sqs_throughput``."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tarfile
import tempfile
from pathlib import Path

from bench.common import ROOT, free_port, stop_process, wait_http
from bench.sqs_throughput import run_side


def unpack(ref: str, into: Path) -> str:
    """The tree of ``ref`` in ``into``; its full commit id."""
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", ref + "^{commit}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    archive = into.with_suffix(".tar")
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", commit], cwd=ROOT, stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    archive.unlink()
    return commit


def start(tree: Path, state: Path) -> tuple[subprocess.Popen[bytes], str]:
    """An emulator from ``tree`` (its own ``emulator`` package first on the path)."""
    port = free_port()
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "python"),
            "-m",
            "emulator",
            "--port",
            str(port),
            "--state-dir",
            str(state),
        ],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_http(f"http://127.0.0.1:{port}/_lab/health", proc)
    return proc, f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ref", required=True, help="the earlier commit (any git revision)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="window per scenario")
    parser.add_argument("--backlog", type=int, default=5_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-sqs-regression-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        commit = unpack(args.ref, work / "ref")
        ref_proc, ref_url = start(work / "ref", work / "state-ref")
        now_proc, now_url = start(ROOT, work / "state-now")
        procs += [ref_proc, now_proc]
        print(
            f"ref {commit[:10]} against the working tree: {args.rounds} rounds, window "
            f"{args.seconds:g} s, backlog {args.backlog}",
            flush=True,
        )
        figures: dict[str, list[dict[str, float]]] = {"ref": [], "now": []}
        for round_ in range(args.rounds):
            order = [("ref", ref_url), ("now", now_url)]
            for side, url in order if round_ % 2 == 0 else order[::-1]:
                figures[side].append(run_side(url, args.seconds, args.backlog))
                print(f"round {round_ + 1} {side}: {figures[side][-1]}", flush=True)
    finally:
        for proc in procs:
            stop_process(proc)
        shutil.rmtree(work, ignore_errors=True)
    median = {
        side: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        for side, runs in figures.items()
    }
    print(f"\n| scenario | {commit[:10]} msg/s | now msg/s | now / ref |\n|---|---:|---:|---:|")
    for name, before in median["ref"].items():
        after = median["now"][name]
        print(f"| {name} | {before:,.0f} | {after:,.0f} | {after / max(before, 1e-9):.3f} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"ref": commit, "median": median, "runs": figures}))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
