"""What `lab up --target compose` says when it cannot work: no container engine at all, and
LocalStack exiting at start for want of an account token, each in one sentence that says what
to do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.compose.conftest import compose_env, podman, project_containers, remove_project
from tests.support.lab import isolated_env, run_lab

pytestmark = pytest.mark.slow

# What LocalStack's images after 4.14 print and do without LOCALSTACK_AUTH_TOKEN (as reported
# in public issues: exit status 55 after these lines). No registry is reachable here, so a
# stand-in image built on the base image prints them and exits the same way.
NO_TOKEN_LOG = """LocalStack version: 2026.3.1.dev3
Localstack returning with exit code 55. Reason:
The license activation failed for the following reason:
No credentials were found in the environment. Please make sure to either set the LOCALSTACK_AUTH_TOKEN variable to a valid auth token.
LocalStack requires an account to run."""
STAND_IN = "localhost/decoupling-lab-test-localstack-needs-token:latest"


def test_no_container_engine_is_one_sentence(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    env.update(PATH=str(tmp_path), DOCKER_HOST="unix:///nonexistent/docker.sock")
    for command in ("up", "status"):
        done = run_lab(env, command, "--target", "compose", check=False, timeout=60)
        assert done.returncode == 1
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("lab: no container engine was found: install podman")
        assert "Traceback" not in done.stderr
    # lab down has nothing to stop, and says so
    done = run_lab(env, "down", "--target", "compose", timeout=60)
    assert "nothing to stop" in done.stdout


@pytest.mark.timeout(1500)
def test_localstack_without_a_token_says_what_happened_and_what_to_do(
    base_image: str, tmp_path: Path
) -> None:
    (tmp_path / "ctx").mkdir()
    script = "".join(f"echo {line!r}; " for line in NO_TOKEN_LOG.splitlines())
    (tmp_path / "ctx" / "Dockerfile").write_text(
        f'FROM {base_image}\nCMD ["sh", "-c", "{script.replace(chr(34), chr(92) + chr(34))}exit 55"]\n'
    )
    podman("build", "-q", "-t", STAND_IN, str(tmp_path / "ctx"), timeout=300)
    project = "decoupling-lab-test-token"
    remove_project(project)
    env = compose_env(tmp_path, project, COMPOSE_PROFILES="localstack", LOCALSTACK_IMAGE=STAND_IN)
    env.pop("LOCALSTACK_AUTH_TOKEN", None)
    try:
        done = run_lab(env, "up", "--target", "compose", check=False, timeout=1400)
        assert done.returncode == 1, done.stdout + done.stderr
        said = done.stderr.strip().splitlines()
        assert len(said) == 1, done.stderr
        sentence = said[0]
        assert sentence.startswith("lab: LocalStack exited at start because its image requires")
        assert "LOCALSTACK_AUTH_TOKEN" in sentence and "4.14.0" in sentence
        assert sentence.count(". ") == 0  # one sentence
        # the containers stay for a look: lab status says the same of the exited cloud
        status = run_lab(env, "status", "--target", "compose", check=False, timeout=120)
        assert status.returncode == 3
        assert re.search(r"_localstack_1 +localstack +exited\(55\) ", status.stdout), status.stdout
        assert "cloud: not running: LocalStack exited at start because" in status.stdout
    finally:
        run_lab(env, "down", "--target", "compose", check=False, timeout=300)
        remove_project(project)
    assert project_containers(project) == []
