"""What the compose tests share: the engine (podman, as root, with podman-compose), the base
image made from Debian's mirror (no registry is reachable here), and the environment of a
compose lab of the tests' own (its project name, state folder and ports), so nothing collides
with a lab someone is running on the same machine.

The base image comes from ``docker/build-base.sh``, the recipe users run too; it is cached in
the engine and debootstrap's tree in ``~/.cache/decoupling-lab/``, so a second run costs
nothing. The lab's images are built by ``lab up --target compose`` itself (on that base), and
kept: a later run only rebuilds what changed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from lab.targets import compose
from tests.support.lab import isolated_env

ROOT = Path(__file__).resolve().parent.parent.parent
BASE = compose.LOCAL_BASE


def podman_env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(compose.CONTAINERS_CONF)}


def podman(
    *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["podman", *args], capture_output=True, text=True, env=podman_env(), timeout=timeout
    )
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def require_podman() -> None:
    """Skip where there is no podman to test with, except in CI, which installs it
    (`make test`: COMPOSE_PACKAGES) and must not pass by skipping."""
    missing = [tool for tool in ("podman", "debootstrap") if not shutil.which(tool)]
    if compose._podman_compose() is None:
        missing.append("podman-compose")
    if os.geteuid() != 0:
        missing.append("root (the lab's podman runs as root)")
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the compose tests need {', '.join(missing)} (make test installs them)")
        pytest.skip(f"needs {', '.join(missing)}")


@pytest.fixture(scope="session")
def base_image() -> str:
    """``localhost/debian-base``, made by docker/build-base.sh unless it exists."""
    require_podman()
    done = subprocess.run(
        ["sh", str(ROOT / "docker" / "build-base.sh"), BASE],
        capture_output=True, text=True, env={**podman_env(), "ENGINE": "podman"}, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return BASE


def compose_env(tmp_path: Path, project: str, **extra: str) -> dict[str, str]:
    """A compose lab of the tests' own: project ``project``, free ports for the cloud, nginx
    and the emulator's listener, the state folder (logs, the podman service's pid) in
    ``tmp_path``, the base image made here."""
    env = isolated_env(tmp_path)
    env.update(
        LAB_TARGET="compose",
        COMPOSE_PROJECT_NAME=project,
        LAB_BASE_IMAGE=BASE,
        CONTAINERS_CONF=str(compose.CONTAINERS_CONF),
    )
    env.pop("COMPOSE_PROFILES", None)
    env.update(extra)
    return env


def project_containers(project: str) -> list[str]:
    """Names of every container of ``project``, running or not, as podman lists them."""
    done = podman(
        "ps", "-a", "--filter", f"label=com.docker.compose.project={project}",
        "--format", "{{.Names}}",
    )  # fmt: skip
    return [line for line in done.stdout.split() if line]


def remove_project(project: str) -> None:
    """What a failed test may leave: the project's containers, network and volumes."""
    for name in project_containers(project):
        podman("rm", "-f", "-t", "0", name, check=False)
    podman("network", "rm", "-f", f"{project}_default", check=False)
    for volume in ("lab-state", "localstack-state"):
        podman("volume", "rm", "-f", f"{project}_{volume}", check=False)
