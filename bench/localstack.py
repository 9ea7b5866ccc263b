"""LocalStack's core on the host, as a peer for the benches: no Docker, no auth token, SQS and S3.

It needs Python 3.13 (3.11 fails on its newer syntax) and a virtualenv of its own, made once in
``~/.cache/decoupling-lab/localstack-venv`` (``BENCH_LOCALSTACK_VENV`` elsewhere) from
pyenv's 3.13 (or ``python3.13`` on the path) with the pins that install here."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path

PACKAGES = (
    "localstack-core[base-runtime]==2026.3.0",
    "cbor2<6",
    "pyopenssl<26",
    "cryptography<47",
    "service-identity",
)
VENV = Path(
    os.environ.get(
        "BENCH_LOCALSTACK_VENV",
        Path.home() / ".cache" / "decoupling-lab" / "localstack-venv",
    )
)


class Unavailable(RuntimeError):
    """LocalStack cannot be run here; the message says why."""


def _python313() -> str | None:
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for candidate in sorted((pyenv_root / "versions").glob("3.13*/bin/python3.13"), reverse=True):
        return str(candidate)
    return shutil.which("python3.13")


def ensure_venv(say: Callable[[str], object] = print) -> Path:
    """The virtualenv's python, made and installed the first time."""
    python = VENV / "bin" / "python"
    marker = VENV / ".installed"
    if python.exists() and marker.exists() and marker.read_text() == "\n".join(PACKAGES):
        return python
    base = _python313()
    if base is None:
        raise Unavailable("LocalStack's core needs Python 3.13 (pyenv install 3.13, or python3.13)")
    say(f"setting up LocalStack's core in {VENV} (once)")
    try:
        subprocess.run([base, "-m", "venv", str(VENV)], check=True, capture_output=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *PACKAGES], check=True, capture_output=True
        )
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode(errors="replace").strip().splitlines()[-3:]
        raise Unavailable(f"installing {PACKAGES[0]} failed: {' / '.join(detail)}") from None
    marker.write_text("\n".join(PACKAGES))
    return python


def start(python: Path, port: int, root: Path) -> subprocess.Popen[bytes]:
    """LocalStack's runtime on 127.0.0.1:PORT with SQS and S3, its files under ``root``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAB_", "AWS_"))}
    env.update(
        GATEWAY_LISTEN=f"127.0.0.1:{port}",
        LOCALSTACK_HOST=f"localhost.localstack.cloud:{port}",
        SERVICES="sqs,s3",
        OVERRIDE_IN_DOCKER="0",
        FILESYSTEM_ROOT=str(root),
        DISABLE_EVENTS="1",
        SKIP_SSL_CERT_DOWNLOAD="1",
        DNS_ADDRESS="0",
    )
    return subprocess.Popen(
        [str(python), "-m", "localstack.runtime.main"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def services_available(base: str, services: Iterable[str]) -> bool:
    """``/_localstack/health`` answers with each of ``services`` available (or running)."""
    try:
        with urllib.request.urlopen(base + "/_localstack/health", timeout=1.0) as resp:
            states = json.loads(resp.read()).get("services", {})
    except (OSError, ValueError):
        return False
    return all(states.get(name) in ("available", "running") for name in services)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to its process group (its session: ``start``), SIGKILL after 20 s."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
