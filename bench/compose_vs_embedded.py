"""The lab in containers against the embedded lab, in one run:

    .venv/bin/python -m bench.compose_vs_embedded [--cold] [--from-scratch] [--seconds 5]
                                                  [--rounds 3] [--json]

1. Start-up to a picture: from ``lab up --target compose`` to a rendered PNG served by the
   website endpoint (a URL2PNG job for ``http://nginx/`` submitted from the host, rendered in a
   worker container, read back through ``url2png.s3-website.localhost``), split into the
   ``lab up`` and the job. Warm: the images exist (``lab down`` first, so every container is
   new). ``--cold``: the lab's two images are removed first, so ``lab up`` builds them (on the
   base image, which stays); ``--from-scratch``: the base image and debootstrap's cache go
   too, so Debian itself is fetched again (docker/build-base.sh).
2. Requests per second through the balancers, each in front of 3 web servers, by ``wrk -t2
   -c64`` (an aiohttp generator without wrk), ``--rounds`` rounds in alternating order, the best
   of each counting: nginx in front of the 3 web containers (compose), the emulator's ALB in
   the compose lab in front of the same containers, and the embedded lab's ALB in front of its
   3 web servers on 127.0.0.11-13 (``lab up``), with the embedded lab's nginx
   (``lab lb nginx start``) beside it, so nginx in containers can be set against nginx on the
   host. The ratio the issue asks for: compose nginx / embedded ALB.

Both labs run side by side on ports of their own (the compose project ``decoupling-lab-bench``,
a state folder of its own), so a lab someone else runs is neither touched nor measured; the
base image is ``LAB_BASE_IMAGE`` (default ``localhost/debian-base``, made by
docker/build-base.sh when missing). All traffic goes to 127.0.0.1; both labs are stopped at the
end. Results also go to ``bench/results/compose_vs_embedded.json``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.alb_vs_nginx import CONNECTIONS, throughput
from bench.common import ROOT, free_port
from lab.targets import compose

LAB = str(Path(sys.executable).with_name("lab"))
PROJECT = "decoupling-lab-bench"
WEB_IPS = ("127.0.0.11", "127.0.0.12", "127.0.0.13")
RESULTS = ROOT / "bench" / "results" / "compose_vs_embedded.json"


def lab(env: dict[str, str], *args: str, timeout: float = 1800) -> str:
    done = subprocess.run([LAB, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"lab {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def podman(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONTAINERS_CONF": str(compose.CONTAINERS_CONF)}
    return subprocess.run(["podman", *args], capture_output=True, text=True, env=env, check=False)


def base_env(state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAB_", "COMPOSE_"))}
    env.update(
        LAB_STATE_DIR=str(state),
        LAB_PORT=str(free_port()),
        LAB_PAGES_PORT=str(free_port()),
        LAB_NGINX_PORT=str(free_port()),
        LAB_LISTENER_PORT_OFFSET=str(free_port() - 80),
        LAB_HEALTH_CHECK_INTERVAL="5",
    )
    return env


def get(port: int, path: str = "/", host: str | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Host": host} if host else {})
        reply = conn.getresponse()
        return reply.status, dict(reply.getheaders()), reply.read()
    finally:
        conn.close()


def answering_ips(port: int, n: int = 9) -> set[str]:
    seen = set()
    for _ in range(n):
        try:
            status, headers, _ = get(port)
        except OSError:
            continue
        if status == 200 and headers.get("X-Lab-Private-Ip"):
            seen.add(headers["X-Lab-Private-Ip"])
    return seen


def wait_for_three(port: int, timeout: float = 90) -> None:
    """Until the balancer on ``port`` answers from 3 servers (the ALB's targets turn healthy
    after their checks)."""
    deadline = time.monotonic() + timeout
    while len(answering_ips(port)) < 3:
        if time.monotonic() > deadline:
            raise RuntimeError(f"127.0.0.1:{port} does not answer from 3 servers")
        time.sleep(0.5)


def up_to_png(env: dict[str, str]) -> dict[str, float]:
    """``lab up --target compose``, then a job for the nginx page until its PNG is served."""
    port = int(env["LAB_PORT"])
    started = time.monotonic()
    lab(env, "up", "--target", "compose")
    up_done = time.monotonic()
    out = lab(env, "url2png", "submit", "--target", "compose", "http://nginx/", "--wait")
    job = re.search(r"available at \S+/([0-9a-f-]{36})\.png", out)
    if not job:
        raise RuntimeError(f"no job id in: {out}")
    status, headers, body = get(
        port, f"/{job.group(1)}.png", f"url2png.s3-website.localhost:{port}"
    )
    if status != 200 or not body.startswith(b"\x89PNG"):
        raise RuntimeError(f"the PNG was not served: {status} {headers}")
    done = time.monotonic()
    return {"up_s": up_done - started, "job_s": done - up_done, "total_s": done - started}


def remove_images(from_scratch: bool) -> None:
    for image in compose.IMAGES:
        podman("rmi", "-f", image)
    if from_scratch:
        podman("rmi", "-f", compose.LOCAL_BASE)
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        shutil.rmtree(cache / "decoupling-lab" / "debian-base", ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold", action="store_true", help="remove the lab's images first")
    parser.add_argument(
        "--from-scratch", action="store_true", help="and the base image and debootstrap's cache"
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="per throughput measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per balancer")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="compose-vs-embedded-"))
    cenv = base_env(tmp / "compose")
    cenv.update(
        LAB_TARGET="compose",
        COMPOSE_PROJECT_NAME=PROJECT,
        LAB_BASE_IMAGE=os.environ.get("LAB_BASE_IMAGE") or compose.LOCAL_BASE,
    )
    eenv = base_env(tmp / "embedded")
    eenv["LAB_WEB_PORT"] = str(free_port(WEB_IPS))
    startup: dict[str, dict[str, float]] = {}
    rps: dict[str, list[float]] = {}
    try:
        lab(cenv, "down", "--target", "compose")
        if args.cold or args.from_scratch:
            remove_images(args.from_scratch)
            kind = "from scratch" if args.from_scratch else "cold"
            startup[kind] = up_to_png(cenv)
            lab(cenv, "down", "--target", "compose")
        startup["warm"] = up_to_png(cenv)

        lab(eenv, "up")
        lab(eenv, "lb", "nginx", "start")
        balancers = {
            "compose nginx": int(cenv["LAB_NGINX_PORT"]),
            "compose emulator ALB": 80 + int(cenv["LAB_LISTENER_PORT_OFFSET"]),
            "embedded ALB": 80 + int(eenv["LAB_LISTENER_PORT_OFFSET"]),
            "embedded nginx": int(eenv["LAB_NGINX_PORT"]),
        }
        for port in balancers.values():
            wait_for_three(port)
        order = list(balancers)
        for round_ in range(args.rounds):
            for name in order if round_ % 2 == 0 else order[::-1]:
                url = f"http://127.0.0.1:{balancers[name]}/"
                throughput(url, 1)  # warm the connections and the proxies
                measured = throughput(url, args.seconds)
                if measured["non_2xx"] or measured["socket_errors"]:
                    print(f"warning: {name}: {measured}", file=sys.stderr)
                rps.setdefault(name, []).append(measured["rps"])
                time.sleep(1)
    finally:
        subprocess.run([LAB, "down"], env=eenv, capture_output=True, timeout=120)
        subprocess.run(
            [LAB, "down", "--target", "compose"], env=cenv, capture_output=True, timeout=300
        )
        podman("volume", "rm", "-f", f"{PROJECT}_lab-state")
        shutil.rmtree(tmp, ignore_errors=True)

    best = {name: max(values) for name, values in rps.items()}
    report = {
        "tool": "wrk" if shutil.which("wrk") else "aiohttp",
        "connections": CONNECTIONS,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "startup": startup,
        "rps_best": best,
        "rps_samples": rps,
        "compose_nginx_over_embedded_alb": best["compose nginx"] / best["embedded ALB"],
        "compose_nginx_over_embedded_nginx": best["compose nginx"] / best["embedded nginx"],
        "compose_alb_over_embedded_alb": best["compose emulator ALB"] / best["embedded ALB"],
        "load_average": os.getloadavg(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print("from `lab up --target compose` to a rendered PNG served by the website endpoint:")
    for kind, t in startup.items():
        print(
            f"  {kind:12} {t['total_s']:6.1f} s  (lab up {t['up_s']:.1f} s, then the job "
            f"{t['job_s']:.1f} s)"
        )
    print(
        f"requests per second, {CONNECTIONS} connections ({report['tool']}, best of "
        f"{args.rounds} x {args.seconds:g} s), 3 web servers behind each:"
    )
    for name, value in best.items():
        runs = ", ".join(f"{v:,.0f}" for v in rps[name])
        print(f"  {name:22} {value:>8,.0f}  ({runs})")
    print(f"compose nginx / embedded ALB:   {report['compose_nginx_over_embedded_alb']:.2f}")
    print(f"compose nginx / embedded nginx: {report['compose_nginx_over_embedded_nginx']:.2f}")
    print(f"compose ALB / embedded ALB:     {report['compose_alb_over_embedded_alb']:.2f}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
