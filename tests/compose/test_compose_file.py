"""compose.yaml as both compose tools read it: Debian's docker-compose (v1) validates it, and
podman-compose's resolved configuration keeps what the lab relies on (replicas, health checks,
ports on loopback only, one cloud per profile)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from lab.targets import compose
from tests.compose.conftest import ROOT

pytestmark = pytest.mark.slow

PROFILES = ("emulator", "localstack")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "LAB_"))}


@pytest.mark.parametrize("profile", PROFILES)
def test_docker_compose_validates(profile: str) -> None:
    tool = shutil.which("docker-compose")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is missing (make test installs it)")
        pytest.skip("needs Debian's docker-compose")
    done = subprocess.run(
        [tool, "-p", "decoupling-lab", "-f", "compose.yaml", "--profile", profile, "config", "-q"],
        cwd=ROOT, capture_output=True, text=True, env=_env(), timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def _podman_compose_config(profile: str) -> dict:
    tool = compose._podman_compose()
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("podman-compose is missing (the dev extras install it)")
        pytest.skip("needs podman-compose")
    done = subprocess.run(
        [tool, "-p", "decoupling-lab", "-f", "compose.yaml", "--profile", profile, "config"],
        cwd=ROOT, capture_output=True, text=True, env=_env(), timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


@pytest.mark.parametrize("profile", PROFILES)
def test_podman_compose_config_keeps_what_the_lab_needs(profile: str) -> None:
    config = _podman_compose_config(profile)
    services = config["services"]
    # one cloud per profile, answering as `cloud` on the compose network
    (other,) = set(PROFILES) - {profile}
    assert profile in services and other not in services
    assert "cloud" in services[profile]["networks"]["default"]["aliases"]
    # replicas honoured by podman-compose only with `mode: replicated` written out
    assert services["web"]["deploy"] == {"mode": "replicated", "replicas": 3}
    assert services["worker"]["deploy"] == {"mode": "replicated", "replicas": 2}
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    # the lab's images, built from the repository on a base image given as a build argument
    for name in ("web", "worker", "nginx"):
        build = services[name]["build"]
        assert build["dockerfile"].startswith("docker/")
        assert any(str(arg).startswith("BASE_IMAGE=") for arg in build["args"])
    assert services["web"]["image"] == services["worker"]["image"]
    if profile == "localstack":
        assert services["localstack"]["image"] == "docker.io/localstack/localstack:4.14.0"
        assert "LOCALSTACK_AUTH_TOKEN" in services["localstack"]["environment"]


def test_the_lab_reads_the_same_replicas() -> None:
    """What `lab up` waits for is what compose.yaml asks for."""
    assert compose.expected_containers() == {
        "emulator": 1, "web": 3, "nginx": 1, "worker": 2, "pages": 1,
    }  # fmt: skip
